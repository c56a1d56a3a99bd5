// Hand-derived vectors (ip, fib_types, ip_neighbor, vxlan .api.json v25.10): VRFs, routes with
// nested variable paths, neighbours (with the host-order f64), VXLAN tunnels.
import { beforeAll, describe, expect, it } from 'vitest';
import type { VppCodec } from './codec.ts';
import { v25Codec } from '../testing/definitions.ts';
import { hex } from '../testing/hex.ts';
import { bytes, expectDecodes, expectRoundTrip, ip4, ip4In16 } from '../testing/vectors.ts';

let codec: VppCodec;
beforeAll(async () => {
  codec = await v25Codec();
});

const ADDR_10_1_4_0 = { af: 0, un: { ip4: ip4('10.1.4.0') } };

/** fib_path (167 bytes): via 192.168.16.4 out of sw_if_index 9. */
const PATH = hex`
  00000009 00000000 00000000    # sw_if_index, table_id, rpf_id
  01 00                         # weight, preference
  00000000 00000000 00000000    # type NORMAL, flags NONE, proto IP4 (u32 enums)
  c0a81004 00*12                # nh.address (union, 16)
  00000000 00000000 00000000    # nh.via_label, nh.obj_id, nh.classify_table_index
  00                            # n_labels
  00*112                        # label_stack[16] of fib_mpls_label (7 bytes)`;
const PATH_FIELDS = { sw_if_index: 9, weight: 1, nh: { address: { ip4: ip4('192.168.16.4') } } };

describe('VRFs', () => {
  it('ip_table_add_del: is_add default true, ip_table {table_id, is_ip6, name[64]} (80 bytes)', () => {
    const v = hex`0123 80000001 0a0b0c0d  01  0000000a 00 "net-blue" 00*56`;
    expect(v.length).toBe(80);
    expectRoundTrip(codec, 'ip_table_add_del', { table: { table_id: 10, name: 'net-blue' } }, v);
  });

  it('ip_table_dump (10 bytes) and ip_table_details (75 bytes)', () => {
    expectRoundTrip(codec, 'ip_table_dump', {}, hex`0123 80000001 0a0b0c0d`);
    expectDecodes(codec, 'ip_table_details', hex`0124 0a0b0c0d 0000000a 00 "net-blue" 00*56`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      table: { table_id: 10, is_ip6: false, name: 'net-blue' },
    });
  });
});

describe('routes', () => {
  it('fib_path is 167 bytes', () => {
    expect(PATH.length).toBe(167);
  });

  it('ip_route_add_del with one path: count n_paths inside the nested route (39 + 167 bytes)', () => {
    const v = hex`
      0123 80000001 0a0b0c0d
      01 00                       # is_add, is_multipath
      00000000 00000000           # route.table_id, route.stats_index
      00 0a010400 00*12 18        # route.prefix 10.1.4.0/24
      01                          # route.n_paths (set from the list)
      ${PATH.toString('hex')}`;
    expect(v.length).toBe(39 + 167);
    expectRoundTrip(
      codec,
      'ip_route_add_del',
      { is_add: true, route: { prefix: { address: ADDR_10_1_4_0, len: 24 }, paths: [PATH_FIELDS] } },
      v,
    );
  });

  it('ip_route_add_del without paths is the 39-byte fixed part', () => {
    const v = hex`0123 80000001 0a0b0c0d 00 00 00000000 00000000 00 0a010400 00*12 18 00`;
    expectRoundTrip(
      codec,
      'ip_route_add_del',
      { is_add: false, route: { prefix: { address: ADDR_10_1_4_0, len: 24 } } },
      v,
    );
  });

  it('ip_route_add_del_reply carries stats_index (14 bytes)', () => {
    expectDecodes(codec, 'ip_route_add_del_reply', hex`0124 0a0b0c0d 00000000 00000011`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      retval: 0,
      stats_index: 17,
    });
  });

  it('ip_route_dump (79 bytes) and ip_route_details with two paths', () => {
    expectRoundTrip(
      codec,
      'ip_route_dump',
      { table: { table_id: 10 } },
      hex`0123 80000001 0a0b0c0d 0000000a 00 00*64`,
    );
    const v = hex`0124 0a0b0c0d 0000000a 00000003 00 0a010400 00*12 18 02 ${PATH.toString('hex')} ${PATH.toString('hex')}`;
    expect(v.length).toBe(6 + 27 + 2 * 167);
    const d = codec.decode('ip_route_details', v);
    expect(d['route']).toMatchObject({ table_id: 10, stats_index: 3, n_paths: 2 });
    const paths = (d['route'] as { paths: unknown[] }).paths;
    expect(paths).toHaveLength(2);
    expect(paths[1]).toMatchObject({
      sw_if_index: 9,
      weight: 1,
      nh: { address: { ip4: ip4('192.168.16.4') } },
      n_labels: 0,
    });
    expect(codec.encode('ip_route_details', d, { msgId: 0x124, context: 0x0a0b0c0d })).toEqual(v);
  });
});

describe('neighbours', () => {
  it('ip_neighbor_add_del: ip_neighbor {sw_if_index, flags u8, mac, address} (39 bytes)', () => {
    const v = hex`0123 80000001 0a0b0c0d  01  00000007 01 02fe0a010305 00 0a010305 00*12`;
    expect(v.length).toBe(39);
    expectRoundTrip(
      codec,
      'ip_neighbor_add_del',
      {
        is_add: true,
        neighbor: {
          sw_if_index: 7,
          flags: 'IP_API_NEIGHBOR_FLAG_STATIC',
          mac_address: bytes(2, 0xfe, 10, 1, 3, 5),
          ip_address: { af: 0, un: { ip4: ip4('10.1.3.5') } },
        },
      },
      v,
    );
  });

  it('ip_neighbor_add_del_reply: retval + stats_index (14 bytes)', () => {
    expectDecodes(codec, 'ip_neighbor_add_del_reply', hex`0124 0a0b0c0d 00000000 00000002`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      retval: 0,
      stats_index: 2,
    });
  });

  it('ip_neighbor_details: f64 age is little-endian (host order), unlike everything else', () => {
    const v = hex`0124 0a0b0c0d  000000000000f83f  00000007 01 02fe0a010305 00 0a010305 00*12`;
    expectDecodes(codec, 'ip_neighbor_details', v, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      age: 1.5,
      neighbor: {
        sw_if_index: 7,
        flags: 1,
        mac_address: bytes(2, 0xfe, 10, 1, 3, 5),
        ip_address: { af: 0, un: { ip4: ip4('10.1.3.5'), ip6: ip4In16('10.1.3.5') } },
      },
    });
  });
});

describe('VXLAN', () => {
  it('vxlan_add_del_tunnel_v3: defaults is_add true, instance ~0, is_l3 false (70 bytes)', () => {
    const v = hex`
      0123 80000001 0a0b0c0d
      01 ffffffff                 # is_add, instance
      00 c0a81003 00*12           # src_address 192.168.16.3
      00 c0a81004 00*12           # dst_address 192.168.16.4
      0000 12b5                   # src_port 0, dst_port 4789
      ffffffff 00000000           # mcast_sw_if_index ~0, encap_vrf_id
      ffffffff 0000000a           # decap_next_index ~0 (l2-input), vni 10
      00                          # is_l3`;
    expect(v.length).toBe(70);
    expectRoundTrip(
      codec,
      'vxlan_add_del_tunnel_v3',
      {
        src_address: { af: 0, un: { ip4: ip4('192.168.16.3') } },
        dst_address: { af: 'ADDRESS_IP4', un: { ip4: ip4('192.168.16.4') } },
        dst_port: 4789,
        mcast_sw_if_index: 0xffffffff,
        decap_next_index: 0xffffffff,
        vni: 10,
      },
      v,
    );
  });

  it('vxlan_add_del_tunnel_v3_reply (14), vxlan_tunnel_v2_dump (14), vxlan_tunnel_v2_details (68)', () => {
    expectDecodes(codec, 'vxlan_add_del_tunnel_v3_reply', hex`0124 0a0b0c0d 00000000 00000009`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      retval: 0,
      sw_if_index: 9,
    });
    expectRoundTrip(
      codec,
      'vxlan_tunnel_v2_dump',
      { sw_if_index: 0xffffffff },
      hex`0123 80000001 0a0b0c0d ffffffff`,
    );
    const v = hex`0124 0a0b0c0d 00000009 00000000 00 c0a81003 00*12 00 c0a81004 00*12 12b5 12b5 ffffffff 00000000 ffffffff 0000000a`;
    expect(v.length).toBe(68);
    const d = codec.decode('vxlan_tunnel_v2_details', v);
    expect(d).toMatchObject({
      sw_if_index: 9,
      instance: 0,
      src_port: 4789,
      dst_port: 4789,
      vni: 10,
      decap_next_index: 0xffffffff,
    });
    expect(codec.encode('vxlan_tunnel_v2_details', d, { msgId: 0x124, context: 0x0a0b0c0d })).toEqual(v);
  });
});
