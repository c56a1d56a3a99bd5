// What the VPP driver derives instead of storing: interface tags (how retrieve maps VPP objects
// back to item keys), overlay MACs and next hops (identical to the Linux driver's scheme, so
// peers need only node IDs), pod MACs, and NAT44 load-balancing probabilities. Pure functions.
import { createHash } from 'node:crypto';

/** VPP tags are `string[64]`: at most 63 bytes. */
export const MAX_TAG = 63;

/** The tag that marks a VPP object as the item `key`; long keys keep a prefix and a hash. */
export function tagOf(key: string): string {
  if (Buffer.byteLength(key) <= MAX_TAG) return key;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  return `${key.slice(0, MAX_TAG - 13)}~${hash}`;
}

/** Maps found tags back to the desired keys they were made from (long keys are hashed). */
export function keysByTag(desired: Iterable<string>): Map<string, string> {
  return new Map([...desired].map((k) => [tagOf(k), k]));
}

const hex = (n: number): string => n.toString(16).padStart(2, '0');

/** Must equal agent/dataplane/linux/naming.ts overlayMac: 02:<vni 24 bits>:<node id 16 bits>. */
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

/** Must equal the Linux driver's overlayNextHop: 169.254.128.0/17 indexed by node ID. */
export function overlayNextHop(id: number): string {
  return `169.254.${128 + ((id >> 8) & 0x7f)}.${id & 0xff}`;
}

export const MAX_OVERLAY_ID = 0x7fff;

/** Pod-side MAC from the pod's first IPv4 address (0a:58 + address bytes), as the Linux driver. */
export function podMac(address: string): string {
  const ip = address.split('/')[0] ?? '';
  const bytes = ip.includes('.') ? ip.split('.').map(Number) : [0, 0, 0, 0];
  return ['0a', '58', ...bytes.map(hex)].join(':');
}

/**
 * NAT44 LB `probability` (u8) per backend. VPP draws `1 + rand % Σprobability` and walks the
 * prefix sums, so these are relative weights: kept as they are when they fit in 1..255, scaled
 * down otherwise; never 0, so no backend is silently dropped.
 */
export function probabilities(weights: readonly number[]): number[] {
  const max = Math.max(0, ...weights);
  const scale = max > 255 ? 255 / max : 1;
  return weights.map((w) => Math.min(255, Math.max(1, Math.round(w * scale))));
}
