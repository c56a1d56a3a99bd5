// Keeps a ClusterView in step with etcd through one watch on what the agent renders from (the
// keyspace's agentView range: Kubernetes objects, KSR status, networks, nodes — not the other
// nodes' IPAM writes): list at one revision, then watch from the next, batch by batch in revision order (lib/etcd/watch.ts
// resumes after disconnects without loss). A compacted resume revision, or an etcd whose
// revision went backwards (restored from an older backup), ends the watch: the view is rebuilt
// from a fresh list and the consumer told to resync.
import type { Store } from '../../lib/etcd/store.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Keyspace } from '../../lib/keyspace.ts';
import type { Logger } from '../../lib/logging.ts';
import { sleep } from '../../lib/timing.ts';
import type { ClusterView, ViewChange } from './view.ts';

export type ViewUpdate =
  /** The view was rebuilt from a list: recompute everything. */
  | { type: 'resync'; revision: number; reason: 'start' | 'compacted' | 'rewound' }
  /** Changes of one etcd revision. */
  | { type: 'changes'; revision: number; changes: ViewChange[] };

export interface ViewSyncOptions {
  store: Store;
  keyspace: Keyspace;
  view: ClusterView;
  logger: Logger;
  signal: AbortSignal;
  /** Awaited before the next batch is read. */
  onUpdate(update: ViewUpdate): Promise<void>;
  backoffMs?: { min: number; max: number };
}

export async function runViewSync(opts: ViewSyncOptions): Promise<void> {
  const { store, keyspace, view, logger, signal } = opts;
  let reason: 'start' | 'compacted' | 'rewound' = 'start';
  while (!signal.aborted) {
    try {
      await relist(opts);
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'cluster view list failed; retrying');
      await sleep(opts.backoffMs?.max ?? 1_000, signal);
      continue;
    }
    await opts.onUpdate({ type: 'resync', revision: view.revision, reason });
    const inner = new AbortController();
    const stopInner = (): void => inner.abort();
    signal.addEventListener('abort', stopInner, { once: true });
    let ended: 'compacted' | 'rewound' | undefined;
    const onStatus = (s: { type: string }): void => {
      if (s.type !== 'connected') return;
      // After a reconnect: an etcd restored from an older backup is *behind* us, and a watch
      // from our next revision would sit silent until it caught up. Relist instead.
      store.revision().then(
        (rev) => {
          if (rev < view.revision) {
            logger.warn(
              { etcdRevision: rev, viewRevision: view.revision },
              'etcd revision went backwards (restored?); relisting',
            );
            ended = 'rewound';
            inner.abort();
          }
        },
        () => undefined,
      );
    };
    try {
      for await (const ev of store.watch(keyspace.agentView, {
        startRevision: view.revision + 1,
        signal: inner.signal,
        onStatus,
        ...(opts.backoffMs ? { backoffMs: opts.backoffMs } : {}),
      })) {
        if (ev.type === 'compacted') {
          logger.warn({ compactRevision: ev.compactRevision }, 'cluster view watch compacted; relisting');
          ended = 'compacted';
          break;
        }
        if (ev.type === 'progress') {
          view.revision = Math.max(view.revision, ev.revision);
          continue;
        }
        const changes = ev.changes
          .map((c) => applyOne(opts, c.key, c.type === 'put' ? c.value : undefined))
          .filter((c) => c !== undefined);
        view.revision = ev.revision;
        if (changes.length > 0) await opts.onUpdate({ type: 'changes', revision: ev.revision, changes });
      }
    } finally {
      signal.removeEventListener('abort', stopInner);
    }
    reason = ended ?? 'rewound';
  }
}

async function relist(opts: ViewSyncOptions): Promise<void> {
  const { kvs, revision } = await opts.store.list(opts.keyspace.agentView);
  opts.view.clear();
  for (const kv of kvs) applyOne(opts, kv.key, kv.value);
  opts.view.revision = revision;
}

function applyOne(opts: ViewSyncOptions, key: string, value: string | undefined): ViewChange | undefined {
  const ref = opts.keyspace.tryParse(key);
  if (!ref) return undefined;
  try {
    return opts.view.apply(ref, value);
  } catch (err) {
    // A value KSR (or an operator) wrote badly: skip it, say so once here.
    opts.logger.warn({ key, err: errorMessage(err) }, 'ignoring an unreadable value');
    return undefined;
  }
}
