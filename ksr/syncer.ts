// The syncer: the one loop that writes the mirror into etcd while this replica leads. A term
// starts with a full mark-and-sweep (read the k8s/ prefix at one revision, put what differs,
// delete what Kubernetes no longer has, leave equal keys alone); then it flushes dirty keys as
// they come, beats the status key, and resyncs in full after any failed write, when etcd's
// revision goes backwards (restore, new cluster), when the key count disagrees (keys deleted
// behind its back), and periodically. Every write is guarded by the leader's claim on
// ksr/status: after losing it, not one op lands.
import { errorMessage } from '../lib/errors.ts';
import { writeGuarded, type Guard } from '../lib/etcd/guarded-write.ts';
import { prefixEnd, storeError, type Store } from '../lib/etcd/store.ts';
import type { K8sKind } from '../lib/keyspace.ts';
import type { Logger } from '../lib/logging.ts';
import { DEFAULT_MAX_TXN_BYTES, opBytes, planBatches, txnBaseBytes } from './batches.ts';
import { Pipeline } from './pipeline.ts';
import { endTermIfFenced, guardOf, type Term } from './leader.ts';
import type { KsrMetrics } from './metrics.ts';
import type { Mirror, PlannedWrite } from './mirror.ts';
import { RevisionTracker, statusValue } from './status.ts';
import { Backoff, Wakeup, sleep } from '../lib/timing.ts';

export interface SyncerOptions {
  heartbeatMs: number;
  fullResyncMs: number;
  backoffMs: { min: number; max: number };
  writeConcurrency: number;
  pageSize: number;
  /** Most ops one flush writes, so memory stays bounded under a flood. */
  maxFlush: number;
  /** Most bytes of one transaction request (below etcd's --max-request-bytes). */
  maxTxnBytes: number;
}

export interface SyncerDeps {
  store: Store;
  mirror: Mirror;
  /** The mirrored prefix (`k8s/`). */
  prefix: string;
  logger: Logger;
  metrics: KsrMetrics;
  /** True once every feed finished its first list: before that a sweep would delete too much. */
  sourcesSynced: () => boolean;
  /**
   * Whether keys of a kind hold final values while feeds still list (default: yes). Not so for
   * keys folded from several objects (endpoints) during their first list: a partial merge
   * written then rewritten would touch a key whose value did not change.
   */
  kindSettled?: (kind: K8sKind | 'unknown') => boolean;
  /** Called after each full sync (bulk work: the heap is worth compacting). */
  onFullSync?: () => void;
  /** Called at every turn of the loop (at least once a heartbeat while healthy): KSR's liveness. */
  onTurn?: () => void;
  /** Names the object behind a key in logs (namespace, name); the keyspace's parse. */
  describeKey?: (key: string) => object | undefined;
  options: SyncerOptions;
}

export const DEFAULT_SYNCER_OPTIONS: SyncerOptions = {
  heartbeatMs: 2_000,
  fullResyncMs: 10 * 60_000,
  backoffMs: { min: 200, max: 5_000 },
  writeConcurrency: 8,
  pageSize: 2_000,
  maxFlush: 16_384,
  maxTxnBytes: DEFAULT_MAX_TXN_BYTES,
};

export interface FlushStats {
  puts: number;
  deletes: number;
  revision: number;
}

/** Progress of one full sync, from its etcd read to its final sweep. */
interface SyncRun {
  reason: string;
  started: number;
  readRevision: number;
  puts: number;
  deletes: number;
  revision: number;
}

/** During a fill, write once this many keys are dirty (8 full transactions)… */
const FILL_BATCH = 1_024;
/** …or once this long has passed. */
const FILL_WAIT_MS = 20;

export class Syncer {
  /** Notified by the mirror, the feeds and landed transactions; the loop waits on it. */
  readonly wake = new Wakeup();
  private waitedForBatch = false;
  private readonly d: SyncerDeps;
  private readonly revisions = new RevisionTracker();
  /** A landed write answered with a revision lower than one seen before it was sent. */
  private rewound = false;
  private tooLargeReported = -1;
  /** The key count in flight (one at a time), what it found, and which `have` it describes. */
  private counting: Promise<void> | undefined;
  private finding: string | undefined;
  private countGeneration = 0;
  /** This term's first full sync is done (readiness). */
  termSynced = false;
  lastFullSync: Date | undefined;
  lastFullSyncRevision: number | undefined;

  constructor(deps: SyncerDeps) {
    this.d = deps;
  }

  /**
   * Runs until the term ends; never throws. A full sync reads etcd first, then fills: while
   * feeds are still listing, keys that differ are put as they come (writes overlap the lists);
   * once every feed has listed, the rest is written and leftovers deleted (the sweep).
   * Transactions are pipelined: the loop plans more while up to `writeConcurrency` are in
   * flight, and a full read or a resync waits until none is.
   */
  async run(term: Term): Promise<void> {
    const { logger, metrics, options, mirror } = this.d;
    const signal = term.signal;
    const backoff = new Backoff(options.backoffMs.min, options.backoffMs.max);
    const guard = guardOf(term);
    let reason: string | undefined = 'new leader';
    let sync: SyncRun | undefined;
    const outside: FlushStats = { puts: 0, deletes: 0, revision: 0 };
    const pipe = this.pipeline(guard, () => sync ?? outside);
    let nextHeartbeat = 0;
    let nextFull = 0;
    this.termSynced = false;
    this.revisions.reset();
    this.rewound = false;
    this.countGeneration++;
    this.finding = undefined;
    while (!signal.aborted) {
      this.d.onTurn?.();
      try {
        if (pipe.failed) await pipe.settle(); // throws the failure once nothing is in flight
        if (this.rewound) {
          this.rewound = false;
          reason = 'etcd revision went backwards';
        }
        if (this.finding !== undefined) {
          reason ??= this.finding;
          this.finding = undefined;
        }
        const now = Date.now();
        if (reason !== undefined) {
          await pipe.settle();
          sync = await this.read(reason);
          reason = undefined;
        } else if (now >= nextHeartbeat) {
          reason = await this.heartbeat(term, guard);
          nextHeartbeat = Date.now() + options.heartbeatMs;
        } else if (sync && this.d.sourcesSynced()) {
          // The sweep: once the fill's writes landed (a key changed while in flight is pending
          // again), everything still pending, deletes too, as it stands now.
          await pipe.settle();
          this.submit(pipe, guard, Infinity);
          await pipe.settle();
          this.finish(sync);
          sync = undefined;
          nextHeartbeat = 0; // publish the new sync in ksr/status at once
          nextFull = Date.now() + options.fullResyncMs;
        } else if (sync && mirror.pendingCount < FILL_BATCH && !this.waitedForBatch) {
          // Filling while feeds list: let a full set of transactions gather before writing.
          this.waitedForBatch = true;
          await sleep(FILL_WAIT_MS, signal);
        } else if (mirror.pendingCount > 0 && pipe.queued === 0) {
          this.waitedForBatch = false;
          // During a fill some writes wait for the sweep: with only those left, wait for the feeds.
          if (this.submit(pipe, guard, options.maxFlush, sync !== undefined) === 0)
            await this.wake.wait(Math.max(0, nextHeartbeat - Date.now()), signal);
        } else if (!sync && now >= nextFull) {
          reason = 'periodic';
        } else {
          await this.wake.wait(
            Math.max(0, Math.min(nextHeartbeat, sync ? Infinity : nextFull) - now),
            signal,
          );
        }
        backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        if (await endTermIfFenced(err, term, metrics)) break;
        metrics.errors.inc({ kind: 'etcd', reason: 'write' });
        const delay = backoff.next();
        logger.warn(
          { err: errorMessage(err), retryInMs: delay },
          'etcd sync failed; full resync after backoff',
        );
        reason = 'write failed';
        sync = undefined;
        await sleep(delay, signal);
      }
    }
    // What is still in flight lands or fails (fenced) before another term may start.
    await pipe.drain();
  }

  /** The mark: reads the mirrored prefix at one revision into the mirror's view of etcd. */
  private async read(reason: string): Promise<SyncRun> {
    const { store, mirror, prefix, metrics, options } = this.d;
    const started = Date.now();
    metrics.resyncs.inc({ reason });
    this.countGeneration++;
    mirror.beginFullRead();
    let revision = 0;
    try {
      for await (const page of store.pages(prefix, { pageSize: options.pageSize })) {
        mirror.absorb(page.kvs);
        revision = page.revision;
      }
    } catch (err) {
      mirror.abortFullRead();
      throw err;
    }
    this.revisions.observe(revision);
    mirror.endFullRead(reason === 'new leader');
    return { reason, started, readRevision: revision, puts: 0, deletes: 0, revision: 0 };
  }

  private finish(sync: SyncRun): void {
    this.revisions.observe(sync.revision);
    this.lastFullSync = new Date();
    this.lastFullSyncRevision = Math.max(sync.readRevision, sync.revision);
    this.termSynced = true;
    this.d.logger.info(
      {
        reason: sync.reason,
        objects: this.d.mirror.size,
        puts: sync.puts,
        deletes: sync.deletes,
        ms: Date.now() - sync.started,
        revision: this.lastFullSyncRevision,
      },
      'full sync done',
    );
    this.d.onFullSync?.();
  }

  /** A whole mark and sweep at once (feeds must have listed): for tests and benchmarks. */
  async fullSync(reason: string, guard: Guard): Promise<FlushStats> {
    const sync = await this.read(reason);
    const pipe = this.pipeline(guard, () => sync);
    this.submit(pipe, guard, Infinity);
    await pipe.settle();
    this.finish(sync);
    return { puts: sync.puts, deletes: sync.deletes, revision: sync.revision };
  }

  /**
   * Writes the dirty keys that differ (at most `limit`) and waits until they landed. `filling`:
   * a full sync waits for feeds, so only puts of settled kinds go out; deletes wait for the sweep.
   */
  async flush(guard: Guard, limit: number, filling = false): Promise<FlushStats> {
    const tally: FlushStats = { puts: 0, deletes: 0, revision: 0 };
    const pipe = this.pipeline(guard, () => tally);
    this.submit(pipe, guard, limit, filling);
    await pipe.settle();
    return tally;
  }

  /**
   * Plans the dirty keys that differ (at most `limit`) into transactions within etcd's op and
   * byte limits and queues them; a value too large for any transaction is set aside (see
   * `setAside`). Returns how many writes were queued.
   */
  private submit(pipe: Pipeline<PlannedWrite>, guard: Guard, limit: number, filling = false): number {
    const { store, mirror, options } = this.d;
    const settled = this.d.kindSettled ?? ((): boolean => true);
    const plan = filling
      ? mirror.plan(limit, (type, kind) => type === 'put' && settled(kind))
      : mirror.plan(limit);
    if (plan.length === 0) return 0;
    const { batches, tooLarge } = planBatches(
      plan,
      (w) => opBytes(w.op),
      { maxOps: store.maxTxnOps, maxBytes: options.maxTxnBytes },
      txnBaseBytes([guard]),
    );
    if (tooLarge.length > 0) this.setAside(tooLarge);
    pipe.add(batches);
    return plan.length - tooLarge.length;
  }

  /** A pipeline writing guarded transactions; each landed one is confirmed and counted in `tally`. */
  private pipeline(guard: Guard, tally: () => FlushStats): Pipeline<PlannedWrite> {
    const { store, mirror, options } = this.d;
    return new Pipeline<PlannedWrite>({
      concurrency: options.writeConcurrency,
      write: async (batch) => {
        const floor = this.revisions.seen;
        const revision = await writeGuarded(
          store,
          batch.map((w) => w.op),
          [guard],
          1,
        );
        if (this.revisions.observe(revision, floor)) this.rewound = true;
        this.landed(batch, revision, tally());
      },
      release: (batch) => mirror.release(batch),
      settled: () => this.wake.notify(),
    });
  }

  private landed(batch: readonly PlannedWrite[], revision: number, tally: FlushStats): void {
    const { mirror, metrics } = this.d;
    for (const c of mirror.confirm(batch))
      if (c.latencyMs !== undefined) metrics.latency.observe({ kind: c.kind }, c.latencyMs / 1000);
    const stats = count(batch);
    for (const { kind, op, n } of stats.byLabel.values()) metrics.writes.inc({ kind, op }, n);
    tally.puts += stats.puts;
    tally.deletes += stats.deletes;
    tally.revision = Math.max(tally.revision, revision);
    for (const [kind, n] of Object.entries(mirror.countsByKind())) metrics.objects.set({ kind }, n);
    this.reportTooLarge();
  }

  /**
   * Values no transaction can carry (over the byte budget alone) are not written: etcd keeps the
   * key's last written value, as it does for an object a converter refuses. Each is counted and
   * logged once, when it becomes too large; it is looked at again when its value changes.
   */
  private setAside(writes: readonly PlannedWrite[]): void {
    const { mirror, metrics, logger, options } = this.d;
    for (const w of mirror.setAside(writes)) {
      metrics.tooLarge.inc({ kind: w.kind });
      logger.error(
        {
          kind: w.kind,
          ...this.d.describeKey?.(w.op.key),
          key: w.op.key,
          bytes: opBytes(w.op),
          maxTxnBytes: options.maxTxnBytes,
        },
        'object too large for an etcd transaction; not written (etcd keeps its previous value)',
      );
    }
    this.reportTooLarge();
  }

  private reportTooLarge(): void {
    const { mirror, metrics } = this.d;
    if (mirror.tooLargeChanges === this.tooLargeReported) return;
    this.tooLargeReported = mirror.tooLargeChanges;
    metrics.tooLargeObjects.reset();
    for (const [kind, n] of mirror.tooLargeByKind()) metrics.tooLargeObjects.set({ kind }, n);
  }

  /**
   * Rewrites ksr/status (keeping the lease) and checks etcd still holds what the mirror thinks
   * it does. Returns a reason to resync found by the write; the key count runs on without
   * holding up the loop, and what it finds is taken up by the loop (or `countFinding`).
   */
  async heartbeat(term: Term, guard: Guard): Promise<string | undefined> {
    const { store, mirror } = this.d;
    const value = statusValue({
      leader: term.identity,
      lastFullSync: this.lastFullSync,
      lastFullSyncRevision: this.lastFullSyncRevision,
      counts: mirror.countsByKind(),
      heartbeat: new Date(),
    });
    // Nothing dirty means nothing in flight (keys in flight stay dirty), and nothing is sent
    // before this write returns: at its revision etcd must hold exactly what `have` holds now.
    const expected = mirror.hasDirty ? undefined : mirror.haveSize;
    // Transactions of the pipeline may answer meanwhile: only revisions seen before each request
    // was sent bound its answer.
    const floor = this.revisions.seen;
    const revision = await writeGuarded(
      store,
      [{ type: 'put', key: term.key, value, lease: term.lease }],
      [guard],
    );
    if (this.revisions.observe(revision, floor)) return 'etcd revision went backwards';
    if (expected !== undefined && this.counting === undefined)
      this.counting = this.countAt(revision, expected);
    return undefined;
  }

  /** Waits for the key count in flight, if any; returns (and clears) a reason it found to resync. */
  async countFinding(): Promise<string | undefined> {
    await this.counting;
    const finding = this.finding;
    this.finding = undefined;
    return finding;
  }

  /**
   * Counts the keys under the prefix at `revision`, pinned there so writes landing meanwhile do
   * not matter. Off the loop: at 100k keys etcd takes 50–100 ms to count, and every change that
   * arrived meanwhile waited for it.
   */
  private async countAt(revision: number, expected: number): Promise<void> {
    const { store, prefix } = this.d;
    const generation = this.countGeneration;
    const floor = this.revisions.seen;
    let finding: string | undefined;
    try {
      const res = await store.client.kv.range({
        key: Buffer.from(prefix),
        range_end: prefixEnd(prefix),
        count_only: true,
        revision: String(revision),
      });
      const inEtcd = Number(res.count);
      if (this.revisions.observe(Number(res.header.revision), floor))
        finding = 'etcd revision went backwards';
      else if (inEtcd !== expected) finding = `etcd holds ${inEtcd} keys, expected ${expected}`;
    } catch (err) {
      // Compacted right after the write: this count says nothing, the next one will. A revision
      // etcd calls "future" is one it no longer has: it was restored from an older backup.
      const msg = errorMessage(storeError(`count ${prefix}`, err));
      if (/future revision/i.test(msg)) finding = 'etcd revision went backwards';
      else if (!/compacted/i.test(msg)) finding = `key count failed: ${msg}`;
    } finally {
      this.counting = undefined;
    }
    // A count from before a full read (or an earlier term) no longer describes `have`.
    if (finding !== undefined && generation === this.countGeneration) {
      this.finding = finding;
      this.wake.notify();
    }
  }
}

function count(plan: readonly PlannedWrite[]): {
  puts: number;
  deletes: number;
  byLabel: Map<string, { kind: string; op: string; n: number }>;
} {
  let puts = 0;
  const byLabel = new Map<string, { kind: string; op: string; n: number }>();
  for (const w of plan) {
    if (w.op.type === 'put') puts++;
    const label = `${w.kind} ${w.op.type}`;
    const seen = byLabel.get(label);
    if (seen) seen.n++;
    else byLabel.set(label, { kind: w.kind, op: w.op.type, n: 1 });
  }
  return { puts, deletes: plan.length - puts, byLabel };
}
