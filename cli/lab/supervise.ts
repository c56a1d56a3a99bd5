// `netloom lab supervise`: the lab's watchdog daemon. Every second it looks at each component;
// one that died is started again (same spec, same ports, same data) under the lab lock, so it
// never races `lab up` or `lab restart`. Restarts back off when a component keeps dying.
import type { Logger } from '../../lib/logging.ts';
import { errorMessage } from '../../lib/errors.ts';
import { labComponents, type Binaries } from './components.ts';
import { isAlive, readPidFile } from './daemon.ts';
import { ensureRunning, tail } from './lifecycle.ts';
import { tryLock } from './lock.ts';
import { layoutOf, type LabState } from './state.ts';
import { sleep } from '../../lib/timing.ts';

export async function supervise(
  state: LabState,
  bins: Binaries,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  const layout = layoutOf(state);
  const components = labComponents(state, bins).filter((c) => c.name !== 'supervisor');
  const backoff = new Map<string, { until: number; delayMs: number }>();
  logger.info({ components: components.map((c) => c.name) }, 'supervising');
  while (!signal.aborted) {
    await sleep(1_000);
    for (const c of components) {
      if (signal.aborted) break;
      if (isAlive(readPidFile(c.spec.pidFile))) continue;
      const b = backoff.get(c.name);
      if (b && Date.now() < b.until) continue;
      const lock = tryLock(layout.files.lock, `lab supervise: restart ${c.name}`);
      if (!lock.ok) continue;
      try {
        // Checked again under the lock: `lab up` or `lab restart` may have started it meanwhile.
        if (isAlive(readPidFile(c.spec.pidFile))) continue;
        logger.warn(
          { component: c.name, lastLog: tail(c.spec.logFile, 5) },
          'component is down; starting it again',
        );
        const t0 = Date.now();
        await ensureRunning(c, 60_000);
        logger.info({ component: c.name, ms: Date.now() - t0 }, 'component running again');
        // A component that stays up for a minute has its backoff forgotten.
        backoff.set(c.name, { until: Date.now(), delayMs: 1_000 });
        setTimeout(() => backoff.delete(c.name), 60_000).unref();
      } catch (err) {
        const delayMs = Math.min((b?.delayMs ?? 1_000) * 2, 60_000);
        backoff.set(c.name, { until: Date.now() + delayMs, delayMs });
        logger.error({ component: c.name, err: errorMessage(err), retryInMs: delayMs }, 'restart failed');
      } finally {
        lock.release();
      }
    }
  }
}
