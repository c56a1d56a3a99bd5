// Encode and decode rates of the VPP API codec for messages the driver sends and reads.
import type { VppCodec } from '../agent/dataplane/vpp/api/codec.ts';
import type { VppFields } from '../agent/dataplane/vpp/api/field-codecs.ts';
import { toAddress, toIp4Prefix, toPrefix } from '../agent/dataplane/vpp/addresses.ts';

export interface Rate {
  readonly name: string;
  readonly opsPerSec: number;
}

function rate(name: string, fn: () => void, ms = 400): Rate {
  for (let i = 0; i < 2_000; i++) fn(); // warm up the JIT
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 1_000; i++) fn();
    n += 1_000;
    t = performance.now();
  }
  return { name, opsPerSec: (n / (t - t0)) * 1000 };
}

export function codecRates(codec: VppCodec): Rate[] {
  const h = { msgId: 100, clientIndex: 0x80000000, context: 1 };
  const route: VppFields = {
    is_add: true,
    route: {
      table_id: 0,
      prefix: toPrefix('10.1.4.0/24'),
      paths: [{ sw_if_index: 9, weight: 1, nh: { address: { ip4: Uint8Array.of(192, 168, 16, 4) } } }],
    },
  };
  const tap: VppFields = {
    host_mtu_set: true,
    host_mtu_size: 1450,
    host_ip4_prefix_set: true,
    host_ip4_prefix: toIp4Prefix('10.1.3.5/32'),
    host_namespace_set: true,
    host_namespace: '/var/run/netns/cni-1234',
    host_if_name_set: true,
    host_if_name: 'eth0',
    tag: 'netloom/pod/default/web-1',
  };
  const rule = {
    is_permit: 1,
    src_prefix: toPrefix('10.1.0.0/16'),
    dst_prefix: toPrefix('10.1.3.5/32'),
    proto: 6,
    dstport_or_icmpcode_first: 80,
    dstport_or_icmpcode_last: 80,
    srcport_or_icmptype_last: 65535,
  };
  const acl: VppFields = {
    acl_index: 0xffffffff,
    tag: 'netloom/policy',
    r: Array.from({ length: 10 }, () => rule),
  };
  const details = codec.encode(
    'sw_interface_details',
    { sw_if_index: 5, interface_name: 'tap5', tag: 'pod', l2_address: Uint8Array.of(2, 0xfe, 0, 0, 0, 5) },
    { msgId: 101, context: 1 },
  );
  const routeBytes = codec.encode('ip_route_details', { route: route['route'] }, { msgId: 102, context: 1 });
  const vx: VppFields = {
    src_address: toAddress('192.168.16.3'),
    dst_address: toAddress('192.168.16.4'),
    vni: 10,
    decap_next_index: 0xffffffff,
    mcast_sw_if_index: 0xffffffff,
  };
  return [
    rate('encode control_ping (10 B)', () => codec.encode('control_ping', {}, h)),
    rate('encode ip_route_add_del, 1 path (206 B)', () => codec.encode('ip_route_add_del', route, h)),
    rate('encode tap_create_v3 (315 B)', () => codec.encode('tap_create_v3', tap, h)),
    rate('encode vxlan_add_del_tunnel_v3 (70 B)', () => codec.encode('vxlan_add_del_tunnel_v3', vx, h)),
    rate('encode acl_add_replace, 10 rules (562 B)', () => codec.encode('acl_add_replace', acl, h)),
    rate('decode sw_interface_details (295 B)', () => codec.decode('sw_interface_details', details)),
    rate('decode ip_route_details, 1 path (200 B)', () => codec.decode('ip_route_details', routeBytes)),
  ];
}
