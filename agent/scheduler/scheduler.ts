// The KV scheduler (after Ligato's KVScheduler): it holds the desired items, knows what the
// driver has applied, and moves the second towards the first — in dependency order, with
// retries for retriable failures, and a full resync that reads the data plane back and repairs
// it. Transactions run one at a time; each is logged with its operations and errors.
//
// Commits group: changes committed while a transaction runs (eight pods ADDed at once) wait
// together and run as the next single transaction, so a data plane that coalesces a
// transaction's work (one `ip -batch`, one `nft -f`) serves them with one set of processes.
// A resync or retry closes the group: what is committed after it runs after it.
import type { Logger } from '../../lib/logging.ts';
import type { Registry } from '../../lib/metrics.ts';
import type { Driver, Item } from './descriptor.ts';
import { Execution } from './executor.ts';
import { Graph, type Node } from './graph.ts';
import { schedulerMetrics, type SchedulerMetrics } from './metrics.ts';
import { retrieveAll } from './retrieve.ts';
import { jsonEqual, stateOf, statusOf, type ItemState, type ItemStatus } from './status.ts';
import { TxnLog, type TxnKind, type TxnRecord } from './txn-log.ts';

/** One desired-state change: a value to apply, or `undefined`/`null` to remove the key. */
export interface Change {
  key: string;
  value: unknown;
}

export interface SchedulerOptions {
  driver: Driver;
  logger: Logger;
  registry?: Registry;
  /** Exponential backoff of retries: initialMs · 2^(attempt-1), at most maxMs. */
  retry?: {
    initialMs?: number;
    maxMs?: number;
    /** false: only retryDue() retries (tests). */ auto?: boolean;
  };
  /** Transactions kept in the log. */
  logSize?: number;
  /** Operations kept per logged transaction. */
  maxOperations?: number;
  now?: () => number;
}

export interface AppliedItem {
  key: string;
  value: unknown;
  metadata: unknown;
  origin: 'netloom' | 'external';
}

/** What running() shows; `sinceMs` is wall-clock time (Date.now), whatever the scheduler's clock. */
export interface RunningTxn {
  seq: number;
  kind: TxnKind;
  description: string;
  sinceMs: number;
}

const TERMINAL: ReadonlySet<ItemState> = new Set([
  'configured',
  'obtained',
  'failed',
  'invalid',
  'unimplemented',
]);

export class KvScheduler {
  private readonly graph: Graph;
  private readonly driver: Driver;
  private readonly logger: Logger;
  private readonly log: TxnLog;
  private readonly metrics: SchedulerMetrics;
  private readonly now: () => number;
  private readonly retryInitial: number;
  private readonly retryMax: number;
  private readonly autoRetry: boolean;
  private readonly maxOperations: number;
  private readonly retrying = new Set<string>();
  private readonly listeners = new Set<(status: ItemStatus) => void>();
  private tail: Promise<unknown> = Promise.resolve();
  /** Commits waiting for the next transaction, which takes them all when it starts. */
  private group: { changes: Change[]; descriptions: string[]; done: Promise<TxnRecord> } | undefined;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private current: RunningTxn | undefined;

  constructor(opts: SchedulerOptions) {
    this.driver = opts.driver;
    this.graph = new Graph(opts.driver.descriptors);
    this.logger = opts.logger;
    this.log = new TxnLog(opts.logSize ?? 200);
    this.now = opts.now ?? Date.now;
    this.retryInitial = opts.retry?.initialMs ?? 100;
    this.retryMax = opts.retry?.maxMs ?? 30_000;
    this.autoRetry = opts.retry?.auto ?? true;
    this.maxOperations = opts.maxOperations ?? 500;
    this.metrics = schedulerMetrics(opts.registry, () => this.countStates());
  }

  /**
   * Applies desired-state changes; resolves when the transaction (not its retries) that took
   * them is done — one shared with every commit made while the previous transaction ran.
   */
  commit(changes: Iterable<Change>, description = ''): Promise<TxnRecord> {
    const list = [...changes];
    if (this.group) {
      this.group.changes.push(...list);
      this.group.descriptions.push(description);
      return this.group.done;
    }
    const group = {
      changes: list,
      descriptions: [description],
      done: undefined as unknown as Promise<TxnRecord>,
    };
    this.group = group;
    group.done = this.serialize('change', description, list.length, (exec, record) => {
      if (this.group === group) this.group = undefined;
      if (group.descriptions.length > 1) {
        record.description = `${group.descriptions.length} commits: ${group.descriptions.slice(0, 4).join('; ')}${group.descriptions.length > 4 ? '; …' : ''}`;
        record.changes = group.changes.length;
      }
      for (const c of group.changes) this.setDesired(exec, c.key, c.value ?? undefined);
    });
    return group.done;
  }

  /**
   * Full resync: optionally replaces the whole desired state, reads the data plane back
   * (`retrieve`, default true) and repairs every difference, failed items included.
   */
  resync(
    opts: { desired?: Iterable<Item>; retrieve?: boolean; description?: string } = {},
  ): Promise<TxnRecord> {
    const desired =
      opts.desired === undefined ? undefined : new Map([...opts.desired].map((i) => [i.key, i.value]));
    return this.serialize(
      'resync',
      opts.description ?? 'full resync',
      desired?.size ?? 0,
      async (exec, record) => {
        if (desired) {
          for (const n of [...this.graph.nodes.values()]) {
            if (n.desired !== undefined && n.derivedFrom === undefined && !desired.has(n.key))
              this.setDesired(exec, n.key, undefined);
          }
          for (const [key, value] of desired) this.setDesired(exec, key, value);
        }
        if (opts.retrieve ?? true) {
          for (const f of await retrieveAll(this.graph, this.driver.descriptors)) {
            record.errors.push({ key: f.family, operation: 'retrieve', error: f.error, retriable: true });
          }
        }
        exec.enqueueAll(this.graph.nodes.keys());
      },
    );
  }

  /** Retries every failed item whose retry time has come; undefined when none was due. */
  retryDue(now = this.now()): Promise<TxnRecord | undefined> {
    const due = [...this.retrying].filter((k) => (this.graph.get(k)?.nextRetryAt ?? Infinity) <= now);
    if (due.length === 0) {
      this.armRetryTimer(); // a timer may fire a little early: wait again
      return Promise.resolve(undefined);
    }
    return this.serialize('retry', `retry ${due.length} item(s)`, 0, (exec) =>
      due.forEach((k) => exec.enqueue(k)),
    );
  }

  status(key: string): ItemStatus | undefined {
    const n = this.graph.get(key);
    return n ? statusOf(this.graph, n) : undefined;
  }

  statuses(filter?: (s: ItemStatus) => boolean): ItemStatus[] {
    const out: ItemStatus[] = [];
    for (const n of this.graph.nodes.values()) {
      const s = statusOf(this.graph, n);
      if (!filter || filter(s)) out.push(s);
    }
    return out;
  }

  desiredItems(): Item[] {
    return [...this.graph.nodes.values()]
      .filter((n) => n.desired !== undefined)
      .map((n) => ({ key: n.key, value: n.desired }));
  }

  appliedItems(): AppliedItem[] {
    return [...this.graph.nodes.values()]
      .filter((n): n is Node & { applied: NonNullable<Node['applied']> } => n.applied !== undefined)
      .map((n) => ({
        key: n.key,
        value: n.applied.value,
        metadata: n.applied.metadata,
        origin: n.applied.origin,
      }));
  }

  /** One applied item (what a CNI ADD reads its result from), without copying the rest. */
  applied(key: string): AppliedItem | undefined {
    const n = this.graph.get(key);
    if (n?.applied === undefined) return undefined;
    const { value, metadata, origin } = n.applied;
    return { key, value, metadata, origin };
  }

  transactions(limit?: number): TxnRecord[] {
    return this.log.recent(limit);
  }

  /** Calls `listener` with the status of every item a transaction touched. */
  onStatus(listener: (status: ItemStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with the keys' statuses once each is known and none is pending, retrying or being
   * removed (configured, obtained, failed, invalid or unimplemented): what a CNI ADD waits for
   * after committing a pod's items. Rejects when `signal` aborts.
   */
  waitSettled(keys: readonly string[], signal?: AbortSignal): Promise<ItemStatus[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const all = keys.map((k) => this.status(k));
        if (!all.every((s) => s !== undefined && TERMINAL.has(s.state))) return false;
        stop();
        resolve(all as ItemStatus[]);
        return true;
      };
      const onAbort = (): void => (
        stop(),
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
      );
      const wanted = new Set(keys);
      const unsubscribe = this.onStatus((s) => void (wanted.has(s.key) && check()));
      const stop = (): void => (unsubscribe(), signal?.removeEventListener('abort', onAbort));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) return onAbort();
      check();
    });
  }

  /**
   * The transaction running now, if any: one that never ends holds up every later one (CNI
   * ADDs, view changes, resyncs), which the agent's liveness check looks for.
   */
  running(): RunningTxn | undefined {
    return this.current;
  }

  /** Stops retry timers and waits for the running transaction. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.tail.catch(() => undefined);
  }

  private setDesired(exec: Execution, key: string, value: unknown): void {
    const n = this.graph.node(key);
    if (n.derivedFrom !== undefined) {
      this.logger.warn({ key, parent: n.derivedFrom }, 'desired change to a derived item; ignored');
      return;
    }
    if (jsonEqual(n.desired, value) && !n.lastError) return this.graph.forgetIfIdle(n);
    this.graph.setDesired(n, value);
    exec.enqueue(key);
    this.updateDerived(exec, n);
  }

  private updateDerived(exec: Execution, parent: Node): void {
    const next = new Map(this.graph.derivedOf(parent).map((i) => [i.key, i.value]));
    for (const key of parent.derivedKeys) {
      if (next.has(key)) continue;
      const d = this.graph.node(key);
      this.graph.setDesired(d, undefined);
      exec.enqueue(key);
      this.updateDerived(exec, d);
    }
    for (const [key, value] of next) {
      const d = this.graph.node(key);
      if (d.desired !== undefined && d.derivedFrom !== parent.key) {
        this.logger.warn(
          { key, parent: parent.key },
          'derived item collides with another desired item; ignored',
        );
        next.delete(key);
        continue;
      }
      if (d.derivedFrom === parent.key && jsonEqual(d.desired, value)) continue;
      this.graph.setDesired(d, value, parent.key);
      exec.enqueue(key);
      this.updateDerived(exec, d);
    }
    parent.derivedKeys = new Set(next.keys());
  }

  private serialize(
    kind: TxnKind,
    description: string,
    changes: number,
    fill: (exec: Execution, record: TxnRecord) => void | Promise<void>,
  ): Promise<TxnRecord> {
    // Later commits must not run before this transaction: they start a group of their own.
    if (kind !== 'change') this.group = undefined;
    const run = async (): Promise<TxnRecord> => {
      const started = performance.now();
      const record: TxnRecord = {
        seq: ++this.seq,
        kind,
        description,
        startedAt: new Date(this.now()).toISOString(),
        durationMs: 0,
        changes,
        visited: 0,
        counts: { create: 0, update: 0, delete: 0 },
        operations: [],
        truncated: 0,
        errors: [],
      };
      const exec = new Execution(this.graph, record, {
        now: this.now,
        backoffMs: (attempts) => Math.min(this.retryMax, this.retryInitial * 2 ** (attempts - 1)),
        maxOperations: this.maxOperations,
        onOperation: (family, op, ok) => this.metrics.operation(family, op, ok),
      });
      this.current = { seq: record.seq, kind, description, sinceMs: Date.now() };
      try {
        await fill(exec, record);
        await exec.run();
      } finally {
        this.current = undefined;
      }
      record.durationMs = performance.now() - started;
      this.finish(record, exec.touched);
      return record;
    };
    const result = this.tail.then(run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private finish(record: TxnRecord, touched: ReadonlySet<string>): void {
    this.log.add(record);
    this.metrics.transaction(record);
    for (const key of touched) {
      const n = this.graph.get(key);
      if (n?.nextRetryAt !== undefined) this.retrying.add(key);
      else this.retrying.delete(key);
    }
    if (record.errors.length > 0) {
      const first = record.errors[0];
      this.logger.warn(
        { seq: record.seq, kind: record.kind, errors: record.errors.length, first },
        'transaction had failures',
      );
    }
    if (this.listeners.size > 0) {
      for (const key of touched) {
        const s = this.status(key) ?? goneStatus(key);
        for (const l of this.listeners) l(s);
      }
    }
    this.armRetryTimer();
  }

  private armRetryTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.autoRetry || this.closed || this.retrying.size === 0) return;
    let earliest = Infinity;
    for (const key of this.retrying)
      earliest = Math.min(earliest, this.graph.get(key)?.nextRetryAt ?? Infinity);
    if (earliest === Infinity) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.retryDue().catch((err: unknown) => this.logger.error({ err }, 'retry transaction failed'));
      },
      Math.max(1, earliest - this.now() + 1),
    );
    this.timer.unref();
  }

  private countStates(): Map<ItemState, number> {
    const counts = new Map<ItemState, number>();
    for (const n of this.graph.nodes.values()) {
      const s = stateOf(this.graph, n);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    return counts;
  }
}

/** The last status of an item that is neither desired nor applied any more. */
function goneStatus(key: string): ItemStatus {
  return {
    key,
    family: 'unknown',
    state: 'removed',
    desired: false,
    applied: false,
    attempts: 0,
    lastTxn: 0,
  };
}
