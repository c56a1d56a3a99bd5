// Long-lived lab processes: started detached (own session, so neither Ctrl-C nor the death of
// `lab up` reaches them), output appended to a log file, identity kept in a pid file as pid +
// kernel start time (a recycled pid is never mistaken for the daemon), and every one carries
// NETLOOM_LAB=<name> in its environment so `lab down` finds it even without its pid file.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ENV_MARKER } from './layout.ts';
import { sleep } from '../../lib/timing.ts';

export interface PidRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks since boot when the process started. */
  startTime: string;
  command: string;
  startedAt: string;
}

export interface DaemonSpec {
  command: string;
  args: string[];
  logFile: string;
  pidFile: string;
  /** Lab name for the NETLOOM_LAB marker. */
  marker: string;
  /** Run inside this network namespace (`ip netns exec`, which execs: the pid is the daemon's). */
  netns?: string;
  /** Run through this prefix instead (e.g. `nsenter … --`, which execs: the pid is the daemon's). */
  wrap?: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** The kernel's start time of a process, or undefined when it does not exist (or is a zombie). */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
  return rest[19];
}

export function isAlive(rec: PidRecord | undefined): rec is PidRecord {
  return rec !== undefined && processStartTime(rec.pid) === rec.startTime;
}

export function readPidFile(path: string): PidRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(path, 'utf8')) as Partial<PidRecord>;
    return typeof rec.pid === 'number' && typeof rec.startTime === 'string'
      ? { pid: rec.pid, startTime: rec.startTime, command: rec.command ?? '', startedAt: rec.startedAt ?? '' }
      : undefined;
  } catch {
    return undefined;
  }
}

export function recordOf(pid: number, command: string): PidRecord | undefined {
  const startTime = processStartTime(pid);
  return startTime === undefined
    ? undefined
    : { pid, startTime, command, startedAt: new Date().toISOString() };
}

export function writePidFile(path: string, rec: PidRecord): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(rec) + '\n');
}

/** Starts a detached daemon and records it; returns its pid record. */
export function startDaemon(spec: DaemonSpec): PidRecord {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const fd = openSync(spec.logFile, 'a');
  const [command, args]: [string, string[]] = spec.wrap
    ? [spec.wrap[0]!, [...spec.wrap.slice(1), spec.command, ...spec.args]]
    : spec.netns
      ? ['ip', ['netns', 'exec', spec.netns, spec.command, ...spec.args]]
      : [spec.command, spec.args];
  let child;
  try {
    child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...spec.env, [ENV_MARKER]: spec.marker },
      cwd: spec.cwd,
    });
  } finally {
    closeSync(fd);
  }
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${spec.command}`);
  const rec = recordOf(pid, [command, ...args].join(' ')) ?? {
    pid,
    startTime: '',
    command,
    startedAt: new Date().toISOString(),
  };
  writePidFile(spec.pidFile, rec);
  return rec;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(rec: PidRecord, graceMs = 5_000): Promise<void> {
  if (!isAlive(rec)) return;
  signal(rec.pid, graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  const deadline = Date.now() + graceMs;
  while (isAlive(rec)) {
    if (Date.now() >= deadline) {
      signal(rec.pid, 'SIGKILL');
      // A SIGKILLed process is gone once the kernel reaps it; our own children are reaped by Node.
      for (let i = 0; i < 50 && isAlive(rec); i++) await sleep(20);
      return;
    }
    await sleep(50);
  }
}

/** Every live process whose environment carries NETLOOM_LAB=<marker> (root sees them all). */
export function markedProcesses(marker: string): PidRecord[] {
  const needle = Buffer.from(`\0${ENV_MARKER}=${marker}\0`);
  const first = Buffer.from(`${ENV_MARKER}=${marker}\0`);
  const found: PidRecord[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue;
    }
    if (environ.includes(needle) || environ.subarray(0, first.length).equals(first)) {
      const rec = recordOf(pid, '');
      if (rec) found.push(rec);
    }
  }
  return found;
}
