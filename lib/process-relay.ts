// A ProcessRunner (lib/iproute.ts) that starts processes through a small pool of long-lived
// `/bin/sh` relays instead of forking this process. Forking a Node process of ~100 MB costs
// several ms (page tables, then exec), forking a small shell a fraction of that; every command is
// still a fresh `ip` or `nft`, so nothing is cached across requests (unlike a long-lived
// `ip -batch -`, ADR 0007). Measured in bench/spawn.ts.
//
// A request takes a free relay, starts one (up to `size`) or waits its turn. The shell gets one
// line per request (lib/process-relay-protocol.ts): every word single-quoted, stdin from a
// private 0600 file on tmpfs (or /dev/null), the end marked on stdout (with the exit status) and
// on stderr by a token unique to the request, so both outputs come back separately and exactly.
// The files' directory carries the process ID in its name: one left by a process that died
// without closing its relay (SIGKILL) is removed by the next relay to make one. (A stdin passed
// as a here-document instead of a file was tried: bench/spawn.ts showed no difference.)
// A request that outlives its timeout kills the relay's whole process group (the relay is its
// leader; a non-interactive shell keeps its children in it) and fails as a direct spawn's
// timeout does (ToolError, `timedOut`, retriable); a relay that dies fails its request and is
// replaced on the next one. What a relay cannot do the same way goes to a direct spawn: another
// environment, `processGroup` (a program that forks and must be killed as a group), a command
// not found on PATH (the direct spawn reports it as it always did), a relay that cannot start.
//
// Differences from a direct spawn, none of which the kernel tools meet: a command killed by a
// signal reports 128 + the signal number (a shell's `$?`) where a direct spawn reports -1; the
// relays keep the environment and working directory of the moment they started; output written
// after the command exited by something it left running is not waited for.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  DEFAULT_TIMEOUT_MS,
  runProcess,
  ToolError,
  type ProcessOptions,
  type ProcessResult,
  type ProcessRunner,
} from './iproute.ts';
import { MarkScanner, parseStatus, relayLine, type Marked } from './process-relay-protocol.ts';

export interface ProcessRelayOptions {
  /** How many relays at most (requests beyond wait for a free one); default 4. */
  size?: number;
  /** Per-request timeout unless the request names one; default lib/iproute.ts's. */
  timeoutMs?: number;
  /** The relay's shell; default /bin/sh. */
  shell?: string;
  /** Where the private directory for stdin files goes; default /dev/shm (tmpfs), else os.tmpdir(). */
  tmpBase?: string;
  /** Runs what the relays do not (another env, processGroup, unknown command); default runProcess. */
  direct?: ProcessRunner;
}

/** Counters, for tests and the benchmark. */
export interface ProcessRelayStats {
  /** Relays alive now, and how many of them run a request. */
  relays: number;
  busy: number;
  /** Requests waiting for a relay. */
  queued: number;
  /** Relays started so far (a timeout or a death makes the next request start another). */
  spawned: number;
  /** Requests answered through a relay, and requests handed to a direct spawn. */
  relayed: number;
  direct: number;
}

interface Request {
  args: readonly string[];
  /** The command line as errors name it (`cmd args…`, as a direct spawn's). */
  command: string;
  timeoutMs: number;
}

/** How a relayed request ended; `notStarted`: the relay was gone before it ran anything. */
type Outcome = { result: ProcessResult } | { error: ToolError } | { notStarted: true };

/** The stdin files' directory: `<prefix><pid>-<random>`. */
const DIR_PREFIX = 'netloom-relay-';

/**
 * Removes the stdin directories of processes that are gone (killed before they could close their
 * relay), this user's only; a process alive keeps its own.
 */
async function sweepDeadDirs(base: string): Promise<void> {
  const names = await readdir(base).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const pid = Number(/^netloom-relay-(\d+)-/.exec(name)?.[1] ?? NaN);
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) return;
      const path = join(base, name);
      const st = await stat(path).catch(() => undefined);
      if (st?.isDirectory() === true && st.uid === process.getuid?.())
        await rm(path, { recursive: true, force: true }).catch(() => undefined);
    }),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // another user's: alive
  }
}

/** A relay that failed to start: the requests of the next while go straight to direct spawns. */
const SPAWN_FAILURE_BACKOFF_MS = 30_000;

export class ProcessRelay implements ProcessRunner {
  private readonly size: number;
  private readonly timeoutMs: number;
  private readonly shell: string;
  private readonly tmpBase: string;
  private readonly direct: ProcessRunner;
  private readonly relays = new Set<Relay>();
  private readonly idle: Relay[] = [];
  private readonly waiting: ((relay: Relay | Error) => void)[] = [];
  private readonly paths = new Map<string, string>();
  private dir: Promise<string> | undefined;
  private files = 0;
  private closed = false;
  private spawnFailedAt = -Infinity;
  private readonly counts = { spawned: 0, relayed: 0, direct: 0 };

  constructor(opts: ProcessRelayOptions = {}) {
    this.size = Math.max(1, Math.floor(opts.size ?? 4));
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.shell = opts.shell ?? '/bin/sh';
    this.tmpBase = opts.tmpBase ?? defaultTmpBase();
    this.direct = opts.direct ?? { run: runProcess };
  }

  stats(): ProcessRelayStats {
    return {
      relays: this.relays.size,
      busy: this.relays.size - this.idle.length,
      queued: this.waiting.length,
      ...this.counts,
    };
  }

  async run(cmd: string, args: readonly string[], opts: ProcessOptions = {}): Promise<ProcessResult> {
    const command = [cmd, ...args].join(' ');
    if (this.closed) throw new ToolError(`${command}: process relay closed`, { command });
    const bad = [cmd, ...args].find((a) => a.includes('\0'));
    if (bad !== undefined)
      throw new ToolError(`${cmd}: refused an argument with a NUL byte: ${JSON.stringify(bad)}`, { command });
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const path = this.relayable(cmd, opts);
    if (path === undefined) return this.runDirect(cmd, args, { ...opts, timeoutMs });
    const stdinPath = opts.stdin !== undefined ? await this.stdinFile(command, opts.stdin) : undefined;
    try {
      const relay = await this.acquire();
      if (relay instanceof Error) throw new ToolError(`${command}: ${relay.message}`, { command });
      let outcome: Outcome;
      try {
        outcome = await relay.run({ args, command, timeoutMs }, path, stdinPath);
      } finally {
        this.release(relay);
      }
      if ('notStarted' in outcome) return await this.runDirect(cmd, args, { ...opts, timeoutMs });
      if ('error' in outcome) throw outcome.error;
      this.counts.relayed++;
      return outcome.result;
    } finally {
      if (stdinPath !== undefined) await unlink(stdinPath).catch(() => undefined);
    }
  }

  /**
   * Stops taking requests: waiting ones fail, running ones finish (each bounded by its timeout),
   * then the relays exit and the stdin directory goes.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.splice(0)) w(new Error('process relay closed'));
    await Promise.all([...this.relays].map((r) => r.end()));
    if (this.dir) await rm(await this.dir.catch(() => ''), { recursive: true, force: true });
  }

  /** The path the relay runs `cmd` by, or undefined when a direct spawn must run it. */
  private relayable(cmd: string, opts: ProcessOptions): string | undefined {
    if (opts.processGroup === true) return undefined;
    if (opts.env !== undefined && opts.env !== process.env) return undefined;
    if (performance.now() - this.spawnFailedAt < SPAWN_FAILURE_BACKOFF_MS) return undefined;
    if (cmd.includes('/')) return cmd;
    let path = this.paths.get(cmd);
    if (path === undefined) {
      path = lookPath(cmd, process.env['PATH'] ?? '');
      if (path === undefined) return undefined; // not cached: it may be installed later
      this.paths.set(cmd, path);
    }
    return path;
  }

  private runDirect(cmd: string, args: readonly string[], opts: ProcessOptions): Promise<ProcessResult> {
    this.counts.direct++;
    return this.direct.run(cmd, args, opts);
  }

  private async stdinFile(command: string, stdin: string): Promise<string> {
    try {
      // mkdtemp makes the directory 0700; each file is created 0600 and never reused.
      this.dir ??= sweepDeadDirs(this.tmpBase).then(() =>
        mkdtemp(join(this.tmpBase, `${DIR_PREFIX}${process.pid}-`)),
      );
      const file = join(await this.dir, `in-${++this.files}`);
      await writeFile(file, stdin, { mode: 0o600, flag: 'wx' });
      return file;
    } catch (err) {
      this.dir = undefined; // try a new directory next time (someone may have removed it)
      throw new ToolError(
        `${command}: could not write its stdin for the process relay: ${(err as Error).message}`,
        {
          command,
          cause: err,
        },
      );
    }
  }

  private acquire(): Promise<Relay | Error> {
    const free = this.idle.pop();
    if (free) return Promise.resolve(free);
    if (this.relays.size < this.size) return Promise.resolve(this.spawnRelay());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(relay: Relay): void {
    if (!relay.alive) {
      this.relays.delete(relay);
    } else if (!this.closed) {
      this.idle.push(relay);
    }
    // A relay freed (or a place freed by one that died) goes to the longest waiter.
    const next = this.waiting.shift();
    if (next) void this.acquire().then(next);
  }

  private spawnRelay(): Relay {
    this.counts.spawned++;
    const relay = new Relay(this.shell, {
      onExit: (r) => {
        this.relays.delete(r);
        const i = this.idle.indexOf(r);
        if (i >= 0) this.idle.splice(i, 1);
        // A relay that dies idle frees a place for a waiter.
        if (i >= 0 && this.waiting.length > 0) {
          const next = this.waiting.shift();
          if (next) void this.acquire().then(next);
        }
      },
      onSpawnError: () => {
        this.spawnFailedAt = performance.now();
      },
    });
    this.relays.add(relay);
    return relay;
  }
}

/** One long-lived shell and the request it runs (one at a time). */
class Relay {
  private readonly child: ChildProcess;
  private readonly prefix = randomBytes(12).toString('hex');
  private seq = 0;
  private started = false;
  private exited = false;
  private current:
    | {
        req: Request;
        out: MarkScanner;
        err: MarkScanner;
        outDone?: Marked;
        errDone?: Marked;
        timer: NodeJS.Timeout;
        settle: (o: Outcome) => void;
      }
    | undefined;
  /** Resolves when the request in flight has settled (close waits for it). */
  private drained: Promise<void> = Promise.resolve();
  private readonly gone: Promise<void>;
  private readonly hooks: { onExit: (r: Relay) => void; onSpawnError: () => void };

  constructor(shell: string, hooks: { onExit: (r: Relay) => void; onSpawnError: () => void }) {
    this.hooks = hooks;
    // Its own process group (detached: a new session), so a timeout kills what it runs too.
    this.child = spawn(shell, [], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: process.env });
    this.child.on('spawn', () => (this.started = true));
    this.child.stdout?.on('data', (b: Buffer) => this.data('out', b));
    this.child.stderr?.on('data', (b: Buffer) => this.data('err', b));
    this.child.stdin?.on('error', () => undefined); // reported by 'exit'
    this.gone = new Promise((resolve) => {
      this.child.on('error', (e) => {
        if (!this.started) {
          this.hooks.onSpawnError();
          this.died(e);
        }
        resolve();
      });
      // 'exit', not 'close': a command the shell left behind may hold the pipes open.
      this.child.on('exit', (code, signal) => {
        this.died(new Error(`process relay exited (${signal ?? `code ${code}`})`));
        resolve();
      });
    });
    this.idleRefs();
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Runs one request: writes its line, settles on both end marks, a timeout or the relay's death. */
  run(req: Request, path: string, stdinPath: string | undefined): Promise<Outcome> {
    if (this.exited) return Promise.resolve({ notStarted: true }); // died idle: nothing ran
    const token = `nlrelay:${this.prefix}:${++this.seq}`;
    const line = relayLine(token, path, req.args, stdinPath);
    let settle!: (o: Outcome) => void;
    const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
    this.drained = outcome.then(() => undefined);
    const timer = setTimeout(() => this.timeout(), req.timeoutMs);
    this.current = { req, out: new MarkScanner(token), err: new MarkScanner(token), timer, settle };
    this.child.ref();
    for (const s of [this.child.stdout, this.child.stderr]) (s as { ref?: () => void } | null)?.ref?.();
    this.child.stdin?.write(line);
    return outcome;
  }

  /** Ends the shell once its request (if any) is done; resolves when it has exited. */
  async end(): Promise<void> {
    await this.drained;
    this.child.stdin?.end();
    const killer = setTimeout(() => this.killGroup(), 2_000);
    await this.gone;
    clearTimeout(killer);
  }

  private data(stream: 'out' | 'err', chunk: Buffer): void {
    const c = this.current;
    if (!c) return; // output of something a finished command left behind: nobody's
    if (stream === 'out' && !c.outDone) c.outDone = c.out.push(chunk);
    if (stream === 'err' && !c.errDone) c.errDone = c.err.push(chunk);
    if (!c.outDone || !c.errDone) return;
    this.finish();
    const code = parseStatus(c.outDone.trailer);
    const { command } = c.req;
    if (code === undefined) {
      const error = new ToolError(
        `${command}: process relay sent a bad status ${JSON.stringify(c.outDone.trailer)}`,
        {
          command,
        },
      );
      c.settle({ error });
      return;
    }
    c.settle({ result: { stdout: c.outDone.body.toString(), stderr: c.errDone.body.toString(), code } });
  }

  /** As a direct spawn's timeout: the whole group killed, a retriable ToolError with the stderr so far. */
  private timeout(): void {
    const c = this.current;
    if (!c) return;
    this.finish();
    this.exited = true; // out of the pool at once; 'exit' follows the kill
    this.killGroup();
    const { command, timeoutMs } = c.req;
    c.settle({
      error: new ToolError(`${command} timed out after ${timeoutMs} ms`, {
        command,
        stderr: c.err.text(),
        timedOut: true,
      }),
    });
  }

  private died(cause: Error): void {
    this.exited = true;
    // Whatever the shell was running is an orphan in its group now: not left to run unbounded.
    if (this.started) this.killGroup();
    const c = this.current;
    if (c) {
      this.finish();
      if (!this.started) c.settle({ notStarted: true });
      else
        c.settle({
          error: new ToolError(`${c.req.command}: ${cause.message} while running it`, {
            command: c.req.command,
            stderr: c.err.text(),
            cause,
          }),
        });
    }
    this.hooks.onExit(this);
  }

  private finish(): void {
    if (this.current) clearTimeout(this.current.timer);
    this.current = undefined;
    this.idleRefs();
  }

  /** An idle relay keeps neither this process alive nor its event loop busy. */
  private idleRefs(): void {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr])
      (s as { unref?: () => void } | null)?.unref?.();
  }

  private killGroup(): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  }
}

/** Where `name` is found on `path` (an executable regular file), or undefined. */
export function lookPath(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const full = join(dir, name);
    try {
      accessSync(full, constants.X_OK);
      if (statSync(full).isFile()) return full;
    } catch {
      // not here
    }
  }
  return undefined;
}

function defaultTmpBase(): string {
  try {
    accessSync('/dev/shm', constants.W_OK | constants.X_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}
