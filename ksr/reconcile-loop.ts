// The loop of a leader's worker that reconciles etcd records against a view of Kubernetes (the
// LoadBalancer allocator, the network registry), for as long as the term lasts. The records in
// etcd are the truth and are read again at the start of every term, after any failure and every
// resync period, so a new leader simply reconciles what the last one left. Between reads each
// pass updates the state it was given as its writes land; a pass that changed nothing waits for
// a wake-up (the view changed) or the next read.
import { errorMessage } from '../lib/errors.ts';
import type { Guard } from '../lib/etcd/guarded-write.ts';
import type { Logger } from '../lib/logging.ts';
import { Backoff, sleep, type Wakeup } from '../lib/timing.ts';
import { endTermIfFenced, guardOf, type Term } from './leader.ts';
import type { KsrMetrics } from './metrics.ts';

/** What one pass did. */
export interface PassResult {
  /** What changed; zero: nothing to do until something changes. */
  done: number;
  /** Something could not be done: back off, then read the records again. */
  failed: boolean;
}

/** The worker's part. */
export interface Reconciler<S> {
  /**
   * Whether the views planned from are complete. Before their first full lists an object not
   * seen yet would look gone (and its address released, its network retired).
   */
  ready(): boolean;
  /** Reads the records from etcd. */
  read(): Promise<S>;
  /** One plan carried out, `state` following every write. Throws on a failure of etcd itself. */
  pass(state: S, guard: Guard): Promise<PassResult>;
}

export interface ReconcileLoopOptions {
  /** The `kind` of `errors_total{reason="etcd"}` when a pass or a read throws. */
  kind: string;
  /** The log message then (the retry delay and the error are fields). */
  failure: string;
  /** How often to look again while not ready (a wake-up comes sooner). */
  readyPollMs: number;
  /** How often to read the records again (edited or deleted behind the leader's back). */
  resyncMs: number;
  backoffMs: { min: number; max: number };
  /** Notified when the view changes. */
  wake: Wakeup;
  logger: Logger;
  metrics: KsrMetrics;
}

/** Runs until the term ends; never throws. A write refused by the leader's guard ends the term. */
export async function runReconcileLoop<S>(
  term: Term,
  worker: Reconciler<S>,
  options: ReconcileLoopOptions,
): Promise<void> {
  const { wake, logger, metrics } = options;
  const signal = term.signal;
  const guard = guardOf(term);
  const backoff = new Backoff(options.backoffMs.min, options.backoffMs.max);
  let state: S | undefined;
  let readAt = 0;
  while (!signal.aborted) {
    try {
      if (!worker.ready()) {
        await wake.wait(options.readyPollMs, signal);
        continue;
      }
      if (state === undefined || Date.now() >= readAt) {
        state = await worker.read();
        readAt = Date.now() + options.resyncMs;
      }
      const { done, failed } = await worker.pass(state, guard);
      if (failed) {
        state = undefined;
        await sleep(backoff.next(), signal);
        continue;
      }
      backoff.reset();
      if (done === 0) await wake.wait(Math.max(0, readAt - Date.now()), signal);
    } catch (err) {
      if (signal.aborted) break;
      if (await endTermIfFenced(err, term, metrics)) break;
      metrics.errors.inc({ kind: options.kind, reason: 'etcd' });
      const delay = backoff.next();
      logger.warn({ err: errorMessage(err), retryInMs: delay }, options.failure);
      state = undefined;
      await sleep(delay, signal);
    }
  }
}
