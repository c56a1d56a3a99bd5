// What the network registry needs to know of a NetworkAttachmentDefinition, read from the raw
// object the netattach reflector already receives (no second watch): what it defines
// (lib/netattach/definition.ts), and what a finalizer patch needs (uid, resourceVersion, the
// finalizer list, whether it is being deleted). NadFeed wraps the netattach feed and keeps these
// for every NAD; NADs are few (one per network), so all of them are kept.
import { networkDefinition, type NetworkDefinition } from '../../lib/netattach/definition.ts';
import type { Meta } from '../convert/common.ts';
import type { Feed, KubeObject } from '../feed.ts';

/** The leader's finalizer on a NAD that defines a netloom network. */
export const NETWORK_FINALIZER = 'netloom.io/network-in-use';

export interface NadState {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  /** creationTimestamp: older networks win a conflict, whichever leader decides. */
  created: string;
  finalizers: string[];
  terminating: boolean;
  def: NetworkDefinition;
}

interface RawNad extends KubeObject {
  metadata?: Meta & { creationTimestamp?: string; resourceVersion?: string; finalizers?: string[] | null };
  spec?: { config?: unknown };
}

/** `<namespace>/<name>`: how networks/, network-ids/ and attachments/ name a NAD. */
export const ownerOf = (n: { namespace: string; name: string }): string => `${n.namespace}/${n.name}`;

export function nadStateOf(obj: KubeObject): NadState | undefined {
  const { metadata: meta, spec } = obj as RawNad;
  if (!meta?.name || !meta.namespace) return undefined;
  const annotations = meta.annotations ?? {};
  const config = spec?.config;
  const def: NetworkDefinition =
    config === undefined || config === null || typeof config === 'string'
      ? networkDefinition({ namespace: meta.namespace, name: meta.name, config: config ?? '', annotations })
      : { kind: 'invalid', reason: 'spec.config is not a string' };
  return {
    namespace: meta.namespace,
    name: meta.name,
    uid: meta.uid ?? '',
    resourceVersion: meta.resourceVersion ?? '',
    created: meta.creationTimestamp ?? '',
    finalizers: (meta.finalizers ?? []).filter((f): f is string => typeof f === 'string'),
    terminating: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
    def,
  };
}

/**
 * The netattach feed, passed through, with the registry's view kept on the side. A relist removes
 * only what it did not see by its end, so a NAD is never missing while it exists (the registry
 * must not retire a network because of a gap).
 */
export class NadFeed implements Feed {
  readonly kind: Feed['kind'];
  readonly folds: boolean;
  readonly nads = new Map<string, NadState>();
  /** The first list is complete (or the CRD is known to be absent). */
  listed = false;
  private readonly inner: Feed;
  private readonly onChange: () => void;
  private seen: Set<string> | undefined;

  constructor(inner: Feed, onChange: () => void) {
    this.inner = inner;
    this.kind = inner.kind;
    this.folds = inner.folds;
    this.onChange = onChange;
  }

  upsert(obj: KubeObject): void {
    this.inner.upsert(obj);
    const next = nadStateOf(obj);
    if (!next) return;
    const key = ownerOf(next);
    this.seen?.add(key);
    const prev = this.nads.get(key);
    this.nads.set(key, next);
    if (JSON.stringify(prev) !== JSON.stringify(next)) this.onChange();
  }

  remove(obj: KubeObject): void {
    this.inner.remove(obj);
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    if (this.nads.delete(key)) this.onChange();
  }

  /** What a patch answered: the registry need not wait for the watch to see it. */
  observe(obj: KubeObject): void {
    const s = nadStateOf(obj);
    if (s) this.nads.set(ownerOf(s), s);
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
    if (seen) for (const key of [...this.nads.keys()]) if (!seen.has(key)) this.nads.delete(key);
    this.listed = true;
    this.onChange();
  }
}
