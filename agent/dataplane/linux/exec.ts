// Running the kernel tools (ip, bridge, nft, sysctl) as child processes, optionally inside
// another network namespace. Every call is bounded by a timeout: a wedged tool must fail the
// item (retriably), never hang the scheduler.
import { spawn } from 'node:child_process';
import { LinuxCommandError } from './errors.ts';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ExecOptions {
  stdin?: string;
  timeoutMs?: number;
}

/** Spawns one process and collects its output; the seam tests replace to record commands. */
export interface Runner {
  run(cmd: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** The real runner: one child process per call, killed when it outlives its timeout. */
export function spawnRunner(defaults: { timeoutMs?: number } = {}): Runner {
  return {
    run(cmd, args, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? defaults.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, timeoutMs);
        child.stdout.on('data', (b: Buffer) => out.push(b));
        child.stderr.on('data', (b: Buffer) => err.push(b));
        child.on('error', (e) => {
          clearTimeout(timer);
          reject(
            new LinuxCommandError(`${cmd}: ${e.message}`, { command: cmd, condition: 'other', cause: e }),
          );
        });
        child.on('close', (code) => {
          clearTimeout(timer);
          const stderr = Buffer.concat(err).toString();
          if (timedOut) {
            reject(
              new LinuxCommandError(`${cmd} timed out after ${timeoutMs} ms`, {
                command: cmd,
                condition: 'busy',
              }),
            );
            return;
          }
          resolve({ stdout: Buffer.concat(out).toString(), stderr, code: code ?? -1 });
        });
        // A tool that exits before reading stdin closes the pipe; its exit code tells what happened.
        child.stdin.on('error', () => undefined);
        child.stdin.end(opts.stdin ?? '');
      });
    },
  };
}

/** Counts the processes a runner starts (what "a pod costs N spawns" is measured with). */
export function countingRunner(inner: Runner): Runner & { count: number; commands: string[] } {
  const r = {
    count: 0,
    commands: [] as string[],
    run(cmd: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
      r.count++;
      r.commands.push([cmd, ...args].join(' '));
      return inner.run(cmd, args, opts);
    },
  };
  return r;
}

/**
 * A network namespace as the kernel tools need it: a path (/proc/<pid>/ns/net,
 * /var/run/netns/x) or a name under /run/netns. Undefined means "where the agent runs".
 */
export function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `/run/netns/${netns}`;
}

/** The command line that runs `cmd args` inside `netns` (nsenter accepts any netns path). */
export function inNetns(netns: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  if (netns === undefined) return [cmd, [...args]];
  return ['nsenter', [`--net=${netnsPath(netns)}`, '--', cmd, ...args]];
}
