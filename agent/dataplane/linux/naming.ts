import { familyOf } from '../../../lib/cidr.ts';
// Names and addresses the Linux driver derives rather than stores. Every node derives the same
// overlay MAC and next-hop address from a node ID, so peers need nothing but IDs and underlay
// IPs (agent/README.md: overlay addressing is derived, not configured). Pure functions.

/** MAC of every host-side pod veth (each veth is its own L2 segment, so one MAC serves all). */
export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';

/** The pod's next hop: link-local, answered by a permanent neighbour entry inside the pod. */
export const POD_GATEWAY_V4 = '169.254.1.1';
/** The IPv6 link-local address the kernel gives a veth whose MAC is HOST_VETH_MAC (EUI-64). */
export const POD_GATEWAY_V6 = 'fe80::ecee:eeff:feee:eeee';

/** Names and markers of what the driver owns on a node; tests make them unique per run. */
export interface LinuxNames {
  /** VXLAN device per VNI: `<prefix><vni>`, at most 15 characters. */
  vxlanPrefix: string;
  /** Device carrying the node's pod-gateway addresses (a dummy, or a port-less bridge). */
  gatewayDevice: string;
  /** nftables table (family inet) holding netloom's chains. */
  natTable: string;
  /** nftables table (family ip) holding services (service-plan.ts). */
  serviceTable: string;
  /** nftables table (family inet) holding peer sets and pod policies (policy-plan.ts). */
  policyTable: string;
  /** Prefix of the alias written on host-side veths: `<prefix><item key>`. */
  aliasPrefix: string;
  /** Routing protocol number marking netloom's routes (ip route … proto N). */
  routeProto: number;
}

export const DEFAULT_NAMES: LinuxNames = {
  vxlanPrefix: 'nlvx',
  gatewayDevice: 'netloom0',
  natTable: 'netloom',
  serviceTable: 'netloom-svc',
  policyTable: 'netloom-policy',
  aliasPrefix: 'netloom:',
  routeProto: 78,
};

export function vxlanDevice(names: LinuxNames, vni: number): string {
  return `${names.vxlanPrefix}${vni}`;
}

// Derived addresses are shared with every driver (agent/items/addressing.ts).
export {
  MAX_OVERLAY_ID,
  overlayMac,
  overlayNextHop,
  parseOverlayMac,
  podMac,
} from '../../items/addressing.ts';

/** Whether an address or CIDR is IPv6. */
export const isV6 = (address: string): boolean => familyOf(address) === 6;

/** A CIDR as iproute2 prints a destination: host routes lose their /32, the default is 'default'. */
export function normalizeDst(dst: string, v6: boolean): string {
  if (dst === 'default') return v6 ? '::/0' : '0.0.0.0/0';
  return dst.includes('/') ? dst : `${dst}/${v6 ? 128 : 32}`;
}
