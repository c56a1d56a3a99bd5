// Items for one node, shaped as the agent's renderers produce them (pod gateway, overlay,
// tunnels, pod interfaces, routes, source NAT, service frontends, peer sets, pod policies): fixtures for the driver's unit tests and the
// netns lab, independent of the renderers' code.
import {
  addressKey,
  overlayKey,
  peerSetKey,
  podInterfaceKey,
  policyKey,
  routeKey,
  serviceKey,
  snatKey,
  tunnelKey,
  vrfKey,
} from '../../items/keys.ts';
import type {
  Address,
  Overlay,
  PeerSet,
  PodInterface,
  PodPolicy,
  PolicyRule,
  Route,
  Service,
  SourceNat,
  Tunnel,
  Vrf,
} from '../../items/values.ts';
import type { Item } from '../../scheduler/descriptor.ts';

export interface TestNode {
  name: string;
  id: number;
  underlayIp: string;
}

export interface TestPod {
  namespace: string;
  name: string;
  containerId: string;
  netns: string;
  ip: string;
  hostIfName: string;
}

/**
 * Pod `i` of node 1 as the tests lay pods out: address 10.1.1.(11+i), host veth `<ifPrefix><i>`
 * (a per-run prefix keeps names unique on a shared machine).
 */
export function testPod(i: number, netns: string, ifPrefix: string, namespace = 'default'): TestPod {
  return {
    namespace,
    name: `p${i}`,
    containerId: `c${i}`,
    netns,
    ip: `10.1.1.${11 + i}`,
    hostIfName: `${ifPrefix}${i}`,
  };
}

export const VNI = 10;
export const MTU = 1450;
export const POD_CIDR = '10.1.0.0/16';

/** Pod subnet of node `id`: 10.1.<id>.0/24. */
export const podSubnet = (id: number): string => `10.1.${id}.0/24`;

export function nodeItems(self: TestNode, peers: readonly TestNode[]): Item[] {
  const items: Item[] = [];
  const gw: Address = { vrf: 0, address: `10.1.${self.id}.1/24`, role: 'pod-gateway' };
  items.push({ key: addressKey(0, `10.1.${self.id}.1`), value: gw });
  const overlay: Overlay = {
    vni: VNI,
    vrf: 0,
    localIp: self.underlayIp,
    localId: self.id,
    port: 4789,
    mtu: MTU,
  };
  items.push({ key: overlayKey(VNI), value: overlay });
  for (const p of peers) {
    if (p.name === self.name) continue;
    const t: Tunnel = {
      vni: VNI,
      vrf: 0,
      peer: p.name,
      peerId: p.id,
      remoteIp: p.underlayIp,
      localIp: self.underlayIp,
      port: 4789,
    };
    items.push({ key: tunnelKey(VNI, p.name), value: t });
    const r: Route = {
      vrf: 0,
      dst: podSubnet(p.id),
      via: { type: 'interface', interface: tunnelKey(VNI, p.name) },
    };
    items.push({ key: routeKey(0, r.dst), value: r });
  }
  const snat: SourceNat = {
    vrf: 0,
    source: podSubnet(self.id),
    except: [POD_CIDR, '10.96.0.0/12'],
    toAddress: '',
  };
  items.push({ key: snatKey(0, snat.source), value: snat });
  return items;
}

export function podItems(self: TestNode, pod: TestPod): Item[] {
  const key = podInterfaceKey(pod.namespace, pod.name, 'eth0');
  const iface: PodInterface = {
    namespace: pod.namespace,
    pod: pod.name,
    containerId: pod.containerId,
    netns: pod.netns,
    ifname: 'eth0',
    hostIfName: pod.hostIfName,
    mtu: MTU,
    vrf: 0,
    addresses: [`${pod.ip}/32`],
    gateway: `10.1.${self.id}.1`,
    mac: '',
  };
  const route: Route = { vrf: 0, dst: `${pod.ip}/32`, via: { type: 'interface', interface: key } };
  return [
    { key, value: iface },
    { key: routeKey(0, route.dst), value: route },
  ];
}

/** A custom network: its VRF (= id), VNI and /16, cut into a /24 per node like the pod CIDR. */
export interface TestNetwork {
  id: number;
  name: string;
  vni: number;
  /** Second octet: the network is 10.<octet>.0.0/16, node N's block 10.<octet>.N.0/24. */
  octet: number;
}

export const networkCidr = (net: TestNetwork): string => `10.${net.octet}.0.0/16`;
export const networkBlock = (net: TestNetwork, nodeId: number): string => `10.${net.octet}.${nodeId}.0/24`;

/**
 * What a node renders for a custom network: its VRF, its gateway `10.<o>.<id>.1/24`, its overlay
 * (one VNI per network) with a tunnel and a route per peer, in the network's VRF.
 */
export function networkNodeItems(self: TestNode, peers: readonly TestNode[], net: TestNetwork): Item[] {
  const vrf = net.id;
  const v: Vrf = { id: vrf, network: net.name, subnets: [networkCidr(net)] };
  const gw: Address = { vrf, address: `10.${net.octet}.${self.id}.1/24`, role: 'pod-gateway' };
  const overlay: Overlay = {
    vni: net.vni,
    vrf,
    localIp: self.underlayIp,
    localId: self.id,
    port: 4789,
    mtu: MTU,
  };
  const items: Item[] = [
    { key: vrfKey(vrf), value: v },
    { key: addressKey(vrf, `10.${net.octet}.${self.id}.1`), value: gw },
    { key: overlayKey(net.vni), value: overlay },
  ];
  for (const p of peers) {
    if (p.name === self.name) continue;
    const t: Tunnel = {
      vni: net.vni,
      vrf,
      peer: p.name,
      peerId: p.id,
      remoteIp: p.underlayIp,
      localIp: self.underlayIp,
      port: 4789,
    };
    items.push({ key: tunnelKey(net.vni, p.name), value: t });
    const r: Route = {
      vrf,
      dst: networkBlock(net, p.id),
      via: { type: 'interface', interface: tunnelKey(net.vni, p.name), gateway: `10.${net.octet}.${p.id}.1` },
    };
    items.push({ key: routeKey(vrf, r.dst), value: r });
  }
  return items;
}

/** The default network's side of isolation: every custom network's CIDR dropped in main. */
export function isolationItems(nets: readonly TestNetwork[]): Item[] {
  return nets.map((net) => {
    const r: Route = { vrf: 0, dst: networkCidr(net), via: { type: 'drop' } };
    return { key: routeKey(0, r.dst), value: r };
  });
}

/** A pod of a custom network on `self` (its `ip` in the network's block). */
export function networkPodItems(self: TestNode, pod: TestPod, net: TestNetwork): Item[] {
  const [iface, route] = podItems(self, pod);
  const v: PodInterface = {
    ...(iface!.value as PodInterface),
    vrf: net.id,
    gateway: `10.${net.octet}.${self.id}.1`,
  };
  const r: Route = { ...(route!.value as Route), vrf: net.id };
  return [
    { key: iface!.key, value: v },
    { key: routeKey(net.id, r.dst), value: r },
  ];
}

/**
 * An extra interface (`ifname`, net1 by default) of a pod attached to network `net` besides its
 * eth0, as the pods renderer makes one for k8s.v1.cni.cncf.io/networks: no default route (eth0
 * keeps it), the network's CIDR routed through it instead. `pod.ip` is its address in the
 * network's block, `pod.hostIfName` its host veth (another than eth0's).
 */
export function extraInterfaceItems(pod: TestPod, net: TestNetwork, ifname = 'net1'): Item[] {
  const key = podInterfaceKey(pod.namespace, pod.name, ifname);
  const iface: PodInterface = {
    namespace: pod.namespace,
    pod: pod.name,
    containerId: pod.containerId,
    netns: pod.netns,
    ifname,
    hostIfName: pod.hostIfName,
    mtu: MTU,
    vrf: net.id,
    addresses: [`${pod.ip}/32`],
    gateway: '',
    mac: '',
    routes: [networkCidr(net)],
  };
  const route: Route = { vrf: net.id, dst: `${pod.ip}/32`, via: { type: 'interface', interface: key } };
  return [
    { key, value: iface },
    { key: routeKey(net.id, route.dst), value: route },
  ];
}

/** A Service frontend item as the services renderer shapes it (Cluster policies, pod CIDR). */
export function serviceItem(
  vip: string,
  protocol: Service['protocol'],
  port: number,
  backends: readonly { ip: string; port: number }[],
  opts: Partial<
    Pick<Service, 'noBackends' | 'masqueradeOutside' | 'affinitySeconds' | 'kind' | 'sourceRanges'>
  > & {
    inCluster?: { sources: string[]; backends: readonly { ip: string; port: number }[] };
  } = {},
): Item<Service> {
  const backend = (b: { ip: string; port: number }): Service['backends'][number] => ({
    ip: b.ip,
    port: b.port,
    weight: 1,
    local: true,
  });
  const value: Service = {
    namespace: 'default',
    name: `svc-${port}`,
    portName: '',
    vrf: 0,
    kind: opts.kind ?? (vip === 'node' ? 'node-port' : 'cluster-ip'),
    vip,
    protocol,
    port,
    backends: backends.map(backend),
    noBackends: opts.noBackends ?? 'reject',
    masqueradeOutside: opts.masqueradeOutside === undefined ? [POD_CIDR] : opts.masqueradeOutside,
    affinitySeconds: opts.affinitySeconds ?? 0,
    ...(opts.sourceRanges ? { sourceRanges: opts.sourceRanges } : {}),
    ...(opts.inCluster
      ? { inCluster: { sources: opts.inCluster.sources, backends: opts.inCluster.backends.map(backend) } }
      : {}),
  };
  return { key: serviceKey(0, protocol, vip, port), value };
}

/** A peer set item. */
export function peerSetItem(id: string, addresses: readonly string[]): Item<PeerSet> {
  return { key: peerSetKey(id), value: { id, addresses: [...addresses] } };
}

/**
 * The policy item of a pod's eth0: `undefined` for a direction leaves it open, a list of rules
 * isolates it (an empty list denies everything).
 */
export function policyItem(
  pod: Pick<TestPod, 'namespace' | 'name' | 'ip'>,
  dirs: { ingress?: PolicyRule[]; egress?: PolicyRule[] },
): Item<PodPolicy> {
  const value: PodPolicy = {
    namespace: pod.namespace,
    pod: pod.name,
    interface: podInterfaceKey(pod.namespace, pod.name, 'eth0'),
    podIps: [pod.ip],
    ingress: { isolated: dirs.ingress !== undefined, rules: dirs.ingress ?? [] },
    egress: { isolated: dirs.egress !== undefined, rules: dirs.egress ?? [] },
  };
  return { key: policyKey(pod.namespace, pod.name, 'eth0'), value };
}

/** An allow rule: peers (set ids or `cidr[^except,…]`), ports (`tcp/80`, `udp/5000-5010`, `tcp/0`). */
export function allow(
  peers: readonly string[],
  ports: readonly string[] = [],
  viaService = false,
): PolicyRule {
  return {
    origin: `test: ${[...peers, ...ports].join(' ') || 'all'}${viaService ? ' via service' : ''}`,
    peers: peers.map((p) => {
      if (!p.includes('/')) return { type: 'set', set: p };
      const [cidr = '', except = ''] = p.split('^');
      return { type: 'cidr', cidr, except: except === '' ? [] : except.split(',') };
    }),
    ports: ports.map((p) => {
      const [proto = '', range = ''] = p.split('/');
      const [lo = '0', hi = lo] = range.split('-');
      return {
        protocol: proto.toUpperCase() as PolicyRule['ports'][number]['protocol'],
        port: Number(lo),
        endPort: Number(hi),
      };
    }),
    viaService,
  };
}
