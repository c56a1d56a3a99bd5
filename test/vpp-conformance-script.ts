// One scripted sequence of VPP API requests — what the vpp driver sends, plus the refusals it
// relies on — and the state read back afterwards with the driver's own readers (calls/), so the
// transcript holds every retval and every field the driver reads. Run against a real VPP and
// against the fake, the transcripts must be equal (test/vpp-conformance.test.ts); the real
// VPP's transcript is kept as a golden file so machines without VPP hold the fake to it.
//
// The VPP must start empty (only local0) and hold a kernel interface `AF_PACKET_HOST` in its
// network namespace for the af_packet steps (the fake checks no kernel).
import { AclCalls, ACL_DENY, ACL_PERMIT, type AclRule } from '../agent/dataplane/vpp/calls/acl.ts';
import { AfPacketCalls } from '../agent/dataplane/vpp/calls/af-packet.ts';
import { CnatCalls, FLOW_HASH_SRC_IP } from '../agent/dataplane/vpp/calls/cnat.ts';
import { FibCalls } from '../agent/dataplane/vpp/calls/fib.ts';
import { InterfaceCalls } from '../agent/dataplane/vpp/calls/interfaces.ts';
import {
  NAT_IS_INSIDE,
  NAT_IS_OUT2IN_ONLY,
  NAT_IS_TWICE_NAT,
  NatCalls,
} from '../agent/dataplane/vpp/calls/nat.ts';
import { VxlanCalls } from '../agent/dataplane/vpp/calls/vxlan.ts';
import { ip4Bytes, macBytes, toAddress, toPrefix } from '../agent/dataplane/vpp/addresses.ts';
import { VppApiError } from '../agent/dataplane/vpp/api/errors.ts';
import type { VppApi } from '../agent/dataplane/vpp/vpp-api.ts';

/** The kernel interface the af_packet steps give to VPP. */
export const AF_PACKET_HOST = 'cfk0';

export type Outcome = { ok: unknown } | { retval: number };

export interface Transcript {
  steps: { step: string; outcome: Outcome }[];
  state: Record<string, unknown>;
}

const NONE = 0xffffffff;
const PERMIT_ALL: AclRule = {
  action: ACL_PERMIT,
  src: '0.0.0.0/0',
  dst: '0.0.0.0/0',
  proto: 0,
  srcPorts: [0, 65535],
  dstPorts: [0, 65535],
};
const UDP = 17;
const TCP = 6;

async function outcome(fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: (await fn()) ?? null };
  } catch (err) {
    if (err instanceof VppApiError) return { retval: err.retval };
    throw err;
  }
}

/** Runs the script; every step is recorded whether VPP accepts or refuses it. */
export async function runScript(api: VppApi): Promise<Transcript> {
  const itf = new InterfaceCalls(api);
  const fib = new FibCalls(api);
  const vxlan = new VxlanCalls(api);
  const nat = new NatCalls(api);
  const acl = new AclCalls(api);
  const af = new AfPacketCalls(api);
  const steps: Transcript['steps'] = [];
  const step = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    steps.push({ step: name, outcome: await outcome(fn) });
  };
  const raw = (name: string, fields: Record<string, unknown>) => async (): Promise<unknown> => {
    const r = await api.request(name, fields as never);
    // The message id is VPP's to assign (plugins' ids move between builds): not compared.
    const { context: _c, retval: _r, _vl_msg_id: _id, ...rest } = r;
    return rest;
  };

  // Interfaces: loopbacks (overlay, pod gateway), tags, state, addresses, MTU, unnumbered.
  await step('loopback a', () => itf.createLoopback('02:00:00:0a:00:01'));
  await step('loopback b', () => itf.createLoopback('02:fe:0a:01:01:01'));
  await step('tag a', () => itf.setTag(1, 'overlay/10'));
  await step('tag b', () => itf.setTag(2, 'address/0/10.1.1.1'));
  await step('up a', () => itf.setUp(1, true));
  await step('up b', () => itf.setUp(2, true));
  await step('address a', () => itf.addAddress(1, '169.254.128.1/32'));
  await step('address b', () => itf.addAddress(2, '10.1.1.1/24'));
  await step(
    'address b again',
    raw('sw_interface_add_del_address', {
      sw_if_index: 2,
      is_add: true,
      del_all: false,
      prefix: toPrefix('10.1.1.1/24'),
    }),
  );
  await step(
    'address on a missing interface',
    raw('sw_interface_add_del_address', {
      sw_if_index: 77,
      is_add: true,
      del_all: false,
      prefix: toPrefix('10.9.9.9/24'),
    }),
  );
  await step('mtu b', () => itf.setMtu(2, 1450));
  await step('flags on a missing interface', raw('sw_interface_set_flags', { sw_if_index: 77, flags: 1 }));
  await step('delete a missing loopback', raw('delete_loopback', { sw_if_index: 77 }));

  // Tables and VRF binding.
  await step('table 5', () => fib.addTable(5, false, 'netloom:blue'));
  await step('table 5 (IPv6)', () => fib.addTable(5, true, 'netloom:blue'));
  await step('loopback c', () => itf.createLoopback('02:fe:0a:05:01:01'));
  await step('vrf c', () => itf.setVrf(3, 5));
  await step(
    'vrf c to a missing table',
    raw('sw_interface_set_table', { sw_if_index: 3, is_ipv6: false, vrf_id: 9 }),
  );
  await step('vrf of c', () => itf.vrf(3));
  await step('address c', () => itf.addAddress(3, '10.5.1.1/24'));
  await step('up c', () => itf.setUp(3, true));

  // VXLAN in L3 mode, unnumbered to the overlay loopback, a static neighbour on it.
  await step('decap next (read, before any arc)', () => vxlan.findL3DecapNext(false));
  await step('decap next', () => vxlan.l3DecapNext(false));
  await step('decap next (read)', () => vxlan.findL3DecapNext(false));
  await step('vxlan', () => vxlan.add({ src: '192.168.0.1', dst: '192.168.0.2', port: 4789, vni: 10 }));
  await step('vxlan again', () => vxlan.add({ src: '192.168.0.1', dst: '192.168.0.2', port: 4789, vni: 10 }));
  await step('vxlan delete a missing one', () =>
    vxlan.remove({ src: '192.168.0.1', dst: '192.168.0.9', port: 4789, vni: 10 }),
  );
  await step('unnumbered vxlan', () => itf.setUnnumbered(4, 1));
  await step('up vxlan', () => itf.setUp(4, true));
  await step('neighbour', () => fib.setNeighbor(4, '169.254.128.2', '02:00:00:0a:00:02'));
  await step(
    'neighbour on a missing interface',
    raw('ip_neighbor_add_del', {
      is_add: true,
      neighbor: {
        sw_if_index: 77,
        flags: 1,
        mac_address: macBytes('02:00:00:00:00:09'),
        ip_address: toAddress('10.9.9.9'),
      },
    }),
  );

  // Routes: through a tunnel with a next hop, a host route through an interface, drop, local.
  await step('route via tunnel', () =>
    fib.addRoute({
      vrf: 0,
      dst: '10.1.2.0/24',
      paths: [{ type: 'via', swIfIndex: 4, nextHop: '169.254.128.2' }],
    }),
  );
  await step('host route without next hop', () =>
    fib.addRoute({ vrf: 0, dst: '10.1.1.11/32', paths: [{ type: 'via', swIfIndex: 2, nextHop: '' }] }),
  );
  await step('drop route', () => fib.addRoute({ vrf: 0, dst: '10.5.0.0/16', paths: [{ type: 'drop' }] }));
  await step('route in table 5', () =>
    fib.addRoute({
      vrf: 5,
      dst: '10.5.2.0/24',
      paths: [{ type: 'via', swIfIndex: 4, nextHop: '169.254.128.2' }],
    }),
  );
  await step('route in a missing table', () =>
    fib.addRoute({ vrf: 9, dst: '10.9.0.0/16', paths: [{ type: 'drop' }] }),
  );
  await step('delete a route', () => fib.deleteRoute(0, '10.5.0.0/16'));
  await step(
    'delete a missing route',
    raw('ip_route_add_del', {
      is_add: false,
      is_multipath: false,
      route: { table_id: 0, prefix: toPrefix('10.77.0.0/16'), n_paths: 0, paths: [] },
    }),
  );

  // Proxy ARP for the pod subnet.
  await step('proxy arp range', () => itf.proxyArpRange(0, '10.1.1.1', '10.1.1.254', true));
  await step('proxy arp on b', () => itf.proxyArpOn(2));

  // af_packet (the veth form's VPP end).
  await step('af_packet', () => af.create(AF_PACKET_HOST, '02:6e:6c:00:00:01'));
  await step(
    'af_packet again',
    raw('af_packet_create_v3', {
      mode: 1,
      hw_addr: macBytes('02:6e:6c:00:00:01'),
      use_random_hw_addr: false,
      host_if_name: AF_PACKET_HOST,
      flags: 0,
    }),
  );
  await step('af_packet delete a missing one', raw('af_packet_delete', { host_if_name: 'cfk-none' }));

  // NAT44-ED: enable (twice), in/out, pools, mappings, identity, refusals.
  await step('nat enable', raw('nat44_ed_plugin_enable_disable', { enable: true }));
  await step('nat enable again', raw('nat44_ed_plugin_enable_disable', { enable: true }));
  await step('nat outside', () => nat.setInterface(1, 'outside', true));
  await step('nat inside', () => nat.setInterface(5, 'inside', true));
  await step('nat pool', () => nat.addAddress('192.168.0.1', true));
  await step(
    'nat pool again',
    raw('nat44_add_del_address_range', {
      first_ip_address: ip4Bytes('192.168.0.1'),
      last_ip_address: ip4Bytes('192.168.0.1'),
      is_add: true,
    }),
  );
  await step('nat twice-nat pool', () => nat.addTwiceNatAddress('10.1.1.1', true));
  await step('nat identity', () =>
    nat.addIdentity({ ip: '192.168.0.1', protocol: UDP, port: 4789, vrf: 0 }, true),
  );
  await step(
    'nat identity again',
    raw('nat44_add_del_identity_mapping', {
      is_add: true,
      flags: 0,
      ip_address: ip4Bytes('192.168.0.1'),
      protocol: UDP,
      port: 4789,
      sw_if_index: NONE,
      vrf_id: 0,
      tag: '',
    }),
  );
  await step('nat static mapping', () =>
    nat.addMapping({
      external: '10.96.0.10',
      port: 53,
      protocol: UDP,
      affinity: 0,
      flags: NAT_IS_OUT2IN_ONLY | NAT_IS_TWICE_NAT,
      tag: 'service/0/udp/10.96.0.10/53',
      backends: [{ ip: '10.1.1.11', port: 5353, probability: 1, vrf: 0 }],
    }),
  );
  await step('nat lb mapping', () =>
    nat.addMapping({
      external: '10.96.0.1',
      port: 443,
      protocol: TCP,
      affinity: 0,
      flags: NAT_IS_OUT2IN_ONLY | NAT_IS_TWICE_NAT,
      tag: 'service/0/tcp/10.96.0.1/443',
      backends: [
        { ip: '10.1.1.11', port: 6443, probability: 1, vrf: 0 },
        { ip: '10.1.2.12', port: 6443, probability: 1, vrf: 0 },
      ],
    }),
  );
  await step('nat lb mapping with one backend', () =>
    nat
      .addMapping({
        external: '10.96.0.2',
        port: 80,
        protocol: TCP,
        affinity: 0,
        flags: NAT_IS_OUT2IN_ONLY,
        tag: 'one',
        backends: [{ ip: '10.1.1.11', port: 8080, probability: 1, vrf: 0 }],
      })
      .then(() => undefined),
  );
  await step(
    'nat lb mapping refused with one local',
    raw('nat44_add_del_lb_static_mapping', {
      is_add: true,
      flags: NAT_IS_OUT2IN_ONLY,
      external_addr: ip4Bytes('10.96.0.3'),
      external_port: 80,
      protocol: TCP,
      affinity: 0,
      tag: '',
      locals: [{ addr: ip4Bytes('10.1.1.11'), port: 80, probability: 1, vrf_id: 0 }],
    }),
  );
  await step('nat delete a missing mapping', () =>
    nat.deleteMapping({
      external: '10.96.0.99',
      port: 80,
      protocol: TCP,
      flags: NAT_IS_OUT2IN_ONLY,
      backends: [{ ip: '10.1.1.11', port: 80, probability: 1, vrf: 0 }],
    }),
  );
  await step(
    'nat inside again',
    raw('nat44_interface_add_del_feature', { is_add: true, flags: NAT_IS_INSIDE, sw_if_index: 5 }),
  );

  // cnat (Services from pods): the source-NAT address that makes the policy entry, refused
  // before it; the pod table; the feature arc; translations found by frontend, updated in place.
  const cnat = new CnatCalls(api);
  await step('cnat snat address before one is set', raw('cnat_get_snat_addresses', {}));
  await step(
    'cnat pod table before the address',
    raw('cnat_snat_policy_add_del_if', { sw_if_index: 5, is_add: 1, table: 2 }),
  );
  await step('cnat snat address and policy', () => cnat.setSnat('169.254.1.2'));
  await step('cnat snat address read', () => cnat.snatAddress());
  await step('cnat pod table', () => cnat.setPodInterface(5, true));
  await step(
    'cnat pod table of a missing interface',
    raw('cnat_snat_policy_add_del_if', { sw_if_index: 77, is_add: 1, table: 2 }),
  );
  await step('cnat pod table out, twice', async () => {
    await cnat.setPodInterface(2, false);
    await cnat.setPodInterface(2, false);
  });
  await step('cnat feature', () => cnat.enableInterface(5));
  await step('cnat feature again', () => cnat.enableInterface(5));
  await step(
    'cnat feature on a missing interface',
    raw('feature_cnat_enable_disable', { sw_if_index: 77, enable_disable: true }),
  );
  // cnat's session lookup alone (the uplink), through vnet's generic feature API.
  await step('feature lookup before it is enabled', () => cnat.lookupEnabled(1));
  await step('feature enable', () => cnat.enableLookup(1));
  await step('feature lookup after', () => cnat.lookupEnabled(1));
  await step('feature lookup elsewhere', () => cnat.lookupEnabled(5));
  await step(
    'feature enable, unknown feature',
    raw('feature_enable_disable', {
      sw_if_index: 1,
      enable: true,
      arc_name: 'ip4-unicast',
      feature_name: 'no-such-node',
    }),
  );
  await step(
    'feature enable on a missing interface',
    raw('feature_enable_disable', {
      sw_if_index: 77,
      enable: true,
      arc_name: 'ip4-unicast',
      feature_name: 'cnat-lookup-ip4',
    }),
  );
  await step(
    'feature lookup on a missing interface',
    raw('feature_is_enabled', { sw_if_index: 77, arc_name: 'ip4-unicast', feature_name: 'cnat-lookup-ip4' }),
  );
  const web = {
    vip: '10.96.0.10',
    port: 80,
    protocol: TCP,
    backends: [
      { ip: '10.1.1.11', port: 8080 },
      { ip: '10.1.2.7', port: 8080 },
    ],
    flowHash: 0,
  };
  await step('cnat translation', () => cnat.update(web));
  await step('cnat translation, backends changed', () =>
    cnat.update({ ...web, backends: [{ ip: '10.1.3.9', port: 8443 }], flowHash: FLOW_HASH_SRC_IP }),
  );
  await step('cnat translation (UDP)', () =>
    cnat.update({
      vip: '10.96.0.10',
      port: 53,
      protocol: UDP,
      backends: [{ ip: '10.1.1.12', port: 5353 }],
      flowHash: 0,
    }),
  );
  await step('cnat translation (another VIP)', () => cnat.update({ ...web, vip: '10.96.0.11' }));
  await step('cnat translation delete', () => cnat.delete(1));
  await step('cnat translation delete a missing one', raw('cnat_translation_del', { id: 42 }));
  await step('cnat translation after a delete', () => cnat.update({ ...web, vip: '10.96.0.12' }));

  // ACLs: add, replace, bind, the refusals the driver handles.
  const rules: AclRule[] = [
    { ...PERMIT_ALL, src: '10.1.1.0/24', proto: TCP, dstPorts: [80, 80] },
    { ...PERMIT_ALL, action: ACL_DENY },
  ];
  await step('acl', () => acl.addReplace(undefined, 'netloom/pod/default/web-1', rules));
  await step('acl replace', () => acl.addReplace(0, 'netloom/pod/default/web-1', [PERMIT_ALL]));
  await step('acl replace a missing one', () => acl.addReplace(42, 'x', [PERMIT_ALL]));
  await step('acl bind', () => acl.setInterfaceAcls(5, [0], []));
  await step('acl delete in use', raw('acl_del', { acl_index: 0 }));
  await step('acl delete a missing one', raw('acl_del', { acl_index: 42 }));

  // Deleting and creating again: which sw_if_index comes back.
  await step('delete loopback c', () => itf.deleteLoopback(3));
  await step('loopback d', () => itf.createLoopback('02:fe:0a:06:01:01'));
  await step('delete table 5', () => fib.deleteTable(5, false));
  await step('delete table 5 (IPv6)', () => fib.deleteTable(5, true));

  return { steps, state: await snapshot(api) };
}

/**
 * FIB sources whose entries the fake does not make: NAT44-ED's receive /32s for pool and
 * mapping addresses on outside interfaces ("nat-low"), and a VXLAN tunnel's tracking entry for
 * its destination ("recursive-resolution"). Route retrieve skips every entry not of the API
 * source, so these can never be taken for netloom's; the API, interface, adjacency, special
 * and default-route entries are compared.
 */
const UNMODELLED_SOURCES = new Set(['nat-low', 'recursive-resolution']);

/** Everything the driver reads, as its readers read it, in a stable order. */
export async function snapshot(api: VppApi): Promise<Record<string, unknown>> {
  const itf = new InterfaceCalls(api);
  const fib = new FibCalls(api);
  const interfaces = await itf.list();
  const perInterface = [];
  for (const i of interfaces.sort((a, b) => a.swIfIndex - b.swIfIndex))
    perInterface.push({
      ...i,
      addresses: (await itf.addresses(i.swIfIndex)).sort(),
      vrf: await itf.vrf(i.swIfIndex),
    });
  const tables = (await fib.tables()).filter((t) => !t.ipv6).sort((a, b) => a.id - b.id);
  const routes: Record<string, unknown> = {};
  for (const t of tables)
    routes[`table ${t.id}`] = (await fib.routes(t.id, false))
      .filter((r) => !UNMODELLED_SOURCES.has(r.source ?? ''))
      .map((r) => ({ dst: r.dst, source: r.source, paths: r.paths }))
      .sort((a, b) => (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0));
  const nat = new NatCalls(api);
  const acl = new AclCalls(api);
  const cnat = new CnatCalls(api);
  const byKey = <T>(xs: T[]): T[] => xs.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return {
    interfaces: perInterface,
    tables,
    routes,
    vxlan: await new VxlanCalls(api).list(),
    proxyArp: byKey(await itf.proxyArpRanges()),
    afPacket: await new AfPacketCalls(api).list(),
    natInterfaces: [...(await nat.interfaces())].sort((a, b) => a[0] - b[0]),
    natPool: (await nat.addresses()).sort(),
    natTwiceNatPool: (await nat.twiceNatAddresses()).sort(),
    natIdentities: byKey(await nat.identities()),
    natMappings: byKey(await nat.mappings()),
    cnatSnat: await cnat.snatAddress(),
    cnatTranslations: byKey(await cnat.translations()),
    acls: await acl.list(),
    aclBindings: [...(await acl.interfaceAcls())].sort((a, b) => a[0] - b[0]),
  };
}
