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
  /** Routing protocol number marking netloom's routes and rules (ip route|rule … proto N). */
  routeProto: number;
  /**
   * VRF N (a custom network) is kernel routing table `vrfTableBase + N`, selected by policy
   * rules (descriptors/vrf.ts): the kernel here has no VRF devices.
   */
  vrfTableBase: number;
  /** Priority of the rules that select a VRF's table; `vrfRulePref + 1` holds its guards. */
  vrfRulePref: number;
}

export const DEFAULT_NAMES: LinuxNames = {
  vxlanPrefix: 'nlvx',
  gatewayDevice: 'netloom0',
  natTable: 'netloom',
  serviceTable: 'netloom-svc',
  policyTable: 'netloom-policy',
  aliasPrefix: 'netloom:',
  routeProto: 78,
  vrfTableBase: 1000,
  vrfRulePref: 1000,
};

/** The largest routing table ID the kernel takes (u32). */
const MAX_TABLE = 2 ** 32 - 1;

/** The routing table of VRF `vrf` ('main' for VRF 0). */
export function vrfTable(names: LinuxNames, vrf: number): 'main' | number {
  return vrf === 0 ? 'main' : names.vrfTableBase + vrf;
}

/** The VRF a numbered table belongs to, when it is in netloom's range; else undefined. */
export function vrfOfTable(names: LinuxNames, table: number): number | undefined {
  const vrf = table - names.vrfTableBase;
  // default, main and local are never a VRF's, whatever the base (vrfInRange refuses them).
  const reserved = table >= 253 && table <= 255;
  return Number.isInteger(vrf) && vrf >= 1 && table <= MAX_TABLE && !reserved ? vrf : undefined;
}

/**
 * The conntrack and packet mark of VRF N's source-NATed connections: N in the upper 16 bits,
 * matched under SNAT_MARK_MASK, so the low bits (services' 0x4000, kube's 0x8000) stay free.
 */
export const SNAT_MARK_MASK = 0xffff0000;
/** The largest VRF whose source NAT the mark can carry. */
export const MAX_SNAT_VRF = 0xffff;

export function snatMark(vrf: number): number {
  return (vrf * 0x10000) >>> 0;
}

/** The routing table `ip rule … lookup main` names (ip -j prints it as "main"). */
export const MAIN_TABLE = 254;

/** Whether VRF `vrf` has a table netloom can use (a u32 past the base, never main/local/default). */
export function vrfInRange(names: LinuxNames, vrf: number): boolean {
  if (!Number.isInteger(vrf) || vrf < 0) return false;
  if (vrf === 0) return true;
  const table = names.vrfTableBase + vrf;
  return table <= MAX_TABLE && !(table >= 253 && table <= 255);
}

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
