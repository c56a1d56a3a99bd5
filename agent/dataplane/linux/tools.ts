// The kernel tools as the ports use them, over lib/iproute.ts: `ip`/`bridge` batches where each
// line may tolerate its own failures, `ip -json` reads, and `nft -f` scripts with JSON echo and
// listing. Everything runs in a given network namespace through the driver's Runner, and every
// failure (including a timeout) surfaces as a LinuxCommandError with a condition.
import { ipJson, nftApply, runBatch, runTool, ToolError, type ToolOptions } from '../../../lib/iproute.ts';
import { LinuxCommandError, type Condition } from './errors.ts';
import type { Runner } from './exec.ts';

/** One batch command (`ip -batch` syntax without the leading `ip`), and failures it may have. */
export interface BatchLine {
  cmd: string;
  /** Conditions that count as success for this line ('exists' on add, 'missing' on del). */
  ok?: readonly Condition[];
}

export type Tool = 'ip' | 'bridge';

export class KernelTools {
  private readonly runner: Runner;

  constructor(runner: Runner) {
    this.runner = runner;
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
   * Runs `lines` in one `ip|bridge -force -batch -` process in `netns`; every line runs even
   * after a failure. Throws the first failure a line does not tolerate. Returns stdout lines
   * (with `json`, one JSON document per `show` line).
   */
  async batch(
    netns: string | undefined,
    lines: readonly BatchLine[],
    opts: { tool?: Tool; json?: boolean } = {},
  ): Promise<string[]> {
    const tool = opts.tool ?? 'ip';
    const res = await this.classified(() =>
      runBatch(
        lines.map((l) => l.cmd),
        { ...this.opts(netns), tool, json: opts.json ?? false },
      ),
    );
    if (res.code !== 0) {
      if (res.failures.length === 0)
        throw LinuxCommandError.parse(`${tool} -batch`, res.stderr || `exit ${res.code}`);
      for (const f of res.failures) {
        if (lines[f.line - 1]?.ok?.includes(LinuxCommandError.classify(f.text))) continue;
        throw LinuxCommandError.parse(`${tool} ${f.cmd}`, f.text);
      }
    }
    return res.stdout;
  }

  /** `ip|bridge -json <args>` in `netns`, parsed; an empty answer is []. */
  json<T>(netns: string | undefined, args: readonly string[], tool: Tool = 'ip'): Promise<T[]> {
    return this.classified(() => ipJson<T>(args, { ...this.opts(netns), tool }));
  }

  /** Applies an nft script atomically; with `echo`, returns the JSON echo. */
  nft(netns: string | undefined, script: string, opts: { echo?: boolean } = {}): Promise<unknown> {
    return this.classified(() => nftApply(script, { ...this.opts(netns), echo: opts.echo ?? false }));
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
