// Feeds: how the objects of one Kubernetes resource become wanted keys in the mirror. Most kinds
// map one object to one key; EndpointSlices fold into one key per service. A relist is framed by
// beginRelist/endRelist: whatever was not seen in between is gone from Kubernetes.
// A converter failure is logged and counted; the key keeps its last good value.
import { errorMessage } from '../lib/errors.ts';
import type { K8sKind, Keyspace, KeyRef } from '../lib/keyspace.ts';
import type { Logger } from '../lib/logging.ts';
import type { Meta } from './convert/common.ts';
import { toJson } from './convert/common.ts';
import { convertSlice, mergeSlices, type SliceContribution } from './convert/endpoints.ts';
import type { KsrMetrics } from './metrics.ts';
import type { Mirror } from './mirror.ts';

export interface KubeObject {
  metadata?: Meta;
}

/** What a reflector drives. */
export interface Feed {
  readonly kind: K8sKind;
  /** Several objects fold into one key: a key's value is final only once a list is complete. */
  readonly folds: boolean;
  upsert(obj: KubeObject): void;
  remove(obj: KubeObject): void;
  beginRelist(): void;
  endRelist(): void;
  /** A relist that failed half way: forget what it saw, sweep nothing. */
  abortRelist(): void;
}

export interface FeedDeps {
  mirror: Mirror;
  keyspace: Keyspace;
  logger: Logger;
  metrics: KsrMetrics;
}

/** The key an object's metadata names, for kinds keyed by (namespace,) name. */
function refOf(kind: K8sKind, meta: Meta | undefined): KeyRef {
  const name = meta?.name ?? '';
  if (kind === 'namespace' || kind === 'node') return { kind, name };
  return { kind, namespace: meta?.namespace ?? '', name };
}

function describe(meta: Meta | undefined): string {
  return meta?.namespace ? `${meta.namespace}/${meta.name ?? '?'}` : (meta?.name ?? '?');
}

/**
 * True when the wanted keys of `kind` are exactly those of `keys` that are wanted: then no key
 * outside `keys` is left to sweep, and the scan of every wanted key (all kinds share the mirror,
 * so 100k keys per feed at 100k objects) is skipped.
 */
function allWanted(mirror: Mirror, kind: K8sKind, keys: Iterable<string>): boolean {
  let wanted = 0;
  for (const key of keys) if (mirror.has(key)) wanted++;
  return wanted === mirror.count(kind);
}

/** One object, one key. */
export class ObjectFeed<T extends KubeObject> implements Feed {
  readonly kind: K8sKind;
  readonly folds = false;
  private readonly convert: (obj: T) => object;
  private readonly deps: FeedDeps;
  private seen: Set<string> | undefined;

  constructor(kind: K8sKind, convert: (obj: T) => object, deps: FeedDeps) {
    this.kind = kind;
    this.convert = convert;
    this.deps = deps;
  }

  private keyOf(obj: KubeObject): string | undefined {
    try {
      return this.deps.keyspace.key(refOf(this.kind, obj.metadata));
    } catch (err) {
      this.fail(obj, 'key', err);
      return undefined;
    }
  }

  private fail(obj: KubeObject, reason: string, err: unknown): void {
    this.deps.metrics.errors.inc({ kind: this.kind, reason });
    this.deps.logger.warn(
      { kind: this.kind, object: describe(obj.metadata), reason, err: errorMessage(err) },
      'object not reflected',
    );
  }

  upsert(obj: KubeObject): void {
    const key = this.keyOf(obj);
    if (key === undefined) return;
    this.seen?.add(key);
    let value: string;
    try {
      value = toJson(this.convert(obj as T));
    } catch (err) {
      this.fail(obj, 'convert', err);
      return;
    }
    this.deps.mirror.set(this.kind, key, value);
  }

  remove(obj: KubeObject): void {
    const key = this.keyOf(obj);
    if (key !== undefined) this.deps.mirror.set(this.kind, key, undefined);
  }

  beginRelist(): void {
    this.seen = new Set();
  }

  abortRelist(): void {
    this.seen = undefined;
  }

  endRelist(): void {
    const seen = this.seen;
    this.seen = undefined;
    if (!seen || allWanted(this.deps.mirror, this.kind, seen)) return;
    const gone = [...this.deps.mirror.keysUnder(this.deps.keyspace.prefix(this.kind))].filter(
      (k) => !seen.has(k),
    );
    for (const key of gone) this.deps.mirror.set(this.kind, key, undefined);
  }
}

/** EndpointSlices, folded into one `endpoints` key per service. */
export class EndpointsFeed implements Feed {
  readonly kind = 'endpoints' as const;
  readonly folds = true;
  private readonly deps: FeedDeps;
  /** slice "<ns>/<name>" → its contribution and the key it feeds (null: it feeds none). */
  private readonly slices = new Map<string, { c: SliceContribution; key: string } | null>();
  /** endpoints key → the slices feeding it. */
  private readonly byService = new Map<string, Set<string>>();
  private seen: Set<string> | undefined;

  constructor(deps: FeedDeps) {
    this.deps = deps;
  }

  private fail(id: string, reason: string, err: unknown): void {
    this.deps.metrics.errors.inc({ kind: this.kind, reason });
    this.deps.logger.warn(
      { kind: this.kind, object: id, reason, err: errorMessage(err) },
      'EndpointSlice not reflected',
    );
  }

  private recompute(key: string, c: SliceContribution): void {
    const ids = this.byService.get(key) ?? new Set<string>();
    const parts = [...ids].map((id) => this.slices.get(id)?.c).filter((p): p is SliceContribution => !!p);
    if (ids.size === 0) this.byService.delete(key);
    this.deps.mirror.set(
      this.kind,
      key,
      parts.length === 0 ? undefined : toJson(mergeSlices(c.namespace, c.service, parts)),
    );
  }

  /** Replaces (undefined: drops) a slice and recomputes the one or two services it touches. */
  private replace(id: string, next: { c: SliceContribution; key: string } | null | undefined): void {
    const prev = this.slices.get(id);
    if (next === undefined) this.slices.delete(id);
    else this.slices.set(id, next);
    if (prev && prev.key !== next?.key) this.byService.get(prev.key)?.delete(id);
    if (next) {
      let ids = this.byService.get(next.key);
      if (!ids) this.byService.set(next.key, (ids = new Set()));
      ids.add(id);
      this.recompute(next.key, next.c);
    }
    if (prev && prev.key !== next?.key) this.recompute(prev.key, prev.c);
  }

  upsert(obj: KubeObject): void {
    const id = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    this.seen?.add(id);
    let next: { c: SliceContribution; key: string } | null = null;
    try {
      const c = convertSlice(obj as never);
      if (c)
        next = {
          c,
          key: this.deps.keyspace.key({ kind: 'endpoints', namespace: c.namespace, name: c.service }),
        };
    } catch (err) {
      this.fail(id, 'convert', err);
      return;
    }
    this.replace(id, next);
  }

  remove(obj: KubeObject): void {
    const id = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    if (this.slices.has(id)) this.replace(id, undefined);
  }

  beginRelist(): void {
    this.seen = new Set();
  }

  abortRelist(): void {
    this.seen = undefined;
  }

  endRelist(): void {
    const seen = this.seen;
    this.seen = undefined;
    if (!seen) return;
    for (const id of [...this.slices.keys()]) if (!seen.has(id)) this.replace(id, undefined);
    // Keys no slice feeds (none should exist): a guard against drift.
    if (allWanted(this.deps.mirror, this.kind, this.byService.keys())) return;
    const orphans = [...this.deps.mirror.keysUnder(this.deps.keyspace.prefix(this.kind))].filter(
      (k) => !this.byService.has(k),
    );
    for (const key of orphans) this.deps.mirror.set(this.kind, key, undefined);
  }
}
