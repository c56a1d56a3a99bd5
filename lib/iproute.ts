// The one place netloom runs the kernel's command-line tools (iproute2's `ip` and `bridge`, `nft`,
// and the odd `sysctl`) as child processes. Changes go in one process per batch, input on stdin
// (`ip -force -batch -`, `nft -f -`), reads as JSON (`ip -json`, `nft -j`). Every run is bounded
// by a timeout: a wedged tool fails its caller, retriably, instead of hanging it. A namespace is
// entered with `nsenter --net=` so names (/run/netns/<name>) and paths (/proc/<pid>/ns/net, as a
// container runtime passes them) work alike; nothing here goes through a shell.
//
// Callers keep their own semantics on top: the Linux driver's per-line tolerated failures and
// LinuxCommandError conditions, the STN daemon's `{ ok, stderr }` batches and KernelError, the
// lab's fail-on-first-error batches. The process runner is an injectable port so tests can
// record or count commands without spawning anything.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetloomError } from './errors.ts';

export interface ProcessResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ProcessOptions {
  stdin?: string;
  timeoutMs?: number;
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /**
   * Start the child as the leader of its own process group and kill the whole group on timeout:
   * for programs that may fork (a CNI plugin and its IPAM plugin), so nothing outlives the bound.
   */
  processGroup?: boolean;
}

/** Spawns one process and collects its output; the seam tests replace to record commands. */
export interface ProcessRunner {
  run(cmd: string, args: readonly string[], opts?: ProcessOptions): Promise<ProcessResult>;
}

/** A tool that failed, timed out or could not be started; `stderr` is what it printed. */
export class ToolError extends NetloomError {
  /** The command line, or for a failed batch line `<tool> <that line>`. */
  readonly command: string;
  /** Everything the tool printed on stderr. */
  readonly stderr: string;
  /** The batch line iproute2 reported (`Command failed -:N`): its 1-based number and text. */
  readonly line: { n: number; cmd: string } | undefined;
  readonly timedOut: boolean;

  constructor(
    message: string,
    opts: {
      command: string;
      stderr?: string;
      line?: { n: number; cmd: string };
      timedOut?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, { cause: opts.cause, retriable: opts.timedOut === true });
    this.command = opts.command;
    this.stderr = opts.stderr ?? '';
    this.line = opts.line;
    this.timedOut = opts.timedOut === true;
  }

  /** The error for a tool that exited non-zero; the message is the tool's own text on one line. */
  static exited(command: string, stderr: string, code: number): ToolError {
    return new ToolError(`${command}: ${oneLine(stderr) || `exit ${code}`}`, { command, stderr });
  }
}

function oneLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).join('; ');
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Runs one process to completion. Resolves with its exit code (a non-zero exit is the caller's
 * to judge); rejects with a ToolError when it cannot start or outlives `timeoutMs` (then killed).
 */
export function runProcess(
  cmd: string,
  args: readonly string[],
  opts: ProcessOptions = {},
): Promise<ProcessResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const command = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const group = opts.processGroup === true;
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      ...(group ? { detached: true } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killChild(child, group);
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ToolError(`${cmd}: ${e.message}`, { command, cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      if (timedOut) {
        reject(new ToolError(`${command} timed out after ${timeoutMs} ms`, { command, stderr, timedOut }));
        return;
      }
      resolve({ stdout: Buffer.concat(out).toString(), stderr, code: code ?? -1 });
    });
    // A tool that exits before reading stdin closes the pipe; its exit code tells what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
}

function killChild(child: ChildProcess, group: boolean): void {
  if (group && child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
      return;
    } catch {
      // the group is gone already; kill the child itself below in case it is not
    }
  }
  child.kill('SIGKILL');
}

/** The real runner: one child process per call, with a default timeout. */
export function spawnRunner(defaults: { timeoutMs?: number } = {}): ProcessRunner {
  return {
    run: (cmd, args, opts = {}) =>
      runProcess(cmd, args, { ...opts, timeoutMs: opts.timeoutMs ?? defaults.timeoutMs }),
  };
}

const defaultRunner = spawnRunner();

/** A network namespace given by name (under /run/netns) or by path, as a path. */
export function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `/run/netns/${netns}`;
}

/** The command line that runs `cmd args` inside `netns`; undefined means "where we run". */
export function inNetns(netns: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  if (netns === undefined || netns === '') return [cmd, [...args]];
  return ['nsenter', [`--net=${netnsPath(netns)}`, '--', cmd, ...args]];
}

export interface ToolOptions {
  /** Namespace name or path; undefined or '' for our own. */
  netns?: string | undefined;
  timeoutMs?: number | undefined;
  runner?: ProcessRunner | undefined;
}

async function runIn(
  tool: string,
  args: readonly string[],
  opts: ToolOptions,
  stdin?: string,
): Promise<ProcessResult> {
  const [cmd, argv] = inNetns(opts.netns, tool, args);
  return (opts.runner ?? defaultRunner).run(cmd, argv, {
    ...(stdin !== undefined ? { stdin } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
}

/** Runs `tool args` (in `netns`); returns stdout, throws a ToolError on a non-zero exit. */
export async function runTool(
  tool: string,
  args: readonly string[],
  opts: ToolOptions & { stdin?: string } = {},
): Promise<string> {
  const res = await runIn(tool, args, opts, opts.stdin);
  if (res.code !== 0) throw ToolError.exited(`${tool} ${args.join(' ')}`, res.stderr, res.code);
  return res.stdout;
}

const FAILED_LINE = /^Command failed -:(\d+)\s*$/;

/** Splits batch stderr into per-line error texts (iproute2 prints the error, then `Command failed -:N`). */
export function batchErrors(stderr: string): Map<number, string> {
  const errors = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = FAILED_LINE.exec(line);
    if (m) {
      errors.set(Number(m[1]), pending.join('\n'));
      pending = [];
    } else if (line.trim() !== '') {
      pending.push(line);
    }
  }
  return errors;
}

export interface BatchOptions extends ToolOptions {
  /** `ip` (default), `bridge`, or a path to either. */
  tool?: string;
  /** `-json`: each `show` line prints one JSON document. */
  json?: boolean;
}

export interface BatchFailure {
  /** 1-based line number. */
  line: number;
  /** The line as sent. */
  cmd: string;
  /** What the tool printed for it. */
  text: string;
}

export interface BatchResult {
  /** Exit code: with -force every line runs and any failure makes it non-zero. */
  code: number;
  /** Non-empty stdout lines (with `json`, one JSON document per `show` line). */
  stdout: string[];
  stderr: string;
  /** The lines the tool reported as failed, in order; empty when it named none. */
  failures: BatchFailure[];
}

/**
 * Runs `lines` in one `<tool> [-json] -force -batch -` process (in `netns`): every line runs even
 * after a failure, and the result says which failed. Rejects only when the tool cannot run.
 */
export async function runBatch(lines: readonly string[], opts: BatchOptions = {}): Promise<BatchResult> {
  if (lines.length === 0) return { code: 0, stdout: [], stderr: '', failures: [] };
  refuseLineBreaks(opts.tool ?? 'ip', lines);
  const tool = opts.tool ?? 'ip';
  const args = [...(opts.json ? ['-json'] : []), '-force', '-batch', '-'];
  const res = await runIn(tool, args, opts, lines.join('\n') + '\n');
  const failures = [...batchErrors(res.stderr)]
    .sort((a, b) => a[0] - b[0])
    .map(([line, text]) => ({ line, cmd: lines[line - 1] ?? `line ${line}`, text }));
  return {
    code: res.code,
    stdout: res.stdout.split('\n').filter((l) => l.trim() !== ''),
    stderr: res.stderr,
    failures,
  };
}

/** A value with a line break would be read as a second command: refused before anything runs. */
function refuseLineBreaks(tool: string, lines: readonly string[]): void {
  const bad = lines.find((l) => /[\r\n\0]/.test(l));
  if (bad !== undefined)
    throw new ToolError(`${tool} -batch: refused a line with a line break: ${JSON.stringify(bad)}`, {
      command: `${tool} -batch`,
    });
}

/** The first failure of a batch as a ToolError (naming its line), or undefined when it succeeded. */
export function batchError(res: BatchResult, tool = 'ip'): ToolError | undefined {
  if (res.code === 0) return undefined;
  const first = res.failures[0];
  if (!first) return ToolError.exited(`${tool} -batch`, res.stderr, res.code);
  const command = `${tool} ${first.cmd}`;
  return new ToolError(`${command}: ${oneLine(first.text) || `exit ${res.code}`}`, {
    command,
    stderr: res.stderr,
    line: { n: first.line, cmd: first.cmd },
  });
}

/** Runs a batch and throws its first failure; returns its stdout lines. */
export async function ipBatch(lines: readonly string[], opts: BatchOptions = {}): Promise<string[]> {
  const res = await runBatch(lines, opts);
  const err = batchError(res, opts.tool);
  if (err) throw err;
  return res.stdout;
}

/** `<tool> -json <args>` (in `netns`), parsed; an empty answer is []. */
export async function ipJson<T>(
  args: readonly string[],
  opts: ToolOptions & { tool?: string } = {},
): Promise<T[]> {
  const tool = opts.tool ?? 'ip';
  const out = (await runTool(tool, ['-json', ...args], opts)).trim();
  try {
    return out === '' ? [] : (JSON.parse(out) as T[]);
  } catch (err) {
    throw new ToolError(`${tool} -json ${args.join(' ')} printed invalid JSON`, {
      command: `${tool} -json ${args.join(' ')}`,
      cause: err,
    });
  }
}

/**
 * Applies an nft script atomically (`nft -f -`, the script on stdin). With `echo`, returns nft's
 * JSON echo (rule handles): then the script goes through a private temporary file, because with
 * `-j` nft (1.0.6) first tries the input as JSON, which consumes stdin before its own parser
 * reopens /dev/stdin (a socket under Node, which cannot be reopened; a pipe would read empty).
 */
export async function nftApply(
  script: string,
  opts: ToolOptions & { echo?: boolean } = {},
): Promise<unknown> {
  if (!opts.echo) {
    await runTool('nft', ['-f', '-'], { ...opts, stdin: script });
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'netloom-nft-'));
  try {
    const file = join(dir, 'script.nft');
    await writeFile(file, script);
    const out = await runTool('nft', ['-e', '-a', '-j', '-f', file], opts);
    return out.trim() === '' ? undefined : (JSON.parse(out) as unknown);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A device name no one creates: `link show dev` of it fails at once, marking a request's end. */
const SYNC_MARKER = 'nl-sync-marker';

/**
 * A long-lived `ip -force -batch -` in one namespace, for the many small batches of a node's own
 * namespace (a pod's host side, its route): a request costs a write and a read on pipes, not a
 * process (~0.3 ms against ~3 ms). iproute2 reports a failed batch line on stderr, unbuffered, as
 * `Command failed -:N`; each request ends with a line bound to fail (`link show dev` of a device
 * that does not exist), so its failure marks the end of the request, and the failures before it
 * with line numbers in the request's range are the request's own. Requests run one at a time. A
 * request that outlives its timeout kills the process; a process that exits (iproute2 exits on a
 * line it cannot parse) fails its request; the next request starts a new one. Only write
 * commands go through it: `show` output is block-buffered on a pipe. iproute2 caches device
 * name → index for its lifetime, so a device deleted and re-created by someone else is then
 * addressed by a dead index: the linux driver leaves the session off by default (ADR 0007).
 */
export class IpSession {
  private readonly netns: string | undefined;
  private readonly timeoutMs: number;
  private child: ChildProcess | undefined;
  private lineNo = 0;
  private stderr = '';
  private current: { end: number; first: number; settle: (err?: Error) => void } | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  /** Requests answered so far (tests count them beside processes). */
  requests = 0;
  private closed = false;

  constructor(opts: { netns?: string | undefined; timeoutMs?: number } = {}) {
    this.netns = opts.netns;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Runs `lines` as one batch; the result has the request's own failures, numbered from 1. */
  async run(lines: readonly string[]): Promise<BatchResult> {
    if (lines.length === 0) return { code: 0, stdout: [], stderr: '', failures: [] };
    refuseLineBreaks('ip', lines);
    const result = this.tail.then(() => this.request(lines));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Ends the process (stdin closed: iproute2 exits at end of input). */
  close(): void {
    this.closed = true;
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private spawnChild(): ChildProcess {
    const [cmd, argv] = inNetns(this.netns, 'ip', ['-force', '-batch', '-']);
    const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lineNo = 0;
    this.stderr = '';
    child.stdout?.resume(); // nothing is read, but a full pipe would block the tool
    child.stderr?.on('data', (b: Buffer) => {
      if (this.child !== child) return;
      this.stderr += b.toString();
      const c = this.current;
      if (c && this.stderr.includes(`Command failed -:${c.end}\n`)) c.settle();
    });
    const gone = (why: string): void => {
      if (this.child !== child) return;
      this.child = undefined;
      this.current?.settle(
        new ToolError(`ip -batch (session) ${why}: ${oneLine(this.stderr)}`, {
          command: 'ip -batch',
          stderr: this.stderr,
        }),
      );
    };
    child.on('error', (e) => gone(`could not run: ${e.message}`));
    child.on('close', (code) => gone(`exited (${code ?? 'signal'})`));
    child.stdin?.on('error', () => undefined); // reported by 'close'
    // An idle session must not keep the process alive, nor outlive it.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr])
      (s as { unref?: () => void } | null)?.unref?.();
    return child;
  }

  private request(lines: readonly string[]): Promise<BatchResult> {
    if (this.closed)
      return Promise.reject(new ToolError('ip -batch session closed', { command: 'ip -batch' }));
    this.child ??= this.spawnChild();
    const child = this.child;
    const first = this.lineNo + 1;
    this.lineNo += lines.length + 1;
    const end = this.lineNo;
    this.stderr = '';
    return new Promise<BatchResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.child === child) this.child = undefined;
        child.kill('SIGKILL');
        this.current = undefined;
        reject(
          new ToolError(`ip -batch (session) timed out after ${this.timeoutMs} ms`, {
            command: 'ip -batch',
            stderr: this.stderr,
            timedOut: true,
          }),
        );
      }, this.timeoutMs);
      this.current = {
        end,
        first,
        settle: (err) => {
          clearTimeout(timer);
          this.current = undefined;
          if (err) return reject(err);
          this.requests++;
          const failures = [...batchErrors(this.stderr)]
            .filter(([n]) => n >= first && n < end)
            .sort((a, b) => a[0] - b[0])
            .map(([n, text]) => ({ line: n - first + 1, cmd: lines[n - first] ?? `line ${n}`, text }));
          resolve({ code: failures.length > 0 ? 1 : 0, stdout: [], stderr: this.stderr, failures });
        },
      };
      child.stdin?.write(`${lines.join('\n')}\nlink show dev ${SYNC_MARKER}\n`);
    });
  }
}
