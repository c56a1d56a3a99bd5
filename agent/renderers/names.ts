// Names the renderers derive: deterministic, so a restarted agent renders the same items.
import { createHash } from 'node:crypto';

/** Host-side interface name of a pod interface: 'nl' + 12 hex digits (15 characters at most). */
export function hostIfName(containerId: string, ifname: string): string {
  return 'nl' + createHash('sha256').update(`${containerId}/${ifname}`).digest('hex').slice(0, 12);
}
