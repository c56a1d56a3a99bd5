// The attachments/ records of the whole cluster, in memory on the KSR leader: one list, then a
// watch from the list's revision (lib/etcd/watch.ts resumes without loss; a compacted revision
// relists). Indexed by pod (the network-status writer's question: what does this pod have?) and
// by network (the registry's: which pods still use this network?). Agents write the records
// (one per interface they attached); KSR only reads them.
import { errorMessage } from '../../lib/errors.ts';
import type { Store } from '../../lib/etcd/store.ts';
import type { Change } from '../../lib/etcd/watch.ts';
import { jsonObjectOf } from '../../lib/json.ts';
import type { Keyspace } from '../../lib/keyspace.ts';
import type { Logger } from '../../lib/logging.ts';
import { Backoff, sleep } from '../../lib/timing.ts';
import type { AttachmentRecord__Output as AttachmentRecord } from '../../proto/gen/netloom/model/v1/AttachmentRecord.ts';

export interface Attachment {
  node: string;
  namespace: string;
  pod: string;
  ifname: string;
  record: AttachmentRecord;
}

export interface AttachmentIndexDeps {
  store: Store;
  keyspace: Keyspace;
  logger: Logger;
  /** A pod's records changed (`<namespace>/<pod>`). */
  onPod: (podKey: string) => void;
  /** The set of pods using some network changed. */
  onNetworks: () => void;
}

/** Reads a record leniently: the fields network-status needs, with proto3 defaults. */
export function decodeAttachment(text: string): AttachmentRecord | undefined {
  const o = jsonObjectOf(text);
  if (!o) return undefined;
  const s = (k: string): string => {
    const x = o[k];
    return typeof x === 'string' ? x : '';
  };
  const list = (x: unknown): string[] =>
    Array.isArray(x) ? x.filter((e): e is string => typeof e === 'string') : [];
  const dns = o['dns'];
  const d = typeof dns === 'object' && dns !== null ? (dns as Record<string, unknown>) : undefined;
  return {
    containerId: s('containerId'),
    podUid: s('podUid'),
    network: s('network'),
    name: s('name'),
    ips: list(o['ips']),
    mac: s('mac'),
    default: o['default'] === true,
    gateways: list(o['gateways']),
    dns: d
      ? {
          nameservers: list(d['nameservers']),
          domain: typeof d['domain'] === 'string' ? d['domain'] : '',
          search: list(d['search']),
          options: list(d['options']),
        }
      : null,
    index: Number.isSafeInteger(o['index']) && (o['index'] as number) >= 0 ? (o['index'] as number) : 0,
  };
}

export class AttachmentIndex {
  /** The first list is in: absence now means "no record". */
  synced = false;
  private readonly d: AttachmentIndexDeps;
  private readonly byKey = new Map<string, Attachment>();
  private readonly byPod = new Map<string, Set<string>>();
  /** owner → pod → records of that pod naming it. */
  private readonly byNetwork = new Map<string, Map<string, number>>();

  constructor(deps: AttachmentIndexDeps) {
    this.d = deps;
  }

  /** The pod's records (any node, any uid: the writer filters). */
  recordsOf(podKey: string): Attachment[] {
    return [...(this.byPod.get(podKey) ?? [])].flatMap((k) => {
      const a = this.byKey.get(k);
      return a ? [a] : [];
    });
  }

  pods(): IterableIterator<string> {
    return this.byPod.keys();
  }

  has(podKey: string): boolean {
    return this.byPod.has(podKey);
  }

  /** owner (`<namespace>/<name>` of a NAD) → the pods with a record naming it. */
  inUse(): Map<string, string[]> {
    return new Map([...this.byNetwork].map(([owner, pods]) => [owner, [...pods.keys()]]));
  }

  /** Lists, then watches, until `signal` aborts; never throws. */
  async run(signal: AbortSignal): Promise<void> {
    const { store, keyspace, logger } = this.d;
    const prefix = keyspace.prefix('attachment');
    const backoff = new Backoff(200, 5_000);
    while (!signal.aborted) {
      try {
        const { revision, kvs } = await store.list(prefix);
        this.reset(kvs.map((kv) => ({ type: 'put', key: kv.key, value: kv.value })));
        this.synced = true;
        backoff.reset();
        await this.follow(prefix, revision + 1, signal);
      } catch (err) {
        if (signal.aborted) break;
        const delay = backoff.next();
        logger.warn({ err: errorMessage(err), retryInMs: delay }, 'reading attachments/ failed');
        await sleep(delay, signal);
      }
    }
    this.synced = false;
  }

  /** Applies changes until the watch ends (a compacted revision: the caller lists again). */
  private async follow(prefix: string, startRevision: number, signal: AbortSignal): Promise<void> {
    for await (const ev of this.d.store.watch(prefix, { startRevision, signal })) {
      if (ev.type === 'compacted') {
        this.d.logger.warn({ revision: ev.compactRevision }, 'attachments watch compacted; listing again');
        return;
      }
      if (ev.type === 'events') for (const c of ev.changes) this.apply(c);
    }
  }

  private reset(changes: { type: 'put'; key: string; value: string }[]): void {
    const before = new Set(this.byPod.keys());
    this.byKey.clear();
    this.byPod.clear();
    this.byNetwork.clear();
    for (const c of changes) this.put(c.key, c.value);
    for (const p of this.byPod.keys()) before.add(p);
    for (const p of before) this.d.onPod(p);
    this.d.onNetworks();
  }

  private apply(c: Change): void {
    const before = this.byKey.get(c.key)?.record.network ?? '';
    const podKey = c.type === 'put' ? this.put(c.key, c.value) : this.remove(c.key);
    if (podKey === undefined) return;
    this.d.onPod(podKey);
    // Only records naming a NAD matter to the registry (the default network's name none).
    if (before !== '' || (this.byKey.get(c.key)?.record.network ?? '') !== '') this.d.onNetworks();
  }

  /** Indexes one record; the pod it belongs to, or undefined for a key or value not understood. */
  private put(key: string, value: string): string | undefined {
    const ref = this.d.keyspace.tryParse(key);
    if (ref?.kind !== 'attachment') return undefined;
    const podKey = `${ref.namespace}/${ref.pod}`;
    this.remove(key);
    const record = decodeAttachment(value);
    if (!record) {
      this.d.logger.warn({ key }, 'unreadable attachment record skipped');
      return podKey;
    }
    this.byKey.set(key, {
      node: ref.node,
      namespace: ref.namespace,
      pod: ref.pod,
      ifname: ref.ifname,
      record,
    });
    let keys = this.byPod.get(podKey);
    if (!keys) this.byPod.set(podKey, (keys = new Set()));
    keys.add(key);
    if (record.network !== '') {
      let pods = this.byNetwork.get(record.network);
      if (!pods) this.byNetwork.set(record.network, (pods = new Map<string, number>()));
      pods.set(podKey, (pods.get(podKey) ?? 0) + 1);
    }
    return podKey;
  }

  private remove(key: string): string | undefined {
    const a = this.byKey.get(key);
    if (!a) {
      const ref = this.d.keyspace.tryParse(key);
      return ref?.kind === 'attachment' ? `${ref.namespace}/${ref.pod}` : undefined;
    }
    this.byKey.delete(key);
    const podKey = `${a.namespace}/${a.pod}`;
    const keys = this.byPod.get(podKey);
    keys?.delete(key);
    if (keys?.size === 0) this.byPod.delete(podKey);
    if (a.record.network !== '') {
      const pods = this.byNetwork.get(a.record.network);
      const n = (pods?.get(podKey) ?? 0) - 1;
      if (n > 0) pods?.set(podKey, n);
      else pods?.delete(podKey);
      if (pods?.size === 0) this.byNetwork.delete(a.record.network);
    }
    return podKey;
  }
}
