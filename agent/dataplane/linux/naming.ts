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
  /** Prefix of the alias written on host-side veths: `<prefix><item key>`. */
  aliasPrefix: string;
  /** Routing protocol number marking netloom's routes (ip route … proto N). */
  routeProto: number;
}

export const DEFAULT_NAMES: LinuxNames = {
  vxlanPrefix: 'nlvx',
  gatewayDevice: 'netloom0',
  natTable: 'netloom',
  aliasPrefix: 'netloom:',
  routeProto: 78,
};

export function vxlanDevice(names: LinuxNames, vni: number): string {
  return `${names.vxlanPrefix}${vni}`;
}

const hex = (n: number): string => n.toString(16).padStart(2, '0');

/** The overlay MAC of node `id` on `vni`: locally administered, 02:<vni 24 bits>:<id 16 bits>. */
export function overlayMac(vni: number, id: number): string {
  return [
    '02',
    hex((vni >> 16) & 0xff),
    hex((vni >> 8) & 0xff),
    hex(vni & 0xff),
    hex((id >> 8) & 0xff),
    hex(id & 0xff),
  ].join(':');
}

/** The VNI and node ID an overlay MAC encodes, or undefined for a MAC of another shape. */
export function parseOverlayMac(mac: string): { vni: number; id: number } | undefined {
  const b = mac
    .toLowerCase()
    .split(':')
    .map((x) => parseInt(x, 16));
  if (b.length !== 6 || b.some((x) => Number.isNaN(x)) || b[0] !== 0x02) return undefined;
  return { vni: (b[1]! << 16) | (b[2]! << 8) | b[3]!, id: (b[4]! << 8) | b[5]! };
}

/** Largest node ID the overlay next-hop scheme can address (169.254.128.0/17). */
export const MAX_OVERLAY_ID = 0x7fff;

/** The next hop for a peer's pod subnet over the overlay: 169.254.128.0/17 indexed by node ID. */
export function overlayNextHop(id: number): string {
  return `169.254.${128 + ((id >> 8) & 0x7f)}.${id & 0xff}`;
}

/** A deterministic pod-side MAC from the pod's first address (0a:58 + IPv4 bytes, as OVN does). */
export function podMac(address: string): string {
  const ip = address.split('/')[0] ?? '';
  if (ip.includes('.')) return ['0a', '58', ...ip.split('.').map((x) => hex(Number(x)))].join(':');
  // IPv6: the last 32 bits.
  const groups = expandV6(ip);
  const tail = groups.slice(6).flatMap((g) => [(g >> 8) & 0xff, g & 0xff]);
  return ['0a', '58', ...tail.map(hex)].join(':');
}

function expandV6(ip: string): number[] {
  const [head = '', tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const fill = ip.includes('::') ? Array<string>(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16) || 0);
}

/** Whether an address or CIDR is IPv6. */
export const isV6 = (address: string): boolean => address.includes(':');

/** A CIDR as iproute2 prints a destination: host routes lose their /32, the default is 'default'. */
export function normalizeDst(dst: string, v6: boolean): string {
  if (dst === 'default') return v6 ? '::/0' : '0.0.0.0/0';
  return dst.includes('/') ? dst : `${dst}/${v6 ? 128 : 32}`;
}
