// Hand-derived vectors (interface, tapv2 .api.json v25.10) for the pod-interface messages.
import { beforeAll, describe, expect, it } from 'vitest';
import type { VppCodec } from './codec.ts';
import { v25Codec } from '../testing/definitions.ts';
import { hex } from '../testing/hex.ts';
import { bytes, expectDecodes, expectRoundTrip, ip4, ip4In16, REQ } from '../testing/vectors.ts';

let codec: VppCodec;
beforeAll(async () => {
  codec = await v25Codec();
});

describe('sw_interface_*', () => {
  it('sw_interface_dump: client default sw_if_index ~0, empty variable name filter (19 bytes)', () => {
    expectRoundTrip(codec, 'sw_interface_dump', {}, hex`0123 80000001 0a0b0c0d  ffffffff  00  00000000`);
  });

  it('sw_interface_dump with a name filter: the variable string is the tail', () => {
    const v = hex`0123 80000001 0a0b0c0d  00000005  01  00000003 "tap"`;
    expectRoundTrip(
      codec,
      'sw_interface_dump',
      { sw_if_index: 5, name_filter_valid: true, name_filter: 'tap' },
      v,
    );
  });

  it('sw_interface_details (295 bytes)', () => {
    const v = hex`
      0124 0a0b0c0d
      00000001 00000001           # sw_if_index, sup_sw_if_index
      02fe00000001                # l2_address
      00000003                    # flags (u32 enum)
      00000000                    # if_type HARDWARE
      00000002                    # link_duplex FULL
      00989680                    # link_speed 10000000
      05dc                        # u16 link_mtu 1500
      00002328 00000000 00000000 00000000   # mtu[4]
      00000000 00 0000 0000       # sub_id, sub_number_of_tags, outer, inner vlan
      00000000                    # sub_if_flags
      00000000 00000000 00000000 00000000   # vtr_op, vtr_push_dot1q, vtr_tag1, vtr_tag2
      0000                        # outer_tag
      00*6 00*6 0000 00000000     # b_dmac, b_smac, b_vlanid, i_sid
      "tap0" 00*60                # interface_name[64]
      "virtio" 00*58              # interface_dev_type[64]
      "pod/default/web-1" 00*47   # tag[64]`;
    expect(v.length).toBe(295);
    expectDecodes(codec, 'sw_interface_details', v, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      sw_if_index: 1,
      sup_sw_if_index: 1,
      l2_address: bytes(2, 0xfe, 0, 0, 0, 1),
      flags: 3,
      type: 0,
      link_duplex: 2,
      link_speed: 10_000_000,
      link_mtu: 1500,
      mtu: [9000, 0, 0, 0],
      sub_id: 0,
      sub_number_of_tags: 0,
      sub_outer_vlan_id: 0,
      sub_inner_vlan_id: 0,
      sub_if_flags: 0,
      vtr_op: 0,
      vtr_push_dot1q: 0,
      vtr_tag1: 0,
      vtr_tag2: 0,
      outer_tag: 0,
      b_dmac: new Uint8Array(6),
      b_smac: new Uint8Array(6),
      b_vlanid: 0,
      i_sid: 0,
      interface_name: 'tap0',
      interface_dev_type: 'virtio',
      tag: 'pod/default/web-1',
    });
  });

  it('sw_interface_set_flags: enum by symbol (18 bytes)', () => {
    const v = hex`0123 80000001 0a0b0c0d  00000007  00000001`;
    expectRoundTrip(codec, 'sw_interface_set_flags', { sw_if_index: 7, flags: 1 }, v);
    expect(
      codec.encode('sw_interface_set_flags', { sw_if_index: 7, flags: 'IF_STATUS_API_FLAG_ADMIN_UP' }, REQ),
    ).toEqual(v);
  });

  it('sw_interface_add_del_address: address_with_prefix = af u8 + union[16] + len (34 bytes)', () => {
    const v = hex`
      0123 80000001 0a0b0c0d
      00000007 01 00              # sw_if_index, is_add, del_all
      00 0a010301 00*12 18        # prefix: ADDRESS_IP4, 10.1.3.1, /24`;
    expect(v.length).toBe(34);
    expectRoundTrip(
      codec,
      'sw_interface_add_del_address',
      { sw_if_index: 7, is_add: true, prefix: { address: { af: 0, un: { ip4: ip4('10.1.3.1') } }, len: 24 } },
      v,
    );
  });

  it('sw_interface_add_del_address with an IPv6 address fills the whole union', () => {
    const v = hex`0123 80000001 0a0b0c0d 00000007 01 00  01 fd000000000000000000000000000001 40`;
    const ip6 = Uint8Array.from(Buffer.from('fd000000000000000000000000000001', 'hex'));
    expectRoundTrip(
      codec,
      'sw_interface_add_del_address',
      { sw_if_index: 7, is_add: true, prefix: { address: { af: 1, un: { ip6 } }, len: 64 } },
      v,
    );
  });

  it('sw_interface_set_table (19 bytes) and sw_interface_set_mtu: mtu u32[4] (30 bytes)', () => {
    expectRoundTrip(
      codec,
      'sw_interface_set_table',
      { sw_if_index: 7, is_ipv6: false, vrf_id: 10 },
      hex`0123 80000001 0a0b0c0d 00000007 00 0000000a`,
    );
    const mtu = hex`0123 80000001 0a0b0c0d 00000007  000005aa 00000000 00000000 00000000`;
    expect(mtu.length).toBe(30);
    expectRoundTrip(codec, 'sw_interface_set_mtu', { sw_if_index: 7, mtu: [1450, 0, 0, 0] }, mtu);
  });

  it('ip_address_dump (15 bytes) and ip_address_details (28 bytes)', () => {
    expectRoundTrip(
      codec,
      'ip_address_dump',
      { sw_if_index: 7, is_ipv6: false },
      hex`0123 80000001 0a0b0c0d 00000007 00`,
    );
    expectDecodes(codec, 'ip_address_details', hex`0124 0a0b0c0d 00000007 00 0a010301 00*12 18`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      sw_if_index: 7,
      prefix: { address: { af: 0, un: { ip4: ip4('10.1.3.1'), ip6: ip4In16('10.1.3.1') } }, len: 24 },
    });
  });
});

describe('tapv2', () => {
  const tag = 'netloom/pod/default/web-1';
  const tapVector = hex`
    0123 80000001 0a0b0c0d
    ffffffff                  # id: client default ~0 (auto)
    01                        # use_random_mac: client default true
    00*6                      # mac_address
    0001 0001                 # num_rx_queues, num_tx_queues: default 1
    0100 0100                 # tx_ring_sz, rx_ring_sz: default 256
    01 000005aa               # host_mtu_set, host_mtu_size 1450
    00 00*6                   # host_mac_addr_set, host_mac_addr
    01 0a010305 20            # host_ip4_prefix_set, ip4_prefix 10.1.3.5/32
    00 00*17                  # host_ip6_prefix_set, ip6_prefix
    01 0a010301               # host_ip4_gw_set, host_ip4_gw 10.1.3.1
    00 00*16                  # host_ip6_gw_set, host_ip6_gw
    00000003                  # tap_flags GSO | CSUM_OFFLOAD (u32)
    01 "/var/run/netns/cni-1" 00*44    # host_namespace_set, host_namespace[64]
    01 "eth0" 00*60           # host_if_name_set, host_if_name[64]
    00 00*64                  # host_bridge_set, host_bridge[64]
    00000019 "${tag}"         # tag: variable string, 25 bytes`;

  it('tap_create_v3: defaults applied client-side, variable tag tail (290 + 25 bytes)', () => {
    expect(tapVector.length).toBe(290 + 25);
    const decoded = expectRoundTrip(
      codec,
      'tap_create_v3',
      {
        host_mtu_set: true,
        host_mtu_size: 1450,
        host_ip4_prefix_set: true,
        host_ip4_prefix: { address: ip4('10.1.3.5'), len: 32 },
        host_ip4_gw_set: true,
        host_ip4_gw: ip4('10.1.3.1'),
        tap_flags: ['TAP_API_FLAG_GSO', 'TAP_API_FLAG_CSUM_OFFLOAD'],
        host_namespace_set: true,
        host_namespace: '/var/run/netns/cni-1',
        host_if_name_set: true,
        host_if_name: 'eth0',
        tag,
      },
      tapVector,
    );
    expect(decoded).toMatchObject({
      id: 0xffffffff,
      use_random_mac: true,
      rx_ring_sz: 256,
      tap_flags: 3,
      tag,
    });
  });

  it('tap_create_v3: explicit values override the defaults', () => {
    const b = codec.encode('tap_create_v3', { id: 3, use_random_mac: false, num_rx_queues: 2 }, REQ);
    expect(b.subarray(10, 23).toString('hex')).toBe('00000003' + '00' + '000000000000' + '0002');
  });

  it('tap_create_v3_reply (14 bytes), tap_delete_v2 (14 bytes)', () => {
    expectDecodes(codec, 'tap_create_v3_reply', hex`0124 0a0b0c0d 00000000 00000007`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      retval: 0,
      sw_if_index: 7,
    });
    expectRoundTrip(codec, 'tap_delete_v2', { sw_if_index: 7 }, hex`0123 80000001 0a0b0c0d 00000007`);
  });

  it('sw_interface_tap_v2_dump (default ~0) and sw_interface_tap_v2_details (310 bytes)', () => {
    expectRoundTrip(codec, 'sw_interface_tap_v2_dump', {}, hex`0123 80000001 0a0b0c0d ffffffff`);
    const v = hex`
      0124 0a0b0c0d
      00000007 00000000         # sw_if_index, id
      0100 0100 000005aa        # tx_ring_sz, rx_ring_sz, host_mtu_size
      02fe0a010305              # host_mac_addr
      0a010305 20               # host_ip4_prefix
      00*16 00                  # host_ip6_prefix
      00000001                  # tap_flags GSO
      "tap0" 00*60 "eth0" 00*60 "/var/run/netns/cni-1" 00*44 00*64`;
    expect(v.length).toBe(310);
    expectDecodes(codec, 'sw_interface_tap_v2_details', v, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      sw_if_index: 7,
      id: 0,
      tx_ring_sz: 256,
      rx_ring_sz: 256,
      host_mtu_size: 1450,
      host_mac_addr: bytes(2, 0xfe, 10, 1, 3, 5),
      host_ip4_prefix: { address: ip4('10.1.3.5'), len: 32 },
      host_ip6_prefix: { address: new Uint8Array(16), len: 0 },
      tap_flags: 1,
      dev_name: 'tap0',
      host_if_name: 'eth0',
      host_namespace: '/var/run/netns/cni-1',
      host_bridge: '',
    });
  });
});
