// Liveness of a daemon's long-running loops, for /livez: a loop is alive while it waits for
// input (an etcd watch that has nothing to say, a timer) and while a unit of work it started is
// younger than `stuckAfterMs`; it is dead once a unit of work is older than that (wedged: a
// driver call or a handler that never returns) or once the loop itself has ended without being
// asked to. Waiting on etcd or the API server never counts against a loop: a restart would not
// bring either back, and restarting every agent during an etcd outage only adds load.
import { errorMessage } from './errors.ts';

/** A liveness check: null while alive, else why the process should be restarted. */
export type LivenessCheck = () => string | null;

export interface LoopPulseOptions {
  /** A unit of work running longer than this means the loop is wedged. */
  stuckAfterMs: number;
  now?: () => number;
}

interface Work {
  what: string;
  since: number;
}

export class LoopPulse {
  readonly name: string;
  private readonly stuckAfterMs: number;
  private readonly now: () => number;
  private readonly running = new Set<Work>();
  private death: string | undefined;
  private stopping = false;

  constructor(name: string, opts: LoopPulseOptions) {
    this.name = name;
    this.stuckAfterMs = opts.stuckAfterMs;
    this.now = opts.now ?? Date.now;
  }

  /** Runs one unit of work, which counts against the loop while it runs. */
  async work<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const w: Work = { what, since: this.now() };
    this.running.add(w);
    try {
      return await fn();
    } finally {
      this.running.delete(w);
    }
  }

  /** The loop is being shut down: its end is expected and not a death. */
  stop(): void {
    this.stopping = true;
  }

  /** The loop's promise settled; unless stop() came first, the loop is dead. */
  ended(err?: unknown): void {
    if (this.stopping) return;
    this.death = err === undefined ? 'the loop returned' : errorMessage(err);
  }

  check(): string | null {
    if (this.death !== undefined) return `${this.name}: loop ended: ${this.death}`;
    const now = this.now();
    let oldest: Work | undefined;
    for (const w of this.running) if (oldest === undefined || w.since < oldest.since) oldest = w;
    if (oldest === undefined) return null;
    return overdue(`${this.name}: stuck on ${oldest.what}`, oldest.since, now, this.stuckAfterMs);
  }

  /** Follows a loop's promise: its settling is the loop's end (see ended()). */
  follow(loop: Promise<unknown>): Promise<void> {
    return loop.then(
      () => this.ended(),
      (err: unknown) => {
        this.ended(err);
        throw err;
      },
    );
  }
}

/** Null while `what`, the case since `sinceMs`, is within `limitMs`; else `what` for how long, and the limit. */
export function overdue(what: string, sinceMs: number, nowMs: number, limitMs: number): string | null {
  const age = nowMs - sinceMs;
  if (age <= limitMs) return null;
  return `${what} for ${(age / 1000).toFixed(1)} s (limit ${(limitMs / 1000).toFixed(1)} s)`;
}

/**
 * A loop that turns at least every so often when healthy (its waits are bounded, as KSR's
 * syncer waits at most a heartbeat): alive while active and its last turn is within
 * `stuckAfterMs`; an inactive loop (a standby's syncer) is never held against the process.
 */
export class Heartbeat {
  readonly name: string;
  private readonly stuckAfterMs: number;
  private readonly now: () => number;
  private last: number | undefined;

  constructor(name: string, opts: LoopPulseOptions) {
    this.name = name;
    this.stuckAfterMs = opts.stuckAfterMs;
    this.now = opts.now ?? Date.now;
  }

  /** The loop turned (and is active from now on). */
  beat(): void {
    this.last = this.now();
  }

  /** The loop ended on purpose (a term over): nothing to watch until the next beat. */
  idle(): void {
    this.last = undefined;
  }

  check(): string | null {
    if (this.last === undefined) return null;
    return overdue(`${this.name}: no turn of its loop`, this.last, this.now(), this.stuckAfterMs);
  }
}
