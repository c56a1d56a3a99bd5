// Starting one component and knowing it is ready, shared by `lab up`, `lab restart` and the
// supervisor: a live component is left alone, a dead one is started again with the same spec.
import { tailLines } from '../../lib/files.ts';
import type { Component } from './components.ts';
import { isAlive, readPidFile, startDaemon, stopProcess, type PidRecord } from './daemon.ts';
import { LabError } from './exec.ts';
import { sleep } from '../../lib/timing.ts';

export function tail(file: string, lines = 25): string {
  return tailLines(file, lines);
}

export function runningRecord(c: Component): PidRecord | undefined {
  const rec = readPidFile(c.spec.pidFile);
  return isAlive(rec) ? rec : undefined;
}

/** Polls the component's probe until ready; throws (with the log's tail) if it dies or times out. */
export async function waitReady(c: Component, rec: PidRecord, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(rec))
      throw new LabError(`${c.title} exited while starting; ${c.spec.logFile}:\n${tail(c.spec.logFile)}`);
    if (await c.ready().catch(() => false)) return;
    if (Date.now() >= deadline)
      throw new LabError(
        `${c.title} not ready after ${Math.round(timeoutMs / 1000)} s; ${c.spec.logFile}:\n${tail(c.spec.logFile)}`,
      );
    await sleep(100);
  }
}

export interface Ensured {
  rec: PidRecord;
  /** False when it was running already. */
  started: boolean;
}

/** Starts the component unless it runs, then waits until it is ready. */
export async function ensureRunning(c: Component, timeoutMs: number): Promise<Ensured> {
  const running = runningRecord(c);
  if (running) {
    await waitReady(c, running, timeoutMs);
    return { rec: running, started: false };
  }
  c.prepare?.();
  const rec = startDaemon(c.spec);
  await waitReady(c, rec, timeoutMs);
  return { rec, started: true };
}

/** Stops the component (SIGTERM, SIGKILL after the grace period). */
export async function stopComponent(c: Component, graceMs = 10_000): Promise<void> {
  const rec = runningRecord(c);
  if (rec) await stopProcess(rec, graceMs);
}
