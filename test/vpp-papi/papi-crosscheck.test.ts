// Cross-check with the reference implementation: VPP's Python client (vpp_papi, from PyPI)
// encodes the same messages from the same .api.json files, and the bytes must equal ours.
// vpp_papi is installed into a throwaway venv under ~/.cache/netloom/ (npm run setup does it
// first); without python3 or PyPI the suite is skipped with one loud line, or fails under CI.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { VppCodec } from '../../agent/dataplane/vpp/api/codec.ts';
import type { VppFields, VppValue } from '../../agent/dataplane/vpp/api/field-codecs.ts';
import { toAddress, toIp4Prefix, toPrefix, ip4Bytes, macBytes } from '../../agent/dataplane/vpp/addresses.ts';
import { loadV25Definitions, V25_10_DIR } from '../../agent/dataplane/vpp/testing/definitions.ts';
import { skipUnless } from '../harness/availability.ts';

const VENV = join(homedir(), '.cache', 'netloom', 'vpp-papi-venv');
const PYTHON = join(VENV, 'bin', 'python');
const SCRIPT = fileURLToPath(new URL('./encode.py', import.meta.url));

function run(cmd: string, args: string[], timeoutMs: number, input?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, {
    input,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    ok: r.status === 0,
    out:
      r.status === 0
        ? r.stdout
        : (`${r.error?.message ?? ''}${r.stderr}`.trim().split('\n').slice(-1)[0] ?? ''),
  };
}

/** Makes sure vpp_papi is importable; returns why not otherwise. */
function provision(): { ok: true; version: string } | { ok: false; reason: string } {
  if (!existsSync(PYTHON)) {
    if (!run('python3', ['--version'], 10_000).ok) return { ok: false, reason: 'python3 not found' };
    mkdirSync(join(homedir(), '.cache', 'netloom'), { recursive: true });
    const venv = run('python3', ['-m', 'venv', VENV], 120_000);
    if (!venv.ok) return { ok: false, reason: `python3 -m venv failed: ${venv.out}` };
  }
  if (!run(PYTHON, ['-c', 'import vpp_papi'], 30_000).ok) {
    const pip = run(
      PYTHON,
      ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', 'vpp-papi'],
      240_000,
    );
    if (!pip.ok) return { ok: false, reason: `pip install vpp-papi failed (PyPI unreachable?): ${pip.out}` };
  }
  const v = run(PYTHON, ['-c', 'import importlib.metadata as m; print(m.version("vpp_papi"))'], 30_000);
  return { ok: true, version: v.out.trim() };
}

const papi = provision();
skipUnless(
  'vpp_papi cross-check',
  papi.ok
    ? { ok: true, detail: `vpp_papi ${papi.version}` }
    : { ok: false, component: 'vpp-papi', reason: papi.reason },
);

const REQ = { _vl_msg_id: 0x0123, client_index: 0x80000001, context: 0x0a0b0c0d };
const REP = { _vl_msg_id: 0x0124, context: 0x0a0b0c0d };

// vpp_papi needs every element of a fixed array of structs; ours zero-fills an absent one.
const labels = Array.from({ length: 16 }, () => ({ is_uniform: 0, label: 0, ttl: 0, exp: 0 }));
const path = {
  sw_if_index: 9,
  weight: 1,
  nh: { address: { ip4: ip4Bytes('192.168.16.4') } },
  label_stack: labels,
};
const rule = {
  is_permit: 1,
  src_prefix: toPrefix('10.1.3.0/24'),
  dst_prefix: toPrefix('10.1.4.6/32'),
  proto: 6,
  srcport_or_icmptype_last: 65535,
  dstport_or_icmpcode_first: 8080,
  dstport_or_icmpcode_last: 8080,
};
const local = (ip: string): VppFields => ({ addr: ip4Bytes(ip), port: 8080, probability: 50, vrf_id: 0 });

/** The driver's messages with realistic values; count fields given (vpp_papi requires them). */
const CASES: [string, VppFields][] = [
  ['sockclnt_create', { _vl_msg_id: 15, context: 7, name: 'netloom' }],
  ['sockclnt_delete', { ...REQ, index: 0x80000005 }],
  ['control_ping', REQ],
  ['control_ping_reply', { ...REP, retval: 0, client_index: 0x80000001, vpe_pid: 8080 }],
  ['show_version', REQ],
  ['want_interface_events', { ...REQ, enable_disable: 1, pid: 4242 }],
  ['sw_interface_dump', { ...REQ }],
  ['sw_interface_dump', { ...REQ, sw_if_index: 5, name_filter_valid: true, name_filter: 'tap' }],
  ['sw_interface_set_flags', { ...REQ, sw_if_index: 7, flags: 1 }],
  ['sw_interface_add_del_address', { ...REQ, sw_if_index: 7, is_add: true, prefix: toPrefix('10.1.3.1/24') }],
  ['sw_interface_add_del_address', { ...REQ, sw_if_index: 7, is_add: true, prefix: toPrefix('fd00::1/64') }],
  ['sw_interface_set_table', { ...REQ, sw_if_index: 7, is_ipv6: false, vrf_id: 10 }],
  ['sw_interface_set_mtu', { ...REQ, sw_if_index: 7, mtu: [1450, 0, 0, 0] }],
  ['ip_address_dump', { ...REQ, sw_if_index: 7, is_ipv6: false }],
  [
    'tap_create_v3',
    {
      ...REQ,
      host_mtu_set: true,
      host_mtu_size: 1450,
      host_ip4_prefix_set: true,
      host_ip4_prefix: toIp4Prefix('10.1.3.5/32'),
      host_ip4_gw_set: true,
      host_ip4_gw: ip4Bytes('10.1.3.1'),
      tap_flags: 3,
      host_namespace_set: true,
      host_namespace: '/var/run/netns/cni-1',
      host_if_name_set: true,
      host_if_name: 'eth0',
      host_mac_addr_set: true,
      host_mac_addr: macBytes('02:fe:0a:01:03:05'),
      tag: 'netloom/pod/default/web-1',
    },
  ],
  ['tap_delete_v2', { ...REQ, sw_if_index: 7 }],
  ['sw_interface_tap_v2_dump', { ...REQ }],
  [
    'af_packet_create_v3',
    {
      ...REQ,
      mode: 1,
      hw_addr: macBytes('02:6e:6c:00:00:01'),
      use_random_hw_addr: false,
      host_if_name: 'nlp1',
      flags: 3,
    },
  ],
  ['af_packet_delete', { ...REQ, host_if_name: 'nlp1' }],
  ['af_packet_dump', REQ],
  ['ip_table_add_del', { ...REQ, table: { table_id: 10, is_ip6: false, name: 'net-blue' } }],
  ['ip_table_dump', REQ],
  [
    'ip_route_add_del',
    {
      ...REQ,
      is_add: true,
      route: { table_id: 0, prefix: toPrefix('10.1.4.0/24'), n_paths: 1, paths: [path] },
    },
  ],
  [
    'ip_route_add_del',
    {
      ...REQ,
      is_add: true,
      is_multipath: true,
      route: {
        table_id: 10,
        prefix: toPrefix('0.0.0.0/0'),
        n_paths: 2,
        paths: [path, { ...path, sw_if_index: 10 }],
      },
    },
  ],
  // A Service VIP without backends: ICMP_UNREACH (5) for reject, DROP (2) for drop.
  ...[5, 2].map((type): [string, VppFields] => [
    'ip_route_add_del',
    {
      ...REQ,
      is_add: true,
      route: {
        table_id: 0,
        prefix: toPrefix('10.96.0.20/32'),
        n_paths: 1,
        paths: [
          {
            sw_if_index: 0xffffffff,
            weight: 1,
            type,
            nh: { address: { ip4: ip4Bytes('0.0.0.0') } },
            label_stack: labels,
          },
        ],
      },
    },
  ]),
  ['ip_route_dump', { ...REQ, table: { table_id: 10, is_ip6: false, name: '' } }],
  ['ip_route_v2_dump', { ...REQ, src: 0, table: { table_id: 10, is_ip6: false, name: '' } }],
  ['fib_source_dump', { ...REQ }],
  [
    'ip_neighbor_add_del',
    {
      ...REQ,
      is_add: true,
      neighbor: {
        sw_if_index: 7,
        flags: 1,
        mac_address: macBytes('02:fe:0a:01:03:05'),
        ip_address: toAddress('10.1.3.5'),
      },
    },
  ],
  [
    'vxlan_add_del_tunnel_v3',
    {
      ...REQ,
      src_address: toAddress('192.168.16.3'),
      dst_address: toAddress('192.168.16.4'),
      dst_port: 4789,
      mcast_sw_if_index: 0xffffffff,
      decap_next_index: 0xffffffff,
      vni: 10,
    },
  ],
  ['vxlan_tunnel_v2_dump', { ...REQ, sw_if_index: 0xffffffff }],
  [
    // As the driver sends it now: L3, encapsulated in table 0, decap to the ip4-input arc.
    'vxlan_add_del_tunnel_v3',
    {
      ...REQ,
      is_add: true,
      instance: 0xffffffff,
      src_address: toAddress('192.168.0.1'),
      dst_address: toAddress('192.168.0.2'),
      src_port: 4789,
      dst_port: 4789,
      mcast_sw_if_index: 0xffffffff,
      encap_vrf_id: 0,
      decap_next_index: 2,
      vni: 4101,
      is_l3: true,
    },
  ],
  ['nat44_ed_plugin_enable_disable', { ...REQ, sessions: 65536, enable: true }],
  ['nat44_interface_add_del_feature', { ...REQ, is_add: true, flags: 32, sw_if_index: 7 }],
  [
    'nat44_add_del_address_range',
    {
      ...REQ,
      first_ip_address: ip4Bytes('192.168.16.3'),
      last_ip_address: ip4Bytes('192.168.16.3'),
      is_add: true,
    },
  ],
  // The twice-NAT pool address (NAT_IS_TWICE_NAT) and Service mappings with
  // OUT2IN_ONLY|TWICE_NAT (5) and OUT2IN_ONLY|SELF_TWICE_NAT (6).
  [
    'nat44_add_del_address_range',
    {
      ...REQ,
      first_ip_address: ip4Bytes('192.168.16.3'),
      last_ip_address: ip4Bytes('192.168.16.3'),
      is_add: true,
      flags: 1,
    },
  ],
  [
    'nat44_add_del_lb_static_mapping',
    {
      ...REQ,
      is_add: true,
      flags: 5,
      external_addr: ip4Bytes('10.96.0.1'),
      external_port: 80,
      protocol: 6,
      affinity: 10800,
      tag: 'service/0/tcp/10.96.0.1/80',
      local_num: 2,
      locals: [local('10.1.3.5'), local('10.1.4.6')],
    },
  ],
  [
    'nat44_add_del_static_mapping_v2',
    {
      ...REQ,
      is_add: false,
      flags: 6,
      local_ip_address: ip4Bytes('10.1.3.5'),
      external_ip_address: ip4Bytes('192.168.16.3'),
      protocol: 6,
      local_port: 8080,
      external_port: 30080,
      external_sw_if_index: 0xffffffff,
      vrf_id: 0,
      tag: '',
    },
  ],
  [
    'nat44_add_del_lb_static_mapping',
    {
      ...REQ,
      is_add: true,
      flags: 0,
      external_addr: ip4Bytes('10.96.0.1'),
      external_port: 80,
      protocol: 6,
      affinity: 0,
      tag: 'default/web:http',
      local_num: 2,
      locals: [local('10.1.3.5'), local('10.1.4.6')],
    },
  ],
  [
    'nat44_add_del_static_mapping_v2',
    {
      ...REQ,
      is_add: true,
      flags: 0,
      local_ip_address: ip4Bytes('10.1.3.5'),
      external_ip_address: ip4Bytes('10.96.0.2'),
      protocol: 17,
      local_port: 53,
      external_port: 53,
      external_sw_if_index: 0xffffffff,
      vrf_id: 0,
      tag: 'kube-system/dns',
    },
  ],
  ['nat44_lb_static_mapping_dump', REQ],
  ['nat44_static_mapping_dump', REQ],
  [
    'nat44_add_del_identity_mapping',
    {
      ...REQ,
      is_add: true,
      flags: 0,
      ip_address: ip4Bytes('192.168.16.3'),
      protocol: 17,
      port: 4789,
      sw_if_index: 0xffffffff,
      vrf_id: 0,
      tag: '',
    },
  ],
  ['nat44_identity_mapping_dump', REQ],
  [
    'acl_add_replace',
    { ...REQ, acl_index: 0xffffffff, tag: 'netloom/pod/default/web-1', count: 2, r: [rule, rule] },
  ],
  ['acl_del', { ...REQ, acl_index: 3 }],
  ['acl_dump', { ...REQ, acl_index: 0xffffffff }],
  ['acl_interface_set_acl_list', { ...REQ, sw_if_index: 7, count: 3, n_input: 1, acls: [3, 4, 5] }],
  ['acl_interface_list_dump', REQ],
  [
    'sw_interface_details',
    {
      ...REP,
      sw_if_index: 1,
      sup_sw_if_index: 1,
      l2_address: macBytes('02:fe:00:00:00:01'),
      flags: 3,
      mtu: [9000, 0, 0, 0],
      interface_name: 'tap0',
      tag: 'pod',
    },
  ],
  [
    'ip_route_details',
    {
      ...REP,
      route: { table_id: 10, stats_index: 3, prefix: toPrefix('10.1.4.0/24'), n_paths: 1, paths: [path] },
    },
  ],
  [
    'ip_route_v2_details',
    {
      ...REP,
      route: {
        table_id: 0,
        stats_index: 9,
        prefix: toPrefix('169.254.128.2/32'),
        n_paths: 1,
        src: 16,
        paths: [path],
      },
    },
  ],
  ['fib_source_details', { ...REP, src: { priority: 7, id: 8, name: 'API' } }],
  [
    'ip_neighbor_details',
    {
      ...REP,
      age: 1.5,
      neighbor: {
        sw_if_index: 7,
        flags: 1,
        mac_address: macBytes('02:fe:0a:01:03:05'),
        ip_address: toAddress('10.1.3.5'),
      },
    },
  ],
  ['acl_add_replace_reply', { ...REP, acl_index: 3, retval: 0 }],
  ['get_api_json_reply', { ...REP, retval: 0, json: '[{"types":[]}]' }],
  ['get_api_json', REQ],
  [
    'sockclnt_create_reply',
    {
      _vl_msg_id: 16,
      client_index: 0,
      context: 7,
      response: 0,
      index: 0x80000005,
      count: 2,
      message_table: [
        { index: 15, name: 'sockclnt_create_455fb9c4' },
        { index: 16, name: 'sockclnt_create_reply_35166268' },
      ],
    },
  ],
  ['sockclnt_delete_reply', { ...REP, response: 1 }],
  [
    'sw_interface_event',
    { _vl_msg_id: 0x125, client_index: 0x80000001, pid: 4242, sw_if_index: 7, flags: 3, deleted: false },
  ],
  ['sw_interface_get_table', { ...REQ, sw_if_index: 7, is_ipv6: false }],
  ['sw_interface_get_table_reply', { ...REP, retval: 0, vrf_id: 10 }],
  ['sw_interface_set_unnumbered', { ...REQ, sw_if_index: 5, unnumbered_sw_if_index: 7, is_add: true }],
  ['sw_interface_tag_add_del', { ...REQ, is_add: true, sw_if_index: 5, tag: 'address/0/10.1.1.1' }],
  ['ip_address_details', { ...REP, sw_if_index: 7, prefix: toPrefix('10.1.3.1/24') }],
  [
    'create_loopback_instance',
    { ...REQ, mac_address: macBytes('02:fe:0a:01:01:01'), is_specified: false, user_instance: 0 },
  ],
  ['create_loopback_instance_reply', { ...REP, retval: 0, sw_if_index: 5 }],
  ['delete_loopback', { ...REQ, sw_if_index: 5 }],
  // The L3 VXLAN decap arc (vxlan4-input → ip4-input): made, and read back by retrieve.
  ['add_node_next', { ...REQ, node_name: 'vxlan4-input', next_name: 'ip4-input' }],
  ['add_node_next_reply', { ...REP, retval: 0, next_index: 2 }],
  ['get_next_index', { ...REQ, node_name: 'vxlan4-input', next_name: 'ip4-input' }],
  ['get_next_index_reply', { ...REP, retval: -6, next_index: 0xffffffff }],
  ['tap_create_v3_reply', { ...REP, retval: 0, sw_if_index: 7 }],
  ['af_packet_create_v3_reply', { ...REP, retval: -79, sw_if_index: 9 }],
  ['af_packet_details', { ...REP, sw_if_index: 9, host_if_name: 'nlp1' }],
  [
    'sw_interface_tap_v2_details',
    {
      ...REP,
      sw_if_index: 7,
      id: 0,
      tx_ring_sz: 256,
      rx_ring_sz: 256,
      host_mtu_size: 1450,
      host_mac_addr: macBytes('02:fe:0a:01:03:05'),
      host_ip4_prefix: toIp4Prefix('10.1.3.5/24'),
      tap_flags: 1,
      dev_name: 'tap0',
      host_if_name: 'eth0',
      host_namespace: '/var/run/netns/cni-1',
      host_bridge: '',
    },
  ],
  ['ip_table_details', { ...REP, table: { table_id: 10, is_ip6: false, name: 'netloom:blue' } }],
  ['ip_route_add_del_reply', { ...REP, retval: 0, stats_index: 17 }],
  [
    'proxy_arp_add_del',
    { ...REQ, is_add: true, proxy: { table_id: 0, low: ip4Bytes('10.1.1.1'), hi: ip4Bytes('10.1.1.254') } },
  ],
  ['proxy_arp_dump', REQ],
  [
    'proxy_arp_details',
    { ...REP, proxy: { table_id: 10, low: ip4Bytes('10.2.1.1'), hi: ip4Bytes('10.2.1.254') } },
  ],
  ['proxy_arp_intfc_enable_disable', { ...REQ, sw_if_index: 7, enable: true }],
  ['vxlan_add_del_tunnel_v3_reply', { ...REP, retval: 0, sw_if_index: 9 }],
  [
    'vxlan_tunnel_v2_details',
    {
      ...REP,
      sw_if_index: 9,
      instance: 0,
      src_address: toAddress('192.168.16.3'),
      dst_address: toAddress('192.168.16.4'),
      src_port: 4789,
      dst_port: 4789,
      mcast_sw_if_index: 0xffffffff,
      encap_vrf_id: 0,
      decap_next_index: 0xffffffff,
      vni: 10,
    },
  ],
  ['nat44_interface_dump', REQ],
  ['nat44_interface_details', { ...REP, flags: 16, sw_if_index: 1 }],
  ['nat44_address_dump', REQ],
  ['nat44_address_details', { ...REP, ip_address: ip4Bytes('192.168.0.1'), flags: 0, vrf_id: 0 }],
  ['nat44_address_details', { ...REP, ip_address: ip4Bytes('192.168.0.1'), flags: 1, vrf_id: 0 }],
  [
    'nat44_lb_static_mapping_details',
    {
      ...REP,
      external_addr: ip4Bytes('10.96.0.1'),
      external_port: 80,
      protocol: 6,
      flags: 5,
      affinity: 10800,
      tag: 't',
      local_num: 2,
      locals: [local('10.1.3.5'), local('10.1.4.6')],
    },
  ],
  [
    'nat44_static_mapping_details',
    {
      ...REP,
      flags: 6,
      local_ip_address: ip4Bytes('10.1.1.11'),
      external_ip_address: ip4Bytes('10.96.0.11'),
      protocol: 6,
      local_port: 8080,
      external_port: 80,
      external_sw_if_index: 0xffffffff,
      vrf_id: 0,
      tag: 'svc',
    },
  ],
  [
    'nat44_identity_mapping_details',
    {
      ...REP,
      flags: 0,
      ip_address: ip4Bytes('192.168.16.3'),
      protocol: 17,
      port: 4789,
      sw_if_index: 0xffffffff,
      vrf_id: 0,
      tag: 'vxlan',
    },
  ],
  // cnat (Services from pods): a translation with its endpoint structs and counted paths, in a
  // request and in details; the source-NAT address, policy and pod table.
  ...((): [string, VppFields][] => {
    const ep = (ip: string, port: number): VppFields => ({
      addr: toAddress(ip),
      sw_if_index: 0xffffffff,
      if_af: 0,
      port,
    });
    const translation = {
      vip: ep('10.96.0.10', 80),
      id: 0,
      ip_proto: 6,
      is_real_ip: 0,
      flags: 0,
      lb_type: 0,
      n_paths: 2,
      flow_hash_config: 1,
      paths: [
        { dst_ep: ep('10.1.3.5', 8080), src_ep: ep('0.0.0.0', 0), flags: 0 },
        { dst_ep: ep('10.1.4.6', 8080), src_ep: ep('0.0.0.0', 0), flags: 0 },
      ],
    };
    return [
      ['cnat_translation_update', { ...REQ, translation }],
      ['cnat_translation_details', { ...REP, translation: { ...translation, id: 7 } }],
      ['cnat_translation_update_reply', { ...REP, retval: 0, id: 7 }],
      ['cnat_translation_del', { ...REQ, id: 7 }],
      ['cnat_translation_dump', REQ],
      [
        'cnat_set_snat_addresses',
        { ...REQ, snat_ip4: ip4Bytes('169.254.1.2'), snat_ip6: new Uint8Array(16), sw_if_index: 0xffffffff },
      ],
      [
        'cnat_get_snat_addresses_reply',
        {
          ...REP,
          retval: 0,
          id: 0,
          snat_ip4: ip4Bytes('169.254.1.2'),
          snat_ip6: new Uint8Array(16),
          sw_if_index: 0,
        },
      ],
      ['cnat_snat_policy_add_del_if', { ...REQ, sw_if_index: 7, is_add: 1, table: 2 }],
      ['cnat_set_snat_policy', { ...REQ, policy: 2 }],
      [
        'feature_enable_disable',
        { ...REQ, sw_if_index: 1, enable: true, arc_name: 'ip4-unicast', feature_name: 'cnat-lookup-ip4' },
      ],
      [
        'feature_is_enabled',
        { ...REQ, arc_name: 'ip4-unicast', feature_name: 'cnat-lookup-ip4', sw_if_index: 1 },
      ],
      // Its reply carries client_index before context, unlike every other reply.
      ['feature_is_enabled_reply', { ...REP, client_index: 0, retval: 0, is_enabled: true }],
    ];
  })(),
  ['acl_details', { ...REP, acl_index: 3, tag: 't', count: 1, r: [rule] }],
  ['acl_interface_list_details', { ...REP, sw_if_index: 7, count: 2, n_input: 1, acls: [3, 4] }],
  // Plain replies (context + retval), a negative retval each.
  ...[
    'want_interface_events_reply',
    'sw_interface_set_flags_reply',
    'sw_interface_add_del_address_reply',
    'sw_interface_set_table_reply',
    'sw_interface_set_mtu_reply',
    'sw_interface_set_unnumbered_reply',
    'sw_interface_tag_add_del_reply',
    'delete_loopback_reply',
    'tap_delete_v2_reply',
    'ip_table_add_del_reply',
    'proxy_arp_add_del_reply',
    'proxy_arp_intfc_enable_disable_reply',
    'nat44_ed_plugin_enable_disable_reply',
    'nat44_interface_add_del_feature_reply',
    'nat44_add_del_address_range_reply',
    'nat44_add_del_lb_static_mapping_reply',
    'nat44_add_del_static_mapping_v2_reply',
    'nat44_add_del_identity_mapping_reply',
    'acl_del_reply',
    'acl_interface_set_acl_list_reply',
    'cnat_translation_del_reply',
    'cnat_set_snat_addresses_reply',
    'cnat_snat_policy_add_del_if_reply',
    'cnat_set_snat_policy_reply',
  ].map((name): [string, VppFields] => [name, { ...REP, retval: -6 }]),
  ['ip_neighbor_add_del_reply', { ...REP, retval: 0, stats_index: 2 }],
];

function toJson(v: VppValue | undefined): unknown {
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map((x: VppValue) => toJson(x));
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
}

describe.skipIf(!papi.ok)(
  `vpp_papi ${papi.ok ? papi.version : ''} encodes the same bytes from the same definitions`,
  () => {
    it(`${CASES.length} messages, byte for byte`, async () => {
      const codec = new VppCodec(await loadV25Definitions());
      const input = JSON.stringify({
        apidir: V25_10_DIR,
        messages: CASES.map(([name, fields]) => ({ name, fields: toJson(fields) })),
      });
      const r = run(PYTHON, [SCRIPT], 120_000, input);
      expect(r.ok, r.out).toBe(true);
      const theirs = JSON.parse(r.out) as ({ hex: string } | { error: string })[];
      expect(theirs).toHaveLength(CASES.length);
      const ours = CASES.map(([name, f]) => {
        const header = {
          msgId: f['_vl_msg_id'] as number,
          context: f['context'] as number,
          clientIndex: f['client_index'] as number | undefined,
        };
        return codec.encode(name, f, header).toString('hex');
      });
      const table = CASES.map(([name], i) => ({
        name,
        ours: ours[i],
        papi: 'hex' in theirs[i]! ? theirs[i].hex : theirs[i]!.error,
      }));
      for (const row of table) expect(row.ours, `${row.name}: vpp_papi ${row.papi}`).toBe(row.papi);
    });
  },
);
