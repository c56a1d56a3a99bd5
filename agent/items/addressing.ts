import { addressOf, ipToBigInt, isIp } from '../../lib/cidr.ts';
// Addresses every data plane derives the same way, so peers need only each other's node IDs:
// the overlay MAC and next hop of a node, and a pod's MAC. Part of the item vocabulary because
// two drivers (and nodes running different drivers) must agree on them bit for bit.

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

/** A deterministic pod-side MAC from the pod's first address (0a:58 + IPv4 bytes, as OVN does; IPv6: its last 32 bits). */
export function podMac(address: string): string {
  const ip = addressOf(address);
  const low = isIp(ip) ? Number(ipToBigInt(ip) & 0xffffffffn) : 0;
  return ['0a', '58', ...[24, 16, 8, 0].map((shift) => hex((low >>> shift) & 0xff))].join(':');
}
