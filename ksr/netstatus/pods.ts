// What the network-status writer must know of a pod that the reflected Pod value does not carry:
// the network-status annotation it has now (KSR reflects only the annotations netloom reads,
// and network-status is one it writes). PodStatusFeed wraps the pod feed (no second watch) and
// keeps, per pod that has the annotation, a short digest of its value: enough to tell "already
// says this" without holding 100k annotation texts. The pod's UID comes from the mirror.
import { createHash } from 'node:crypto';
import type { Feed, KubeObject } from '../feed.ts';
import { NETWORK_STATUS_ANNOTATION } from './status.ts';

/** A short digest of an annotation value (16 base64 characters of SHA-1: 96 bits). */
export function digest(text: string): string {
  return createHash('sha1').update(text).digest('base64').slice(0, 16);
}

export class PodStatusFeed implements Feed {
  readonly kind: Feed['kind'];
  readonly folds: boolean;
  /** The first list is complete. */
  listed = false;
  /** `<namespace>/<pod>` → digest of its network-status annotation (absent: it has none). */
  private readonly current = new Map<string, string>();
  private readonly inner: Feed;
  private readonly onPod: (podKey: string) => void;
  private seen: Set<string> | undefined;

  constructor(inner: Feed, onPod: (podKey: string) => void) {
    this.inner = inner;
    this.kind = inner.kind;
    this.folds = inner.folds;
    this.onPod = onPod;
  }

  /** Whether the pod's annotation is `value` now (undefined: has none). */
  says(podKey: string, value: string | undefined): boolean {
    const d = this.current.get(podKey);
    return value === undefined ? d === undefined : d === digest(value);
  }

  /** What a patch wrote: no second patch before the watch shows it. */
  observe(podKey: string, value: string | null): void {
    if (value === null) this.current.delete(podKey);
    else this.current.set(podKey, digest(value));
  }

  upsert(obj: KubeObject): void {
    this.inner.upsert(obj);
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    this.seen?.add(key);
    const value = obj.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION];
    if (typeof value === 'string') this.current.set(key, digest(value));
    else this.current.delete(key);
    this.onPod(key);
  }

  remove(obj: KubeObject): void {
    this.inner.remove(obj);
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    this.current.delete(key);
    this.onPod(key);
  }

  beginRelist(): void {
    this.inner.beginRelist();
    this.seen = new Set();
  }

  abortRelist(): void {
    this.inner.abortRelist();
    this.seen = undefined;
  }

  endRelist(): void {
    this.inner.endRelist();
    const seen = this.seen;
    this.seen = undefined;
    if (seen) for (const key of [...this.current.keys()]) if (!seen.has(key)) this.current.delete(key);
    this.listed = true;
  }
}
