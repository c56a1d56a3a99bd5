// What the VPP driver derives instead of storing: interface tags (how retrieve maps VPP objects
// back to item keys), overlay MACs and next hops (identical to the Linux driver's scheme, so
// peers need only node IDs), pod MACs, and NAT44 load-balancing probabilities. Pure functions.
import { createHash } from 'node:crypto';
import { hostAt } from '../../../lib/cidr.ts';

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
 * NAT44 LB `probability` (u8) per backend, from relative weights. VPP (nat44_ed.c) keeps each
 * backend's prefix sum of the probabilities in a **u8** and draws `1 + random_u32() % (the last
 * prefix)`, walking the prefixes by binary search; so:
 * - the sum must stay at most 255: past it the prefixes wrap, the walk stops on the first
 *   backend, and every connection goes there (seen in the lab with four backends of 255);
 * - the segments should be wide: `random_u32` is a linear congruential generator
 *   (vppinfra/random.h) whose low bits repeat with a short period, so a small sum (four
 *   backends of 1: `% 4`) reads only those bits and lands on half the backends (seen in the lab:
 *   one of two local endpoints never answered a node port).
 * So the weights are scaled to a sum as close to 255 as the rounding down allows, never 0 (no
 * backend silently dropped). More than 255 backends cannot fit (each needs at least 1): they all
 * get 1 and VPP's sum wraps (a NAT44-ED limit, stated in ../README.md).
 */
export function probabilities(weights: readonly number[]): number[] {
  if (weights.length > 255) return weights.map(() => 1);
  const w = weights.map((x) => (Number.isFinite(x) && x > 0 ? x : 0));
  const total = w.reduce((a, b) => a + b, 0);
  const p = w.map((x) =>
    total > 0 ? Math.max(1, Math.floor((x * 255) / total)) : Math.floor(255 / w.length),
  );
  // Rounding 0 up to 1 may overshoot: take it back from the largest.
  for (let sum = p.reduce((a, b) => a + b, 0); sum > 255; sum--) {
    const i = p.indexOf(Math.max(...p));
    p[i]!--;
  }
  return p;
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

/**
 * The address NAT44-ED gives the outside world's clients of a Service (twice-NAT), from the
 * node's own pod block: its last host. The other nodes route the block back through the VXLAN
 * tunnels, so a remote backend's reply returns through this node's NAT (the uplink's address
 * would come back straight over the underlay, outside the session); the agent reserves it from
 * IPAM on VPP nodes (agent/assemble.ts).
 */
export function serviceMasqueradeAddress(block: string): string {
  return hostAt(block, -2);
}
