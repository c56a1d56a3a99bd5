// The daemon's core: one queue through which every steal, release, watchdog trip and
// recovery passes (never two kernel operations on interfaces at once), the in-memory view of
// what is held, rollback of failed steals, and background retries of failed releases.
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logging.ts';
import { AlreadyStolenError, KernelError, NotStolenError } from './errors.ts';
import type { IpRunner } from './iproute.ts';
import { readLink } from './kernel.ts';
import type { StnMetrics } from './metrics.ts';
import type { Phase, Recorded, StateRecord } from './model.ts';
import type { OpContext } from './ops.ts';
import { runRelease } from './release.ts';
import type { StateStore } from './state-file.ts';
import { prepareSteal, runSteal, type StealRequest } from './steal.ts';
import { VFIO_DRIVER, type Sysfs } from './sysfs.ts';
import { validateInterfaceName } from './validate.ts';
import { sleep } from '../lib/timing.ts';

export interface EngineOptions {
  ip: IpRunner;
  sysfs: Sysfs;
  store: StateStore;
  logger: Logger;
  metrics: StnMetrics;
  /** Budget for the kernel to show the result of one step. */
  timeoutMs: number;
  /** Pause after a failed release before trying again (the node must get its network back). */
  retryDelayMs: number;
  /** Test aid: pause after each step so a test can kill the daemon between steps. */
  stepPauseMs?: number;
  /** Told the number of interfaces held after every change (arms/disarms the watchdog). */
  onChange?: (held: number) => void;
}

export interface HeldInterface {
  record: Recorded;
  since: string;
  phase: Phase;
}

export interface RecoveryAction {
  interface: string;
  phase: Phase;
  action: 'restored' | 'resumed' | 'restore-failed';
  reason: string;
}

export class NicEngine {
  private readonly opts: EngineOptions;
  private readonly ctx: OpContext;
  private readonly held = new Map<string, StateRecord>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.ctx = {
      ip: opts.ip,
      sysfs: opts.sysfs,
      store: opts.store,
      logger: opts.logger,
      timeoutMs: opts.timeoutMs,
      afterStep: async (operation, step, name) => {
        opts.logger.info({ operation, step, interface: name }, 'step done');
        if (opts.stepPauseMs) await sleep(opts.stepPauseMs);
      },
    };
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private set(state: StateRecord | undefined, name: string): void {
    if (state) this.held.set(name, state);
    else this.held.delete(name);
    this.opts.metrics.stolen.set(this.held.size);
    this.opts.onChange?.(this.held.size);
  }

  list(): HeldInterface[] {
    return [...this.held.values()].map((s) => ({ record: s.interface, since: s.since, phase: s.phase }));
  }

  async steal(req: StealRequest): Promise<Recorded> {
    validateInterfaceName(req.name);
    return this.serialize(async () => {
      if (this.held.has(req.name) || (await this.opts.store.read(req.name))) {
        throw new AlreadyStolenError(`${req.name} is already stolen (release it first)`);
      }
      const rec = await prepareSteal(this.ctx, req);
      const since = new Date().toISOString();
      const end = this.opts.metrics.duration.startTimer({ operation: 'steal' });
      this.set({ version: 1, phase: 'stealing', since, interface: rec }, rec.name);
      try {
        await runSteal(this.ctx, rec, since);
      } catch (err) {
        await this.rollback(rec, since, err);
      }
      end();
      this.set({ version: 1, phase: 'stolen', since, interface: rec }, rec.name);
      this.opts.metrics.operations.inc({ operation: 'steal', result: 'ok' });
      this.opts.logger.info(
        {
          interface: rec.name,
          unbind: rec.unbind,
          addresses: rec.addresses.length,
          routes: rec.routes.length,
        },
        'interface stolen',
      );
      return rec;
    });
  }

  /** A steal failed part way: give back whatever it took, then report the steal's failure. */
  private async rollback(rec: Recorded, since: string, err: unknown): Promise<never> {
    const recorded = await this.opts.store.read(rec.name).catch(() => undefined);
    if (!recorded) {
      // The record is written before any change: without it nothing was touched.
      this.set(undefined, rec.name);
      this.opts.metrics.operations.inc({ operation: 'steal', result: 'error' });
      throw err;
    }
    try {
      await runRelease(this.ctx, { version: 1, phase: 'releasing', since, interface: rec });
      this.set(undefined, rec.name);
    } catch (rollbackErr) {
      this.set({ version: 1, phase: 'releasing', since, interface: rec }, rec.name);
      this.scheduleRetry(rec.name);
      this.opts.metrics.operations.inc({ operation: 'steal', result: 'error' });
      throw new KernelError(
        `steal of ${rec.name} failed (${errorMessage(err)}); rolling back failed too, retrying in the background: ${errorMessage(rollbackErr)}`,
        { cause: err },
      );
    }
    this.opts.metrics.operations.inc({ operation: 'steal', result: 'rolled_back' });
    throw new KernelError(`steal of ${rec.name} failed and was rolled back: ${errorMessage(err)}`, {
      cause: err,
    });
  }

  async release(name: string, reason: string): Promise<Recorded> {
    validateInterfaceName(name);
    return this.serialize(async () => {
      const state = this.held.get(name) ?? (await this.opts.store.read(name));
      if (!state) throw new NotStolenError(`${name} is not stolen`);
      await this.doRelease(state, reason);
      return state.interface;
    });
  }

  /** Gives every held interface back; failures are logged and retried in the background. */
  releaseAll(reason: string): Promise<void> {
    return this.serialize(async () => {
      for (const state of [...this.held.values()]) {
        await this.doRelease(state, reason).catch((err: unknown) => {
          this.opts.logger.error(
            { interface: state.interface.name, err: errorMessage(err) },
            'release failed; retrying in the background',
          );
        });
      }
    });
  }

  private async doRelease(state: StateRecord, reason: string): Promise<void> {
    const name = state.interface.name;
    const timer = this.retries.get(name);
    if (timer) clearTimeout(timer);
    this.retries.delete(name);
    const end = this.opts.metrics.duration.startTimer({ operation: 'release' });
    this.set({ ...state, phase: 'releasing' }, name);
    try {
      await runRelease(this.ctx, state);
    } catch (err) {
      this.opts.metrics.operations.inc({ operation: 'release', result: 'error' });
      this.scheduleRetry(name);
      throw err;
    }
    end();
    this.set(undefined, name);
    this.opts.metrics.operations.inc({ operation: 'release', result: 'ok' });
    this.opts.logger.info({ interface: name, reason }, 'interface given back to the kernel');
  }

  private scheduleRetry(name: string): void {
    if (this.closed || this.retries.has(name)) return;
    const timer = setTimeout(() => {
      this.retries.delete(name);
      void this.serialize(async () => {
        const state = this.held.get(name);
        if (state) await this.doRelease(state, 'retry after a failed release');
      }).catch((err: unknown) => {
        this.opts.logger.error(
          { interface: name, err: errorMessage(err) },
          'release retry failed; trying again',
        );
      });
    }, this.opts.retryDelayMs);
    timer.unref();
    this.retries.set(name, timer);
  }

  /**
   * Start-up: a state file means the previous daemon stopped while holding an interface.
   * stealing → restore (the steal never answered, the agent will ask again); releasing → finish
   * the release; stolen → resume holding it if the device is still where the steal left it.
   */
  recover(): Promise<RecoveryAction[]> {
    return this.serialize(async () => {
      const actions: RecoveryAction[] = [];
      for (const state of await this.opts.store.list()) {
        actions.push(await this.recoverOne(state));
      }
      return actions;
    });
  }

  private async recoverOne(state: StateRecord): Promise<RecoveryAction> {
    const rec = state.interface;
    const base = { interface: rec.name, phase: state.phase };
    let reason: string;
    if (state.phase === 'stolen') {
      const stale = await this.staleSteal(rec);
      if (stale === null) {
        this.set(state, rec.name);
        this.opts.metrics.recoveries.inc({ action: 'resumed' });
        this.opts.logger.warn(
          { ...base, action: 'resumed' },
          'found a completed steal: the interface stays stolen',
        );
        return { ...base, action: 'resumed', reason: 'the steal had completed' };
      }
      reason = stale;
    } else {
      reason =
        state.phase === 'stealing'
          ? 'the steal was interrupted before it completed'
          : 'a release was interrupted';
    }
    try {
      await this.doRelease(state, `recovery: ${reason}`);
    } catch (err) {
      this.opts.logger.error(
        { ...base, reason, err: errorMessage(err) },
        'recovery could not restore the interface yet; retrying',
      );
      return { ...base, action: 'restore-failed', reason: `${reason}; ${errorMessage(err)}` };
    }
    this.opts.metrics.recoveries.inc({ action: 'restored' });
    this.opts.logger.warn(
      { ...base, action: 'restored', reason },
      'found an unfinished operation: interface restored',
    );
    return { ...base, action: 'restored', reason };
  }

  /** Null when a completed steal still holds; else why the record no longer matches the machine. */
  private async staleSteal(rec: Recorded): Promise<string | null> {
    if (rec.unbind) {
      const driver = await this.opts.sysfs.driverOf(rec.pciAddress);
      return driver === VFIO_DRIVER
        ? null
        : `${rec.pciAddress} is bound to ${driver ?? 'no driver'}, not ${VFIO_DRIVER}`;
    }
    return (await readLink(this.opts.ip, rec.name)) ? null : `${rec.name} no longer exists`;
  }

  close(): void {
    this.closed = true;
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
  }
}
