// Child processes for tests: output to a log file (shown when a start fails), a readiness
// probe with a deadline, stop (SIGTERM, then SIGKILL) and kill -9. Every child is also killed
// when the test process exits, so a failing test never leaks a server.
import { tailLines } from '../../lib/files.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { sleep } from '../../lib/timing.ts';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class TestProcess {
  readonly name: string;
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  private readonly opts: SpawnOptions;

  constructor(opts: SpawnOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.logFile = opts.logFile;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const fd = openSync(this.opts.logFile, 'a');
    const child = spawn(this.opts.command, this.opts.args, {
      stdio: ['ignore', fd, fd],
      env: this.opts.env ?? process.env,
      cwd: this.opts.cwd,
    });
    closeSync(fd);
    live.add(child);
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        live.delete(child);
        resolve(code);
      });
      child.once('error', () => {
        live.delete(child);
        resolve(-1);
      });
    });
  }

  /** The last lines of the log, for error messages. */
  tail(lines = 30): string {
    return tailLines(this.logFile, lines);
  }

  /** Polls `probe` until it returns true, the process dies, or the deadline passes. */
  async waitUntil(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(`${this.name} exited before ${what}; log ${this.logFile}:\n${this.tail()}`);
      if (await probe().catch(() => false)) return;
      await sleep(100);
    }
    throw new Error(`${this.name} not ${what} after ${timeoutMs} ms; log ${this.logFile}:\n${this.tail()}`);
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** kill -9, and wait until it is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exited;
  }
}
