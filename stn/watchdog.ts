// The watchdog: while an interface is stolen, check that the data plane is alive (its API
// answers, its host-side interface is up) every interval; when checks have failed
// `failureThreshold` times in a row AND for at least `failurePeriodMs` since the first of
// them, give every NIC back. Both bounds: the count alone shrinks to nothing with a short
// interval, the period alone would trip on one slow check. The period is what rides out a
// data plane restart or a stall; the agent's own restarts and etcd are not watched at all
// (the control plane's readiness is not the data plane's liveness). Failures before the first
// healthy check count only after a start-up grace: the data plane may come up after the steal.
import type { Counter } from 'prom-client';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logging.ts';
import type { WatchdogStatus } from '../proto/gen/netloom/stn/v1/WatchdogStatus.ts';

export interface Probe {
  name: string;
  /** Resolves null when healthy, else the reason. */
  check: (signal: AbortSignal) => Promise<string | null>;
}

export interface WatchdogOptions {
  probes: Probe[];
  intervalMs: number;
  failureThreshold: number;
  /** Failures must also have lasted this long (first failure → this check); 0: the count alone. */
  failurePeriodMs?: number;
  graceMs: number;
  /** Called once per trip; the watchdog is disarmed before it runs. */
  onTrip: (reason: string) => Promise<void>;
  logger: Logger;
  failures?: Counter;
  now?: () => number;
}

export class Watchdog {
  private readonly opts: WatchdogOptions;
  private readonly now: () => number;
  private armedAt: number | undefined;
  private healthySeen = false;
  private consecutive = 0;
  /** When the current run of counted failures began. */
  private failingSince: number | undefined;
  private lastCheck: number | undefined;
  private lastError = '';
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;

  constructor(opts: WatchdogOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.opts.probes.length > 0;
  }

  get armed(): boolean {
    return this.armedAt !== undefined;
  }

  /** Starts watching (idempotent while armed). */
  arm(): void {
    if (!this.enabled || this.armed) return;
    this.armedAt = this.now();
    this.healthySeen = false;
    this.consecutive = 0;
    this.failingSince = undefined;
    this.lastError = '';
    this.lastCheck = undefined;
    this.generation++;
    this.schedule();
  }

  disarm(): void {
    this.armedAt = undefined;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const gen = this.generation;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => {
        if (gen === this.generation && this.armed) this.schedule();
      });
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  private async runProbes(): Promise<string | null> {
    const signal = AbortSignal.timeout(Math.min(5_000, Math.max(250, this.opts.intervalMs)));
    const results = await Promise.all(
      this.opts.probes.map(async (p) => {
        try {
          const r = await p.check(signal);
          return r === null ? null : `${p.name}: ${r}`;
        } catch (err) {
          return `${p.name}: ${errorMessage(err)}`;
        }
      }),
    );
    const failed = results.filter((r): r is string => r !== null);
    return failed.length === 0 ? null : failed.join('; ');
  }

  /** One check. Public so tests drive it without timers. */
  async tick(): Promise<void> {
    if (!this.armed) return;
    const gen = this.generation;
    const failure = await this.runProbes();
    if (gen !== this.generation || this.armedAt === undefined) return;
    this.lastCheck = this.now();
    if (failure === null) {
      if (this.consecutive > 0)
        this.opts.logger.info({ after: this.consecutive }, 'watchdog: data plane healthy again');
      this.healthySeen = true;
      this.consecutive = 0;
      this.failingSince = undefined;
      this.lastError = '';
      return;
    }
    this.lastError = failure;
    if (!this.healthySeen && this.lastCheck - this.armedAt < this.opts.graceMs) {
      this.opts.logger.debug({ failure }, 'watchdog: not healthy yet (start-up grace)');
      return;
    }
    this.consecutive++;
    this.failingSince ??= this.lastCheck;
    const failingMs = this.lastCheck - this.failingSince;
    const periodMs = this.opts.failurePeriodMs ?? 0;
    this.opts.failures?.inc();
    this.opts.logger.warn(
      {
        failure,
        consecutive: this.consecutive,
        threshold: this.opts.failureThreshold,
        failingMs,
        periodMs,
      },
      'watchdog check failed',
    );
    if (this.consecutive < this.opts.failureThreshold || failingMs < periodMs) return;
    const reason = `${this.consecutive} consecutive failed checks over ${failingMs} ms, last: ${failure}`;
    this.disarm();
    await this.opts.onTrip(reason);
  }

  status(): WatchdogStatus {
    return {
      enabled: this.enabled && this.armed,
      consecutiveFailures: this.consecutive,
      failureThreshold: this.opts.failureThreshold,
      lastCheck: this.lastCheck === undefined ? '' : new Date(this.lastCheck).toISOString(),
      lastError: this.lastError,
    };
  }
}
