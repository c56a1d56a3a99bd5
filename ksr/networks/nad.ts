// What the network registry needs to know of a NetworkAttachmentDefinition, read from the raw
// object the netattach reflector already receives (no second watch): what it defines
// (lib/netattach/definition.ts), and what a finalizer patch needs (uid, resourceVersion, the
// finalizer list, whether it is being deleted). NadFeed wraps the netattach feed and keeps these
// for every NAD; NADs are few (one per network), so all of them are kept.
import { networkDefinition, type NetworkDefinition } from '../../lib/netattach/definition.ts';
import type { Meta } from '../convert/common.ts';
import type { Feed, KubeObject } from '../feed.ts';
import { FeedTee } from '../feed-tee.ts';

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
 * The netattach feed, passed through, with the registry's view kept on the side (ksr/feed-tee.ts:
 * a NAD is never missing from `nads` while it exists, so the registry does not retire a network
 * because of a gap). `onChange` when a view changed and after every relist.
 */
export class NadFeed extends FeedTee<NadState> {
  constructor(inner: Feed, onChange: () => void) {
    super(inner, {
      viewOf: nadStateOf,
      onEvent: (_key, changed) => {
        if (changed) onChange();
      },
      onRelisted: onChange,
    });
  }

  /** `<namespace>/<name>` → every NAD (`listed`: the first list is complete, or the CRD is absent). */
  get nads(): ReadonlyMap<string, NadState> {
    return this.view;
  }

  /** What a patch answered: the registry need not wait for the watch to see it. */
  observe(obj: KubeObject): void {
    const s = nadStateOf(obj);
    if (s) this.view.set(ownerOf(s), s);
  }
}
