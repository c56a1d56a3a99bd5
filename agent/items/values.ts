// Item values: what each item family means, independent of any data plane. A driver maps each
// family onto its own objects (Linux: veth, ip route, vxlan device + fdb, nft; VPP: TAP, FIB
// route, VXLAN tunnel, NAT44-ED static mappings, ACLs). Values are plain JSON (the agent's API
// shows them verbatim; equality is JSON equality unless a descriptor says otherwise).
// Addresses are strings: IPs as '10.1.3.5', prefixes as CIDRs '10.1.3.0/24'. VRF 0 is the
// default table.

/** A VRF for a custom network (VRF 0, the default, always exists and is never an item). */
export interface Vrf {
  id: number;
  /** The network it belongs to (`<namespace>/<name>`), for names and logs. */
  network: string;
  /** The network's subnets: what the VRF's pods send from (a driver may select the VRF by them). */
  subnets: string[];
}

/**
 * One interface of one pod: created in the pod's network namespace with its addresses, a
 * default route via `gateway`, and a host/data-plane side named `hostIfName`.
 */
export interface PodInterface {
  namespace: string;
  pod: string;
  containerId: string;
  /** Path of the pod's network namespace (/var/run/netns/…, /proc/<pid>/ns/net). */
  netns: string;
  /** Name inside the pod (eth0, net1…). */
  ifname: string;
  /** Name on the node side, at most 15 characters, unique on the node. */
  hostIfName: string;
  mtu: number;
  vrf: number;
  /** Addresses inside the pod, as CIDRs ('10.1.3.5/32'). */
  addresses: string[];
  /** The pod's next hop (this node's pod gateway in the VRF); '' for no default route. */
  gateway: string;
  /** Fixed MAC of the pod side, '' to let the data plane choose. */
  mac: string;
  /**
   * Prefixes routed inside the pod through this interface's next hop besides the default route
   * (an extra interface without a default route reaches its network this way). Absent: none.
   */
  routes?: string[];
}

/**
 * What a driver reports for an applied pod interface (its create/retrieve metadata, or the part
 * of it every driver shares): the same on every data plane, so the CNI result is built once.
 */
export interface WiredPodInterface {
  /** The node-side end: the host veth on Linux, VPP's interface on VPP. */
  hostIfName: string;
  hostMac: string;
  /** The pod side's MAC. */
  mac: string;
  mtu: number;
  /** The pod's IPv4 next hop as installed ('' without a default route). */
  gateway: string;
}

/** An address this node's data plane answers on in a VRF. */
export interface Address {
  vrf: number;
  /** CIDR: the address and the prefix it serves ('10.1.3.1/24'). */
  address: string;
  /** Why it exists; a driver picks the device that carries it from this. */
  role: 'pod-gateway';
}

/** Where a route sends traffic. `interface` is an item key (pod-interface/…, tunnel/…). */
export type NextHop =
  { type: 'interface'; interface: string; gateway?: string } | { type: 'host' } | { type: 'drop' };

export interface Route {
  vrf: number;
  /** CIDR. */
  dst: string;
  via: NextHop;
}

/** This node's end of the overlay for one VNI. */
export interface Overlay {
  vni: number;
  vrf: number;
  /** This node's underlay address (VXLAN source). */
  localIp: string;
  /** This node's ID: drivers derive overlay MACs/addresses from IDs, identically on every node. */
  localId: number;
  /** UDP destination port (4789). */
  port: number;
  mtu: number;
}

/** The tunnel from this node to one peer on one VNI. */
export interface Tunnel {
  vni: number;
  vrf: number;
  peer: string;
  peerId: number;
  /** The peer's underlay address (its tunnel endpoint). */
  remoteIp: string;
  localIp: string;
  port: number;
}

/** Masquerade traffic from `source` to anywhere outside `except` when it leaves the node. */
export interface SourceNat {
  vrf: number;
  /** CIDR of the sources (this node's pod subnet). */
  source: string;
  /** Destinations left untouched (cluster pod CIDR, service CIDR…). */
  except: string[];
  /** Address to translate to; '' masquerades to the outgoing interface's address. */
  toAddress: string;
}

// ---- ready for the service and policy renderers (later issues) ----

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServiceBackend {
  ip: string;
  port: number;
  /** Relative share of new connections. */
  weight: number;
  /** The backend runs on this node (for Local traffic policies). */
  local: boolean;
}

/**
 * One frontend (VIP, protocol, port) load-balanced to backends. The renderer has applied the
 * Service's traffic policies already: `backends` are exactly the ones this frontend may use.
 */
export interface Service {
  namespace: string;
  name: string;
  portName: string;
  vrf: number;
  kind: 'cluster-ip' | 'external-ip' | 'load-balancer' | 'node-port';
  /** The VIP, or 'node' for a node port (every address of the node). */
  vip: string;
  protocol: Protocol;
  port: number;
  backends: ServiceBackend[];
  /** What a new connection meets when `backends` is empty: Cluster policy rejects, Local drops. */
  noBackends: 'reject' | 'drop';
  /**
   * Masquerade new connections whose source is outside these prefixes ([]: every connection;
   * null: never, the client's address is kept). A connection from a backend to itself (hairpin)
   * is masqueraded whatever this says.
   */
  masqueradeOutside: string[] | null;
  /** ClientIP affinity timeout in seconds; 0 for none. */
  affinitySeconds: number;
  /**
   * `loadBalancerSourceRanges` of a load-balancer frontend: only clients inside these prefixes
   * reach it, every other new connection is dropped. Absent: every client. Present and empty:
   * no client (the Service named ranges, none of them usable here).
   */
  sourceRanges?: string[];
  /**
   * `externalTrafficPolicy: Local` as kube-proxy applies it to clients inside the cluster: a
   * connection from these prefixes (the pod CIDR, the custom networks), or from the node itself
   * (masqueraded), is served as under the Cluster policy, by `backends` here; `backends` above
   * (this node's own) serve everyone else, who keep their address. Absent: `backends` serve all.
   */
  inCluster?: { sources: string[]; backends: ServiceBackend[] };
}

/**
 * The addresses a policy peer selects (pods picked by namespace and pod selectors; a
 * hostNetwork pod counts as its node's address), shared by every rule that names it. Rules refer
 * to a set by `id`, so a pod label change or a new pod changes set members, never rules.
 */
export interface PeerSet {
  /** Stable name derived from what selects the members (see renderers/policy). */
  id: string;
  /** Host addresses, no prefix length; sorted, unique. */
  addresses: string[];
}

/** Who a rule allows on the other side of the connection. */
export type PolicyPeer =
  /** The members of a PeerSet item (`peer-set/<id>`). */
  | { type: 'set'; set: string }
  /** An ipBlock: `cidr` minus the `except` prefixes. */
  | { type: 'cidr'; cidr: string; except: string[] };

/** A port or port range of one protocol; `port: 0` means every port of that protocol. */
export interface PolicyPort {
  protocol: Protocol;
  port: number;
  /** Last port of the range (= port for a single port). */
  endPort: number;
}

/** One allow rule: a connection matches when a peer and a port match (empty lists match all). */
export interface PolicyRule {
  /** Which NetworkPolicy (or isolation annotation) and which of its rules this is, for explain. */
  origin: string;
  peers: PolicyPeer[];
  ports: PolicyPort[];
  /**
   * Only connections that reached the pod through a Service (the packet was DNATed): Contrail's
   * `isolation.service: "false"`, which opens a namespace's Services but not its pods.
   */
  viaService: boolean;
}

/**
 * What one pod interface allows, per direction. Not isolated: everything (the rules are moot).
 * Isolated: only connections matching a rule, replies of allowed connections, and, for ingress,
 * connections from the pod's own node (kubelet probes) — the Kubernetes semantics; there is no
 * deny rule in NetworkPolicy v1. Directions are judged after Service translation.
 */
export interface PodPolicy {
  namespace: string;
  pod: string;
  /** Item key of the pod interface the rules apply to. */
  interface: string;
  podIps: string[];
  ingress: { isolated: boolean; rules: PolicyRule[] };
  egress: { isolated: boolean; rules: PolicyRule[] };
}
