// Small timing tools the loops share: an abortable sleep, exponential backoff with jitter, and a
// wake-up flag a producer sets and a loop waits on.

/** Sleeps `ms`, or less when `signal` aborts (never rejects). */
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

/** Exponential backoff from min to max with ±20% jitter, so replicas do not retry in step. */
export class Backoff {
  private readonly min: number;
  private readonly max: number;
  private current: number;

  constructor(min: number, max: number) {
    this.min = min;
    this.max = max;
    this.current = min;
  }

  /** The delay to wait now; the next one doubles. */
  next(): number {
    const base = this.current;
    this.current = Math.min(this.max, this.current * 2);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  reset(): void {
    this.current = this.min;
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
