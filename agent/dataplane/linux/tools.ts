// The kernel tools as the ports use them, over lib/iproute.ts: `ip`/`bridge` batches where each
// line may tolerate its own failures, `ip -json` reads, and `nft -f` scripts with JSON echo and
// listing. Everything runs in a given network namespace through the driver's Runner, and every
// failure (including a timeout) surfaces as a LinuxCommandError with a condition.
//
// Batches coalesce: every batch asked for in one tick for the same tool and namespace runs as one
// `-force -batch` process (eight pods wired in one transaction cost one host-side process, not
// eight), and each caller is answered from its own lines' failures. A process spawn is most of
// what a small batch costs. The node's own namespace may have a long-lived `ip` (lib's
// IpSession): its batches then cost no process at all.
import {
  DEFAULT_TIMEOUT_MS,
  ipJson,
  nftApply,
  runBatch,
  runTool,
  ToolError,
  type IpSession,
  type ToolOptions,
} from '../../../lib/iproute.ts';
import { LinuxCommandError, type Condition } from './errors.ts';
import type { Runner } from './exec.ts';

/** Statements an nft script may hold within the driver's bound per process (see `nft`). */
export const NFT_STATEMENTS_WITHIN_BOUND = 10_000;

/** One batch command (`ip -batch` syntax without the leading `ip`), and failures it may have. */
export interface BatchLine {
  cmd: string;
  /** Conditions that count as success for this line ('exists' on add, 'missing' on del). */
  ok?: readonly Condition[];
}

export type Tool = 'ip' | 'bridge';

interface Waiting {
  lines: readonly BatchLine[];
  resolve: (stdout: string[]) => void;
  reject: (err: unknown) => void;
}

export class KernelTools {
  private readonly runner: Runner;
  /** Batches waiting for this tick's end, by tool and namespace. */
  private readonly waiting = new Map<string, { netns: string | undefined; tool: Tool; calls: Waiting[] }>();

  private readonly session: { netns: string | undefined; ip: IpSession } | undefined;

  /** The bound the runner applies to each process (the driver's `timeoutMs`). */
  private readonly timeoutMs: number;

  constructor(
    runner: Runner,
    session?: { netns: string | undefined; ip: IpSession },
    timeoutMs: number = DEFAULT_TIMEOUT_MS,
  ) {
    this.runner = runner;
    this.session = session;
    this.timeoutMs = timeoutMs;
  }

  /** One batch process's result: through the session when it serves this namespace. */
  private runLines(
    netns: string | undefined,
    lines: readonly BatchLine[],
    tool: Tool,
    json: boolean,
  ): Promise<Awaited<ReturnType<typeof runBatch>>> {
    const cmds = lines.map((l) => l.cmd);
    return this.classified(() =>
      tool === 'ip' && !json && this.session && this.session.netns === netns
        ? this.session.ip.run(cmds)
        : runBatch(cmds, { ...this.opts(netns), tool, json }),
    );
  }

  private opts(netns: string | undefined): ToolOptions {
    return { netns, runner: this.runner };
  }

  /** Runs `call`, turning lib's ToolError into the driver's classified error. */
  private async classified<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw err instanceof ToolError ? LinuxCommandError.fromTool(err) : err;
    }
  }

  /**
   * Runs `lines` in one `ip|bridge -force -batch -` process in `netns` (shared with the other
   * batches asked for in this tick, unless `json`); every line runs even after a failure. Throws
   * the first failure a line does not tolerate. Returns stdout lines (with `json`, one JSON
   * document per `show` line; a coalesced batch's output is not attributed, and is empty).
   */
  batch(
    netns: string | undefined,
    lines: readonly BatchLine[],
    opts: { tool?: Tool; json?: boolean } = {},
  ): Promise<string[]> {
    const tool = opts.tool ?? 'ip';
    if (opts.json) return this.runAlone(netns, lines, tool, true);
    const id = `${tool}\0${netns ?? ''}`;
    return new Promise((resolve, reject) => {
      let group = this.waiting.get(id);
      if (!group) {
        group = { netns, tool, calls: [] };
        this.waiting.set(id, group);
        setImmediate(() => void this.flush(id));
      }
      group.calls.push({ lines, resolve, reject });
    });
  }

  private async flush(id: string): Promise<void> {
    const group = this.waiting.get(id);
    this.waiting.delete(id);
    if (!group) return;
    const { netns, tool, calls } = group;
    if (calls.length === 1) {
      const c = calls[0]!;
      return this.runAlone(netns, c.lines, tool, false).then(c.resolve, c.reject);
    }
    const all = calls.flatMap((c) => c.lines);
    let res: Awaited<ReturnType<typeof runBatch>>;
    try {
      res = await this.runLines(netns, all, tool, false);
    } catch (err) {
      return calls.forEach((c) => c.reject(err));
    }
    if (res.code !== 0 && res.failures.length === 0) {
      const err = LinuxCommandError.parse(`${tool} -batch`, res.stderr || `exit ${res.code}`);
      return calls.forEach((c) => c.reject(err));
    }
    let first = 1; // the 1-based batch line of the current call's first line
    for (const c of calls) {
      const mine = res.failures
        .filter((f) => f.line >= first && f.line < first + c.lines.length)
        .map((f) => ({ ...f, line: f.line - first + 1 }));
      first += c.lines.length;
      try {
        this.judge(c.lines, mine, tool);
        c.resolve([]);
      } catch (err) {
        c.reject(err);
      }
    }
  }

  private async runAlone(
    netns: string | undefined,
    lines: readonly BatchLine[],
    tool: Tool,
    json: boolean,
  ): Promise<string[]> {
    const res = await this.runLines(netns, lines, tool, json);
    if (res.code !== 0) {
      if (res.failures.length === 0)
        throw LinuxCommandError.parse(`${tool} -batch`, res.stderr || `exit ${res.code}`);
      this.judge(lines, res.failures, tool);
    }
    return res.stdout;
  }

  /** Throws the first failure its line does not tolerate. */
  private judge(
    lines: readonly BatchLine[],
    failures: readonly { line: number; cmd: string; text: string }[],
    tool: Tool,
  ): void {
    for (const f of failures) {
      if (lines[f.line - 1]?.ok?.includes(LinuxCommandError.classify(f.text))) continue;
      throw LinuxCommandError.parse(`${tool} ${f.cmd}`, f.text);
    }
  }

  /** `ip|bridge -json <args>` in `netns`, parsed; an empty answer is []. */
  json<T>(netns: string | undefined, args: readonly string[], tool: Tool = 'ip'): Promise<T[]> {
    return this.classified(() => ipJson<T>(args, { ...this.opts(netns), tool }));
  }

  /**
   * Applies an nft script atomically; with `echo`, returns the JSON echo. A script of more than
   * 10,000 `statements` gets 1 ms more for each beyond the driver's bound: a first sync of 10,000
   * Services is one script of ~240,000 statements, 12–17 s on a loaded 2-core machine, and a
   * timeout would fail it whole.
   */
  nft(
    netns: string | undefined,
    script: string,
    opts: { echo?: boolean; statements?: number } = {},
  ): Promise<unknown> {
    const statements = opts.statements ?? 0;
    return this.classified(() =>
      nftApply(script, {
        ...this.opts(netns),
        echo: opts.echo ?? false,
        ...(statements > NFT_STATEMENTS_WITHIN_BOUND ? { timeoutMs: this.timeoutMs + statements } : {}),
      }),
    );
  }

  /** `nft -j -a <args>` (a listing), parsed. */
  async nftJson(netns: string | undefined, args: readonly string[]): Promise<unknown> {
    return JSON.parse(await this.exec(netns, 'nft', ['-j', '-a', ...args]));
  }

  /** Runs another tool (sysctl) in `netns`; returns stdout. */
  exec(netns: string | undefined, tool: string, args: readonly string[]): Promise<string> {
    return this.classified(() => runTool(tool, args, this.opts(netns)));
  }
}
