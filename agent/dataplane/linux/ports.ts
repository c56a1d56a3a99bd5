// The narrow ports the Linux descriptors use: each names only the kernel operations one item
// family needs, in kernel terms (devices, routes, neighbours). kernel/ implements them with
// iproute2 and nft; fake/kernel.ts implements them in memory for the descriptors' unit tests.
import type { NftOp, NftTable } from './nft.ts';

/** Everything needed to wire one pod interface: a veth pair, the peer moved into the pod. */
export interface PodWiring {
  /** Item key, kept on the host side (link alias) so retrieve can tell which item a veth is. */
  key: string;
  hostIfName: string;
  /** Pod network namespace: a path or a /run/netns name. */
  netns: string;
  ifname: string;
  mtu: number;
  /** Pod-side MAC. */
  mac: string;
  /** CIDRs inside the pod. */
  addresses: string[];
  /** Install the default route(s) via the link-local gateway. */
  defaultRoute: boolean;
  /**
   * IPv4 prefixes routed inside the pod via the link-local gateway on this interface, `onlink`
   * (an extra interface: eth0 keeps the default route and the gateway's host route).
   */
  routes?: string[];
  /**
   * Host prefixes routed to the host side in the node's main table, marked as netloom's routes:
   * the pod's own addresses, installed in the same process that creates the pair (the route
   * items for them then find them in place: see descriptors/route.ts).
   */
  hostRoutes: string[];
  /** The table `hostRoutes` go into: the VRF's (absent: main). */
  hostTable?: RouteTable;
  /**
   * The host veth's MAC (absent: HOST_VETH_MAC). The vpp driver's veth form gives it another one:
   * there the pod's frames are for VPP's af_packet interface on the same veth, and a host side
   * with VPP's MAC would have the node's kernel take (and maybe forward) them too.
   */
  hostMac?: string;
  /**
   * The MAC the pod's permanent neighbour for the link-local gateway points to (absent:
   * HOST_VETH_MAC, the host veth itself; the vpp driver's veth form: VPP's interface).
   */
  gatewayMac?: string;
}

/** A host-side veth as the node's namespace shows it. */
export interface HostVeth {
  hostIfName: string;
  ifindex: number;
  /** The item key from the alias, when netloom created it. */
  key?: string;
  mtu: number;
  up: boolean;
  mac: string;
  /** ifindex of the peer inside its namespace. */
  peerIfIndex?: number;
}

/** The pod side of a wired interface, read inside the pod's namespace. */
export interface PodSide {
  ifname: string;
  ifindex: number;
  mac: string;
  mtu: number;
  up: boolean;
  /** Global-scope CIDRs. */
  addresses: string[];
  /** An IPv4 default route via the link-local gateway exists. */
  defaultRoute: boolean;
  /** The other IPv4 prefixes routed via the link-local gateway on this interface (CIDRs). */
  routes: string[];
}

export interface PodLinkPort {
  wire(w: PodWiring): Promise<void>;
  /** Deletes the host side (the pod side goes with it); succeeds when already gone. */
  unwire(hostIfName: string): Promise<void>;
  hostVeths(): Promise<HostVeth[]>;
  /** Undefined when the namespace or the interface is gone. */
  podSide(netns: string, ifname: string): Promise<PodSide | undefined>;
}

/** A routing table: main, local, or a numbered one (a VRF's, naming.ts vrfTable). */
export type RouteTable = 'main' | 'local' | number;

/** A route as the kernel holds it. */
export interface KernelRoute {
  dst: string;
  /** `unreachable` drops and answers the sender with an ICMP error; `blackhole` drops silently. */
  type: 'unicast' | 'blackhole' | 'unreachable' | 'local';
  table: RouteTable;
  dev?: string;
  gateway?: string;
  /** The gateway is reachable on `dev` without a covering subnet (overlay next hops). */
  onlink?: boolean;
}

export interface RoutePort {
  /** Creates or replaces the route with this destination and table. */
  replace(r: KernelRoute): Promise<void>;
  /** Deletes netloom's route to `dst` in `table`; succeeds when already gone. */
  remove(r: Pick<KernelRoute, 'dst' | 'table'>): Promise<void>;
  /** netloom's routes (marked with its protocol number), every table. */
  list(): Promise<KernelRoute[]>;
}

/** An address on the gateway device. */
export interface GatewayAddress {
  cidr: string;
  /** No prefix route in main (a custom network's gateway: main must not mix networks). */
  noprefixroute: boolean;
  /** The address's metric: netloom writes the VRF there (unused without a prefix route). */
  metric: number;
}

/** Addresses on the node's gateway device (created on first use). */
export interface AddressPort {
  add(a: GatewayAddress): Promise<void>;
  remove(cidr: string): Promise<void>;
  list(): Promise<GatewayAddress[]>;
}

/**
 * A policy rule netloom owns (IPv4): marked with netloom's protocol number. `lookup` sends the
 * matching packets to `table`; `unreachable` refuses them (ICMP error to the sender), the table
 * only naming the VRF the rule belongs to.
 */
export interface KernelRule {
  pref: number;
  action: 'lookup' | 'unreachable';
  table: number;
  /** Source prefix (`from`). */
  from?: string;
  /** Destination prefix (`to`). */
  to?: string;
  /** Input interface (`iif`; `lo` is the node's own traffic). */
  iif?: string;
  /** Packet mark under a mask (`fwmark M/mask`): replies of a VRF's source-NATed connections. */
  fwmark?: { mark: number; mask: number };
}

export interface RulePort {
  /** Adds the rules (one already present is fine). */
  add(rules: readonly KernelRule[]): Promise<void>;
  /** Deletes the rules; one already gone is fine. */
  remove(rules: readonly KernelRule[]): Promise<void>;
  /** Every IPv4 rule with netloom's protocol number (the caller picks its own by pref and table). */
  list(): Promise<KernelRule[]>;
}

export interface VxlanSpec {
  device: string;
  vni: number;
  localIp: string;
  port: number;
  mtu: number;
  mac: string;
}

export interface VxlanPort {
  create(spec: VxlanSpec): Promise<void>;
  remove(device: string): Promise<void>;
  /** netloom's VXLAN devices (by name prefix). */
  list(): Promise<VxlanSpec[]>;
}

/** A peer on an overlay device: neighbour (next hop → MAC) and FDB (MAC → underlay IP). */
export interface OverlayPeer {
  device: string;
  nextHop: string;
  mac: string;
  remoteIp: string;
}

export interface PeerState {
  neighbours: { device: string; ip: string; mac: string }[];
  fdb: { device: string; mac: string; dst: string }[];
}

export interface PeerPort {
  set(p: OverlayPeer): Promise<void>;
  /** Succeeds when the entries or the device are already gone. */
  remove(p: OverlayPeer): Promise<void>;
  list(devices: readonly string[]): Promise<PeerState>;
}

/** One source-NAT rule; `comment` carries the item key. */
export interface NatRule {
  source: string;
  except: string[];
  /** '' masquerades. */
  toAddress: string;
  comment: string;
  /**
   * A custom network's: the connection's conntrack mark is set to this (postrouting), and a
   * restore rule with the same comment (prerouting, before de-NAT) copies it onto the replies'
   * packet mark, so an fwmark rule routes them in the VRF's table.
   */
  ctMark?: number;
}

/** A prerouting rule `ct direction reply ct mark M meta mark set M`, commented with its item key. */
export interface NatRestore {
  mark: number;
  comment: string;
  handle: number;
}

export interface NatPort {
  /** Adds the rule, and its restore rule when it has a ctMark, in one transaction (creating table and chains when needed); returns the rule's handle. */
  add(rule: NatRule): Promise<number>;
  /** Swaps the rule for `rule` in one transaction; returns the new rule's handle. */
  replace(handle: number, rule: NatRule): Promise<number>;
  /** Succeeds when the rule or the table is already gone. */
  remove(handle: number): Promise<void>;
  /** Deletes every rule (masquerade and restore) commented `comment`, in one transaction; none is fine. */
  removeAll(comment: string): Promise<void>;
  list(): Promise<(NatRule & { handle: number })[]>;
  /** The restore rules (the prerouting chain). */
  restores(): Promise<NatRestore[]>;
}

/** Conntrack entries to delete: UDP flows to a removed backend, or to a frontend that had none. */
export interface ConntrackFilter {
  protocol: 'udp';
  /** The VIP; absent for a node port (any local address). */
  origDst?: string;
  origPortDst: number;
  /** The backend, as the reply's source; absent: every flow to the frontend. */
  replySrc?: string;
  replyPortSrc?: number;
}

/** One nft table netloom owns (services, policies): one transaction per item change. */
export interface NftTablePort {
  /**
   * Applies `ops` as one transaction (changes queued in the same tick may share one `nft -f`,
   * each still failing on its own); the table's fixed part goes first when not known intact.
   */
  apply(ops: readonly NftOp[]): Promise<void>;
  /** The table (undefined when absent); a damaged fixed part is rewritten by the next apply. */
  list(): Promise<{ table: NftTable | undefined; baseIntact: boolean }>;
}

/** The services table (see service-plan.ts), and conntrack for the flows a change strands. */
export interface ServicePort extends NftTablePort {
  /** Deletes matching conntrack entries; none matching is success. */
  flushConntrack(f: ConntrackFilter): Promise<void>;
}

/** Node-wide settings the data plane needs (IP forwarding). */
export interface NodePort {
  /** Idempotent; cheap after the first call. */
  ensureForwarding(): Promise<void>;
}

export interface LinuxPorts {
  links: PodLinkPort;
  routes: RoutePort;
  rules: RulePort;
  addresses: AddressPort;
  vxlan: VxlanPort;
  peers: PeerPort;
  nat: NatPort;
  services: ServicePort;
  /** The policy table (see policy-plan.ts): peer sets and per-pod chains. */
  policies: NftTablePort;
  node: NodePort;
}
