// What the network-status writer must know of a pod that the reflected Pod value does not carry:
// the network-status annotation it has now (KSR reflects only the annotations netloom reads,
// and network-status is one it writes). PodStatusFeed wraps the pod feed (no second watch) and
// keeps, per pod that has the annotation, a short digest of its value: enough to tell "already
// says this" without holding 100k annotation texts. The pod's UID comes from the mirror.
import { createHash } from 'node:crypto';
import type { Feed } from '../feed.ts';
import { FeedTee } from '../feed-tee.ts';
import { NETWORK_STATUS_ANNOTATION } from './status.ts';

/** A short digest of an annotation value (16 base64 characters of SHA-1: 96 bits). */
export function digest(text: string): string {
  return createHash('sha1').update(text).digest('base64').slice(0, 16);
}

/**
 * The pod feed, passed through, keeping `<namespace>/<pod>` → digest of its network-status
 * annotation (absent: it has none). `onPod` after every event of a pod, changed or not: a pod
 * appearing or changing is what the writer looks at again (a relist's drops need no look: a pod
 * gone has nothing to write).
 */
export class PodStatusFeed extends FeedTee<string> {
  constructor(inner: Feed, onPod: (podKey: string) => void) {
    super(inner, {
      viewOf: (obj) => {
        const value = obj.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION];
        return typeof value === 'string' ? digest(value) : undefined;
      },
      onEvent: (key) => onPod(key),
    });
  }

  /** Whether the pod's annotation is `value` now (undefined: has none). */
  says(podKey: string, value: string | undefined): boolean {
    const d = this.view.get(podKey);
    return value === undefined ? d === undefined : d === digest(value);
  }

  /** What a patch wrote: no second patch before the watch shows it. */
  observe(podKey: string, value: string | null): void {
    if (value === null) this.view.delete(podKey);
    else this.view.set(podKey, digest(value));
  }
}
