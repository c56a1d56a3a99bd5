// Item values: what each item family means, independent of any data plane. A driver maps each
// family onto its own objects (Linux: veth, ip route, vxlan device + fdb, nft; VPP: TAP, FIB
// route, VXLAN tunnel, NAT44-ED static mappings, ACLs). Values are plain JSON (the agent's API
// shows them verbatim; equality is JSON equality unless a descriptor says otherwise).
// Addresses are strings: IPs as '10.1.3.5', prefixes as CIDRs '10.1.3.0/24'. VRF 0 is the
// default table.

/** A VRF for a custom network (VRF 0, the default, always exists and is never an item). */
export interface Vrf {
  id: number;
  /** The network it belongs to, for names and logs. */
  network: string;
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
}

export interface PolicyRule {
  action: 'allow' | 'deny';
  /** undefined: any protocol. */
  protocol?: Protocol | 'ICMP';
  /** Peer prefixes; empty means any peer. */
  peers: string[];
  /** Prefixes carved out of `peers`. */
  except: string[];
  /** Peer ports (egress: destination, ingress: the pod's own port); empty means any. */
  ports: { port: number; endPort: number }[];
}

/** The compiled rules of one pod interface: first match wins, then the default. */
export interface PodPolicy {
  namespace: string;
  pod: string;
  /** Item key of the pod interface the rules apply to. */
  interface: string;
  podIps: string[];
  ingress: { rules: PolicyRule[]; default: 'allow' | 'deny' };
  egress: { rules: PolicyRule[]; default: 'allow' | 'deny' };
}
