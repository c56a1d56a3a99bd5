// Timing tools every retry loop shares: an abortable sleep, exponential backoff with jitter, a
// wake-up flag a producer sets and a loop waits on, and a deadline to poll against.

/**
 * Sleeps `ms`, or less when `signal` aborts. It resolves on abort and never rejects: every loop
 * that sleeps checks its signal right after anyway, and a rejection would force a try/catch
 * around each pause (node:timers/promises rejects with AbortError, which is why it is not used).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * How delays spread around the exponential base, so that replicas do not retry in step:
 * `centered` is base ±20%; `upper-half` is uniform in [ceiling/2, ceiling].
 */
export type Jitter = 'centered' | 'upper-half';

export interface BackoffOptions {
  jitter?: Jitter;
  /** A source of [0, 1) numbers; tests pass a constant. */
  random?: () => number;
}

/** The delay before retry number `attempt` (0-based): min·2^attempt capped at max, jittered. */
export function backoffDelay(attempt: number, min: number, max: number, opts: BackoffOptions = {}): number {
  const base = Math.min(max, min * 2 ** Math.min(attempt, 52));
  const r = (opts.random ?? Math.random)();
  return opts.jitter === 'upper-half'
    ? Math.round(base / 2 + (r * base) / 2)
    : Math.round(base * (0.8 + r * 0.4));
}

/** Exponential backoff from min to max with jitter; reset() after a success. */
export class Backoff {
  private readonly min: number;
  private readonly max: number;
  private readonly opts: BackoffOptions;
  private attempt = 0;

  constructor(min: number, max: number, opts: BackoffOptions = {}) {
    this.min = min;
    this.max = max;
    this.opts = opts;
  }

  /** The delay to wait now; the next one doubles. */
  next(): number {
    return backoffDelay(this.attempt++, this.min, this.max, this.opts);
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** A level-triggered wake-up: notify() before wait() is not lost. */
export class Wakeup {
  private pending = false;
  private waiter: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Resolves on notify, after `ms`, or when `signal` aborts; clears the flag. */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (!this.pending && !signal?.aborted) {
      const ctl = new AbortController();
      const onAbort = (): void => ctl.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = () => ctl.abort();
      await sleep(ms, ctl.signal);
      signal?.removeEventListener('abort', onAbort);
      this.waiter = undefined;
    }
    this.pending = false;
  }
}

/** A point in time a polling loop gives up at. */
export class Deadline {
  /** Date.now() value at which the deadline passes. */
  readonly at: number;

  constructor(ms: number) {
    this.at = Date.now() + ms;
  }

  /** Milliseconds left, never negative. */
  remaining(): number {
    return Math.max(0, this.at - Date.now());
  }

  expired(): boolean {
    return Date.now() >= this.at;
  }

  /** Sleeps `ms`, cut short so as not to overshoot the deadline (or when `signal` aborts). */
  pause(ms: number, signal?: AbortSignal): Promise<void> {
    return sleep(Math.min(ms, this.remaining()), signal);
  }
}
