// One process at a time changes a lab (`lab up`, `lab restart`, the supervisor's restarts): a
// lock file holding the owner's pid record. A lock whose owner died (kill -9) is taken over.
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { isAlive, readPidFile, recordOf, type PidRecord } from './daemon.ts';
import { sleep } from '../../lib/timing.ts';

export type LockResult = { ok: true; release: () => void } | { ok: false; holder: PidRecord };

export function tryLock(path: string, what: string): LockResult {
  mkdirSync(dirname(path), { recursive: true });
  const me = recordOf(process.pid, what);
  if (!me) throw new Error('cannot read my own /proc entry');
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readPidFile(path);
      if (isAlive(holder)) return { ok: false, holder };
      // Stale (its owner is gone) or half-written: remove and try again.
      rmSync(path, { force: true });
      continue;
    }
    writeSync(fd, JSON.stringify(me) + '\n');
    closeSync(fd);
    return {
      ok: true,
      release: () => {
        const cur = readPidFile(path);
        if (cur?.pid === me.pid && cur.startTime === me.startTime) rmSync(path, { force: true });
      },
    };
  }
  const holder = readPidFile(path);
  return holder ? { ok: false, holder } : { ok: false, holder: me };
}

/** Waits for the lock up to `timeoutMs`. */
export async function lock(path: string, what: string, timeoutMs: number): Promise<LockResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = tryLock(path, what);
    if (res.ok || Date.now() >= deadline) return res;
    await sleep(100);
  }
}
