// One agent per state directory: a pid file created exclusively. A file left by a dead
// process (crash, kill -9) is taken over; one of a live process is a clear error.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetloomError } from '../../lib/errors.ts';

export class AgentAlreadyRunningError extends NetloomError {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface PidLock {
  release(): void;
}

export function acquirePidLock(stateDir: string, name = 'agent.pid'): PidLock {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, name);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return { release: () => rmSync(path, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new AgentAlreadyRunningError(
        `another agent (pid ${pid}) is running with state directory ${stateDir}`,
      );
    }
    rmSync(path, { force: true }); // left by a dead agent
  }
  throw new AgentAlreadyRunningError(`cannot take the pid lock ${path}`);
}
