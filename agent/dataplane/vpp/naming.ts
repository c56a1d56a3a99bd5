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

/**
 * The MAC of every af_packet interface netloom makes (the veth form of pod interfaces). Fixed,
 * not random, so a pod's permanent neighbour for its link-local gateway can name it before VPP
 * has the interface (the pod side is wired first) and still does after VPP or the agent
 * restarts; one MAC serves every pod because each veth is its own L2 segment (as the Linux
 * driver's HOST_VETH_MAC). Locally administered unicast, `02:6e:6c` ("nl"), away from VPP's
 * own random `02:fe:…` MACs.
 */
export const AF_PACKET_MAC = '02:6e:6c:00:00:01';

/**
 * The MAC of the kernel's end of a veth-form pod interface: derived from the item key, locally
 * administered (`06:6e:6c:…`), never AF_PACKET_MAC (first byte differs) nor a pod MAC
 * (`0a:58:…`). It must differ from VPP's: a frame the pod sends to VPP's MAC reaches the
 * kernel's end too, and with the same MAC the node's kernel would take it as its own.
 */
export function hostVethMac(key: string): string {
  const hash = createHash('sha256').update(key).digest();
  return ['06', '6e', '6c', ...[0, 1, 2].map((i) => hash[i]!.toString(16).padStart(2, '0'))].join(':');
}

/**
 * The address cnat gives a pod's connection that a Service sent back to that pod (hairpin), so
 * that the pod's reply comes back through VPP. cnat takes its source-NAT address's /32 for
 * itself and drops whatever is sent to it outside a session (docs/adr/0018), so it must be an
 * address nothing else uses: link-local, next to the pods' gateway 169.254.1.1, which pods
 * reach through VPP like any address off their link.
 */
export const HAIRPIN_SNAT_ADDRESS = '169.254.1.2';
