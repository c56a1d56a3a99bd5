// Giving memory back after bulk work. A list of 100k objects leaves V8's old space full of
// garbage pages (parsed list pages, intermediate conversions); after collection V8 keeps those
// pages committed, so resident memory stays 2–3× the live heap, and in Node its memory reducer
// does not shrink the heap on its own (measured: no change after a minute idle). A compacting
// ("last resort") major GC returns them — about 0.4 s at 100k objects on this machine — so KSR
// runs one, debounced, after each full sync and each large relist, i.e. rarely.
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from '../lib/logging.ts';

type Gc = (options?: {
  type?: 'major' | 'minor';
  execution?: 'sync' | 'async';
  flavor?: 'regular' | 'last-resort';
}) => unknown;

function findGc(): Gc {
  const existing = (globalThis as { gc?: Gc }).gc;
  if (existing) return existing;
  // Without --expose-gc: the flag can still be set at run time; a new context then has `gc`.
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as Gc;
}

export class HeapCompactor {
  private readonly minIntervalMs: number;
  private readonly logger: Logger;
  private gc: Gc | undefined;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, minIntervalMs = 60_000) {
    this.logger = logger;
    this.minIntervalMs = minIntervalMs;
  }

  /** Asks for a compaction soon (coalesced; at most one per minIntervalMs). */
  request(delayMs = 1_000): void {
    if (this.timer) return;
    const wait = Math.max(delayMs, this.last + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.compactNow();
    }, wait);
    this.timer.unref();
  }

  /** Compacts at once (the benchmark calls this to measure what KSR does). */
  compactNow(): void {
    this.last = Date.now();
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    try {
      this.gc ??= findGc();
      this.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    } catch (err) {
      this.logger.debug({ err: String(err) }, 'heap compaction unavailable');
      return;
    }
    const after = process.memoryUsage().rss;
    this.logger.info(
      {
        ms: Math.round(performance.now() - t0),
        rssBeforeMb: Math.round(before / 1e6),
        rssAfterMb: Math.round(after / 1e6),
      },
      'heap compacted after bulk work',
    );
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
