// What the renderers know about this node and the cluster plan: plain data, built once from
// configuration and the node identity.
export interface NodeContext {
  node: string;
  id: number;
  /** This node's pod subnet, e.g. 10.1.3.0/24. */
  podSubnet: string;
  /** Its gateway, e.g. 10.1.3.1. */
  gateway: string;
  /** Prefix length of the pod subnet (the gateway address is gateway/len). */
  podPrefixLength: number;
  /** The whole cluster pod CIDR (left alone by source NAT). */
  podCidr: string;
  serviceCidr: string;
  /** This node's underlay address for tunnels; '' disables the overlay. */
  tunnelEndpoint: string;
  vni: number;
  vxlanPort: number;
  mtu: number;
}

/** A peer node as the overlay needs it. */
export interface PeerNode {
  name: string;
  id: number;
  tunnelEndpoint: string;
  podSubnet: string;
}
