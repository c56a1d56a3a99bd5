// The kernel tools as the ports use them: `ip`/`bridge` batches (one process for many
// commands, each line allowed its own tolerated failures), `ip -json` reads, and `nft -f`
// scripts with JSON echo and listing. Everything runs in a given network namespace.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinuxCommandError, type Condition } from './errors.ts';
import { inNetns, type Runner } from './exec.ts';

/** One batch command (`ip -batch` syntax without the leading `ip`), and failures it may have. */
export interface BatchLine {
  cmd: string;
  /** Conditions that count as success for this line ('exists' on add, 'missing' on del). */
  ok?: readonly Condition[];
}

export type Tool = 'ip' | 'bridge';

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

export class KernelTools {
  private readonly runner: Runner;
  private dir: string | undefined;
  private seq = 0;

  constructor(runner: Runner) {
    this.runner = runner;
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
    if (lines.length === 0) return [];
    const tool = opts.tool ?? 'ip';
    const args = [...(opts.json ? ['-json'] : []), '-force', '-batch', '-'];
    const [cmd, argv] = inNetns(netns, tool, args);
    const res = await this.runner.run(cmd, argv, { stdin: lines.map((l) => l.cmd).join('\n') + '\n' });
    if (res.code !== 0) {
      const errors = batchErrors(res.stderr);
      if (errors.size === 0)
        throw LinuxCommandError.parse(`${tool} -batch`, res.stderr || `exit ${res.code}`);
      for (const [n, text] of [...errors].sort((a, b) => a[0] - b[0])) {
        const line = lines[n - 1];
        const condition = LinuxCommandError.classify(text);
        if (line?.ok?.includes(condition)) continue;
        throw LinuxCommandError.parse(`${tool} ${line?.cmd ?? `line ${n}`}`, text);
      }
    }
    return res.stdout.split('\n').filter((l) => l.trim() !== '');
  }

  /** `ip|bridge -json <args>` in `netns`, parsed; an empty answer is []. */
  async json<T>(netns: string | undefined, args: readonly string[], tool: Tool = 'ip'): Promise<T[]> {
    const [cmd, argv] = inNetns(netns, tool, ['-json', ...args]);
    const res = await this.runner.run(cmd, argv);
    if (res.code !== 0)
      throw LinuxCommandError.parse(`${tool} ${args.join(' ')}`, res.stderr || `exit ${res.code}`);
    const text = res.stdout.trim();
    return text === '' ? [] : (JSON.parse(text) as T[]);
  }

  /**
   * Applies an nft script atomically (`nft -f <file>`); with `echo`, returns the JSON echo.
   * A file, not stdin: nft opens /dev/stdin, which fails on the socket Node gives a child.
   */
  async nft(netns: string | undefined, script: string, opts: { echo?: boolean } = {}): Promise<unknown> {
    const flags = opts.echo ? ['-e', '-a', '-j'] : [];
    const file = join(this.scratch(), `nft-${process.pid}-${++this.seq}.nft`);
    writeFileSync(file, script);
    try {
      const [cmd, argv] = inNetns(netns, 'nft', [...flags, '-f', file]);
      const res = await this.runner.run(cmd, argv);
      if (res.code !== 0) throw LinuxCommandError.parse('nft -f', res.stderr || `exit ${res.code}`);
      return opts.echo && res.stdout.trim() !== '' ? JSON.parse(res.stdout) : undefined;
    } finally {
      rmSync(file, { force: true });
    }
  }

  private scratch(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'netloom-nft-'));
    return this.dir;
  }

  /** `nft -j -a <args>` (a listing), parsed. */
  async nftJson(netns: string | undefined, args: readonly string[]): Promise<unknown> {
    const [cmd, argv] = inNetns(netns, 'nft', ['-j', '-a', ...args]);
    const res = await this.runner.run(cmd, argv);
    if (res.code !== 0)
      throw LinuxCommandError.parse(`nft ${args.join(' ')}`, res.stderr || `exit ${res.code}`);
    return JSON.parse(res.stdout);
  }

  /** Runs another tool (sysctl) in `netns`. */
  async exec(netns: string | undefined, tool: string, args: readonly string[]): Promise<string> {
    const [cmd, argv] = inNetns(netns, tool, args);
    const res = await this.runner.run(cmd, argv);
    if (res.code !== 0)
      throw LinuxCommandError.parse(`${tool} ${args.join(' ')}`, res.stderr || `exit ${res.code}`);
    return res.stdout;
  }
}
