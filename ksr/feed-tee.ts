// A feed passed through, with a view of each object kept on the side: how the leader's workers
// (the LoadBalancer allocator, the network registry, the network-status writer) see the objects a
// reflector already receives, without a second watch. The view follows the feed's relists the
// way the mirror does: what a relist did not see is dropped at its end, never at its start, so an
// object is never missing from the view while it exists (a worker must not release an address or
// retire a network because of a gap), and a relist that fails half way drops nothing.
import type { Feed, KubeObject } from './feed.ts';

/** `<namespace>/<name>` of an object, as the views key it (an absent part is empty). */
export const objectKey = (obj: KubeObject): string =>
  `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

export interface TeeHooks<V> {
  /** The view kept of an object; undefined: none is kept (a kept one is dropped). */
  viewOf(obj: KubeObject): V | undefined;
  /**
   * After an upsert or a remove (the inner feed has it already). `changed`: the key's view
   * differs from before (compared as JSON).
   */
  onEvent?(key: string, changed: boolean): void;
  /** After a relist ended and what it did not see was dropped. */
  onRelisted?(): void;
}

export class FeedTee<V> implements Feed {
  readonly kind: Feed['kind'];
  readonly folds: boolean;
  /** The first list is complete: absence from the view now means "not there". */
  listed = false;
  /** object key → its view. */
  protected readonly view = new Map<string, V>();
  private readonly inner: Feed;
  private readonly hooks: TeeHooks<V>;
  private seen: Set<string> | undefined;

  constructor(inner: Feed, hooks: TeeHooks<V>) {
    this.inner = inner;
    this.kind = inner.kind;
    this.folds = inner.folds;
    this.hooks = hooks;
  }

  upsert(obj: KubeObject): void {
    this.inner.upsert(obj);
    const key = objectKey(obj);
    this.seen?.add(key);
    const next = this.hooks.viewOf(obj);
    const prev = this.view.get(key);
    if (next !== undefined) this.view.set(key, next);
    else this.view.delete(key);
    this.hooks.onEvent?.(key, JSON.stringify(prev) !== JSON.stringify(next));
  }

  remove(obj: KubeObject): void {
    this.inner.remove(obj);
    const key = objectKey(obj);
    this.hooks.onEvent?.(key, this.view.delete(key));
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
    if (seen) for (const key of [...this.view.keys()]) if (!seen.has(key)) this.view.delete(key);
    this.listed = true;
    this.hooks.onRelisted?.();
  }
}
