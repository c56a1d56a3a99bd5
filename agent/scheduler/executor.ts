// One transaction's work: bring every queued key to its target and follow the consequences.
//
// Target of a key: applied with its desired value when it is wanted (desired, valid, handled)
// and every dependency is satisfied; otherwise not applied. Reaching it:
// - not applied, target present  → create; then re-examine the items that depend on it;
// - applied, no target           → delete, after deleting every applied item that depends on it
//                                  (they are re-examined and wait as pending);
// - applied, value differs       → update in place, or delete + create when the descriptor has
//                                  no update or says this change needs a recreate.
// Failures leave the item where it was, with its error and, when retriable, a retry time.
// Only queued keys and their dependents are visited: the cost follows the change, not the
// size of the graph.
import type { ApplyContext } from './descriptor.ts';
import { errorMessage, markedRetriable, type ItemFailure } from './errors.ts';
import type { Graph, Node } from './graph.ts';
import { isCurrent, missingDeps, wanted } from './status.ts';
import type { OperationKind, TxnRecord } from './txn-log.ts';

export interface ExecutionOptions {
  now(): number;
  /** Delay before retry number `attempts` (1-based). */
  backoffMs(attempts: number): number;
  maxOperations: number;
  onOperation?(family: string, operation: OperationKind, ok: boolean): void;
}

export class Execution {
  readonly touched = new Set<string>();
  private readonly graph: Graph;
  private readonly record: TxnRecord;
  private readonly opts: ExecutionOptions;
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly removing = new Set<string>();
  private readonly waiting = new Map<string, Set<string>>();
  /** Operations of concurrent families under way, by key; keys reached meanwhile wait for them. */
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly deferred = new Set<string>();
  /** Removals waiting for this pass's operations on their dependents (see reconcile). */
  private readonly postponed: string[] = [];
  private readonly postponedOnce = new Set<string>();
  private crashed: { err: unknown } | undefined;
  private readonly ctx: ApplyContext;

  constructor(graph: Graph, record: TxnRecord, opts: ExecutionOptions) {
    this.graph = graph;
    this.record = record;
    this.opts = opts;
    this.ctx = {
      metadata: <M>(key: string): M | undefined => graph.get(key)?.applied?.metadata as M | undefined,
    };
  }

  enqueue(key: string): void {
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
  }

  /** Queues many keys, dependencies before their dependents (fewer pending detours). */
  enqueueAll(keys: Iterable<string>): void {
    const inSet = new Set(keys);
    const done = new Set<string>();
    for (const root of inSet) {
      if (done.has(root)) continue;
      const stack: { key: string; deps: readonly string[]; i: number }[] = [];
      const push = (key: string): void => {
        done.add(key);
        const deps = (this.graph.get(key)?.desiredDeps ?? []).map((d) => d.key).filter((k) => inSet.has(k));
        stack.push({ key, deps, i: 0 });
      };
      push(root);
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const next = top.deps[top.i++];
        if (next === undefined) {
          stack.pop();
          this.enqueue(top.key);
        } else if (!done.has(next)) {
          push(next);
        }
      }
    }
  }

  async run(): Promise<void> {
    let i = 0;
    for (;;) {
      for (; i < this.queue.length; i++) {
        const key = this.queue[i]!;
        this.queued.delete(key);
        await this.reconcile(key);
      }
      if (this.inflight.size === 0 && this.postponed.length === 0) break;
      // What the concurrent operations settle may queue more work (dependents, deferred keys).
      await Promise.all([...this.inflight.values()]);
      for (const key of this.postponed.splice(0)) this.enqueue(key);
    }
    // A bug, not a data-plane failure (those are booked per item): fail the transaction as the
    // sequential path would.
    if (this.crashed) throw this.crashed.err;
  }

  /**
   * Reconciles one key: at once for most families; for a concurrent family's item with no applied
   * dependent, started and left running, so the next ones start in the same tick and the
   * driver can apply them together.
   */
  private async reconcile(key: string): Promise<void> {
    if (this.inflight.has(key)) {
      this.deferred.add(key);
      return;
    }
    const n = this.graph.get(key);
    if (!n) return;
    // While dependents are applied, removing or recreating the item must take them down first,
    // in order: only an item none of whose dependents is applied runs alongside others.
    const appliedDependents = this.graph
      .dependentsOf(key)
      .filter((dk) => this.graph.get(dk)?.applied !== undefined);
    // A concurrent item going away whose applied dependents go in this transaction too (a pod
    // deleted whole: its routes, then its veth) waits for them once, so that every such item
    // is removed together afterwards rather than each with its dependents, one by one.
    if (
      n.descriptor?.concurrent &&
      n.desired === undefined &&
      appliedDependents.length > 0 &&
      !this.postponedOnce.has(key) &&
      appliedDependents.every((dk) => this.queued.has(dk) || this.inflight.has(dk))
    ) {
      this.postponedOnce.add(key);
      this.postponed.push(key);
      return;
    }
    if (!n.descriptor?.concurrent || (appliedDependents.length > 0 && !this.inPlaceUpdate(n)))
      return this.reconcileNow(n);
    const running = this.reconcileNow(n)
      .catch((err: unknown) => void (this.crashed ??= { err }))
      .finally(() => {
        this.inflight.delete(key);
        if (this.deferred.delete(key)) this.enqueue(key);
      });
    this.inflight.set(key, running);
  }

  private async reconcileNow(n: Node): Promise<void> {
    this.visit(n);
    if (n.applied?.origin === 'external') return this.settledAndRelease(n);
    const missing = wanted(n) ? missingDeps(this.graph, n) : [];
    this.waitFor(n, missing);
    const target = wanted(n) && missing.length === 0;
    if (!n.applied) {
      if (target) await this.create(n);
      else this.settled(n);
    } else if (!target) {
      await this.remove(n);
    } else if (isCurrent(n, n.applied)) {
      this.settledAndRelease(n);
    } else if (this.needsRecreate(n)) {
      await this.remove(n);
      // Removing it may have removed a dependency of its new value too: decide again.
      if (!n.applied && !n.lastError) this.enqueue(n.key);
    } else {
      await this.update(n);
    }
    this.graph.forgetIfIdle(n);
  }

  /**
   * A dependency that is applied but not satisfied (its own dependencies are not) may become
   * satisfied later in this transaction without changing itself: re-examine it, and have it
   * wake `n` when it does.
   */
  private waitFor(n: Node, missing: readonly string[]): void {
    for (const m of missing) {
      if (!this.graph.get(m)?.applied) continue; // not applied: its create wakes dependents
      let set = this.waiting.get(m);
      if (!set) this.waiting.set(m, (set = new Set()));
      if (set.has(n.key)) continue;
      set.add(n.key);
      this.enqueue(m);
    }
  }

  private settledAndRelease(n: Node): void {
    this.settled(n);
    const waiters = this.waiting.get(n.key);
    if (!waiters) return;
    this.waiting.delete(n.key);
    for (const k of waiters) this.enqueue(k);
  }

  private visit(n: Node): void {
    this.record.visited++;
    n.lastTxn = this.record.seq;
    this.touched.add(n.key);
  }

  /**
   * Whether reconciling `n` is a change in place: it stays applied, its dependents are not
   * touched, so it may run alongside others of its family like a create (peer sets that many
   * policies name, changed together by one label change).
   */
  private inPlaceUpdate(n: Node): boolean {
    return (
      n.applied?.origin === 'netloom' &&
      wanted(n) &&
      missingDeps(this.graph, n).length === 0 &&
      !isCurrent(n, n.applied) &&
      !this.needsRecreate(n)
    );
  }

  private needsRecreate(n: Node): boolean {
    const d = n.descriptor;
    if (!d?.update) return true;
    return d.updateWithRecreate?.(n.key, n.applied?.value, n.desired) ?? false;
  }

  /** Deletes the item after every applied item that depends on it (those are re-examined). */
  private async remove(n: Node): Promise<void> {
    if (this.removing.has(n.key)) return; // a dependency cycle: stop here
    this.removing.add(n.key);
    try {
      for (const dk of this.graph.dependentsOf(n.key)) {
        if (this.removing.has(dk)) continue; // itself, or a cycle member being removed already
        await this.inflight.get(dk); // a concurrent operation on it finishes first
        const d = this.graph.get(dk);
        if (d?.applied?.origin !== 'netloom' || !d.appliedDeps.some((x) => x.key === n.key)) continue;
        this.visit(d);
        await this.remove(d);
        this.enqueue(dk);
        if (d.applied) return this.blocked(n, d);
      }
      await this.op(n, 'delete', async () => {
        await n.descriptor!.delete(n.key, n.applied!.value, n.applied!.metadata, this.ctx);
        this.graph.setApplied(n, undefined);
      });
    } finally {
      this.removing.delete(n.key);
    }
  }

  private async create(n: Node): Promise<void> {
    const value = n.desired;
    const ok = await this.op(n, 'create', async () => {
      const metadata = await n.descriptor!.create(n.key, value, this.ctx);
      this.graph.setApplied(n, { value, metadata, origin: 'netloom' });
    });
    if (ok) for (const dk of this.graph.dependentsOf(n.key)) this.enqueue(dk);
  }

  private async update(n: Node): Promise<void> {
    const old = n.applied!;
    const value = n.desired;
    await this.op(n, 'update', async () => {
      const metadata = await n.descriptor!.update!(n.key, old.value, value, old.metadata, this.ctx);
      this.graph.setApplied(n, {
        value,
        metadata: metadata === undefined ? old.metadata : metadata,
        origin: 'netloom',
      });
    });
  }

  /** Runs one driver call, records it, and books success or failure on the node. */
  private async op(n: Node, operation: OperationKind, work: () => Promise<void>): Promise<boolean> {
    this.record.counts[operation]++;
    const log = this.record.operations.length < this.opts.maxOperations;
    try {
      await work();
      this.opts.onOperation?.(n.descriptor?.name ?? 'unknown', operation, true);
      if (log) this.record.operations.push({ key: n.key, operation, ok: true });
      else this.record.truncated++;
      this.settledAndRelease(n);
      return true;
    } catch (err) {
      const message = errorMessage(err);
      this.opts.onOperation?.(n.descriptor?.name ?? 'unknown', operation, false);
      if (log) this.record.operations.push({ key: n.key, operation, ok: false, error: message });
      else this.record.truncated++;
      this.failed(n, operation, err, message);
      return false;
    }
  }

  /** A dependent could not be removed: keep the item (deleting it would strand the dependent). */
  private blocked(n: Node, dependent: Node): void {
    const cause = dependent.lastError;
    const message = `kept: dependent ${dependent.key} could not be removed${cause ? ` (${cause.error})` : ''}`;
    this.failed(n, 'delete', cause, message, cause?.retriable ?? true);
  }

  private settled(n: Node): void {
    n.lastError = undefined;
    n.attempts = 0;
    n.nextRetryAt = undefined;
  }

  private failed(
    n: Node,
    operation: OperationKind,
    err: unknown,
    message: string,
    forceRetriable?: boolean,
  ): void {
    const d = n.descriptor;
    const retriable = forceRetriable ?? (d?.isRetriable ? d.isRetriable(err) : markedRetriable(err));
    const failure: ItemFailure = { key: n.key, operation, error: message, retriable };
    n.lastError = failure;
    n.attempts++;
    n.nextRetryAt = retriable ? this.opts.now() + this.opts.backoffMs(n.attempts) : undefined;
    this.record.errors.push(failure);
  }
}
