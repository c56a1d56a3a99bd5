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

// Overlay MACs, next hops and pod MACs are the Linux driver's too (agent/items/addressing.ts).
export { MAX_OVERLAY_ID, overlayMac, overlayNextHop, podMac } from '../../items/addressing.ts';

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
