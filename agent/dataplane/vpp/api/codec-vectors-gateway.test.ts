// Hand-derived vectors (interface, arp, nat44_ed .api.json v25.10) for the rest of the driver's
// messages: gateway loopbacks, interface tags, unnumbered, VRF lookup, proxy ARP, single-backend
// static mappings and the NAT address pool.
import { beforeAll, describe, expect, it } from 'vitest';
import type { VppCodec } from './codec.ts';
import { v25Codec } from '../testing/definitions.ts';
import { hex } from '../testing/hex.ts';
import { bytes, expectDecodes, expectRoundTrip, ip4 } from '../testing/vectors.ts';

let codec: VppCodec;
beforeAll(async () => {
  codec = await v25Codec();
});

const REP = { _vl_msg_id: 0x124, context: 0x0a0b0c0d };

describe('loopbacks, tags, unnumbered, VRF lookup', () => {
  it('create_loopback_instance (21 bytes) and its reply (14)', () => {
    const v = hex`0123 80000001 0a0b0c0d  02fe0a010101  00  00000000   # mac, is_specified, user_instance`;
    expect(v.length).toBe(21);
    expectRoundTrip(codec, 'create_loopback_instance', { mac_address: bytes(2, 0xfe, 10, 1, 1, 1) }, v);
    expectDecodes(codec, 'create_loopback_instance_reply', hex`0124 0a0b0c0d 00000000 00000005`, {
      ...REP,
      retval: 0,
      sw_if_index: 5,
    });
    expectRoundTrip(codec, 'delete_loopback', { sw_if_index: 5 }, hex`0123 80000001 0a0b0c0d 00000005`);
  });

  it('sw_interface_tag_add_del: is_add, sw_if_index, tag[64] (79 bytes)', () => {
    const v = hex`0123 80000001 0a0b0c0d  01  00000005  "address/0/10.1.1.1" 00*46`;
    expect(v.length).toBe(79);
    expectRoundTrip(
      codec,
      'sw_interface_tag_add_del',
      { is_add: true, sw_if_index: 5, tag: 'address/0/10.1.1.1' },
      v,
    );
  });

  it('sw_interface_set_unnumbered: owner first, then the borrower (19 bytes)', () => {
    const v = hex`0123 80000001 0a0b0c0d  00000005  00000007  01`;
    expectRoundTrip(
      codec,
      'sw_interface_set_unnumbered',
      { sw_if_index: 5, unnumbered_sw_if_index: 7, is_add: true },
      v,
    );
  });

  it('sw_interface_get_table (15) and its reply (14)', () => {
    expectRoundTrip(
      codec,
      'sw_interface_get_table',
      { sw_if_index: 7, is_ipv6: false },
      hex`0123 80000001 0a0b0c0d 00000007 00`,
    );
    expectDecodes(codec, 'sw_interface_get_table_reply', hex`0124 0a0b0c0d 00000000 0000000a`, {
      ...REP,
      retval: 0,
      vrf_id: 10,
    });
  });
});

describe('proxy ARP', () => {
  it('proxy_arp_add_del: is_add, proxy {table_id, low, hi} (23 bytes)', () => {
    const v = hex`0123 80000001 0a0b0c0d  01  00000000 0a010101 0a0101fe`;
    expect(v.length).toBe(23);
    expectRoundTrip(
      codec,
      'proxy_arp_add_del',
      { is_add: true, proxy: { table_id: 0, low: ip4('10.1.1.1'), hi: ip4('10.1.1.254') } },
      v,
    );
  });

  it('proxy_arp_dump (10), proxy_arp_details (18), proxy_arp_intfc_enable_disable (15)', () => {
    expectRoundTrip(codec, 'proxy_arp_dump', {}, hex`0123 80000001 0a0b0c0d`);
    expectDecodes(codec, 'proxy_arp_details', hex`0124 0a0b0c0d 0000000a 0a020101 0a0201fe`, {
      ...REP,
      proxy: { table_id: 10, low: ip4('10.2.1.1'), hi: ip4('10.2.1.254') },
    });
    expectRoundTrip(
      codec,
      'proxy_arp_intfc_enable_disable',
      { sw_if_index: 7, enable: true },
      hex`0123 80000001 0a0b0c0d 00000007 01`,
    );
  });
});

describe('NAT44-ED single mappings and pool', () => {
  it('nat44_add_del_static_mapping_v2 (102 bytes)', () => {
    const v = hex`
      0123 80000001 0a0b0c0d
      01 00 00                    # is_add, match_pool, flags
      00000000                    # pool_ip_address
      0a01010b                    # local 10.1.1.11
      0a60000b                    # external 10.96.0.11
      06 1f90 0050                # TCP, local port 8080, external port 80
      ffffffff 00000000           # external_sw_if_index ~0, vrf_id
      "svc" 00*61                 # tag[64]`;
    expect(v.length).toBe(102);
    expectRoundTrip(
      codec,
      'nat44_add_del_static_mapping_v2',
      {
        is_add: true,
        local_ip_address: ip4('10.1.1.11'),
        external_ip_address: ip4('10.96.0.11'),
        protocol: 6,
        local_port: 8080,
        external_port: 80,
        external_sw_if_index: 0xffffffff,
        tag: 'svc',
      },
      v,
    );
  });

  it('nat44_static_mapping_details (92 bytes)', () => {
    const v = hex`0124 0a0b0c0d  00 0a01010b 0a60000b 06 1f90 0050 ffffffff 00000000 "svc" 00*61`;
    expect(v.length).toBe(92);
    expectDecodes(codec, 'nat44_static_mapping_details', v, {
      ...REP,
      flags: 0,
      local_ip_address: ip4('10.1.1.11'),
      external_ip_address: ip4('10.96.0.11'),
      protocol: 6,
      local_port: 8080,
      external_port: 80,
      external_sw_if_index: 0xffffffff,
      vrf_id: 0,
      tag: 'svc',
    });
  });

  it('nat44_address_dump (10) and nat44_address_details (15)', () => {
    expectRoundTrip(codec, 'nat44_address_dump', {}, hex`0123 80000001 0a0b0c0d`);
    expectDecodes(codec, 'nat44_address_details', hex`0124 0a0b0c0d c0a80001 00 00000000`, {
      ...REP,
      ip_address: ip4('192.168.0.1'),
      flags: 0,
      vrf_id: 0,
    });
  });
});
