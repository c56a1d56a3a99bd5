// The STN daemon's port to iproute2: `ip -json` reads and `ip -force -batch -` writes, optionally
// in a named network namespace, over lib/iproute.ts (which spawns the process, bounds it in time
// and enters the namespace). No shell is involved: arguments go as argv and batch lines through
// stdin (names are validated before they reach a line). The engine, probes and kernel reads get
// an IpRunner, so tests can hand them a fake one.
import { ipJson, runBatch, ToolError, type ProcessRunner, type ToolOptions } from '../lib/iproute.ts';
import { KernelError } from './errors.ts';

export interface BatchResult {
  /** Every line succeeded. With -force ip runs them all and reports the failures on stderr. */
  ok: boolean;
  stderr: string;
}

export interface IpRunner {
  json(args: readonly string[]): Promise<unknown>;
  batch(lines: readonly string[]): Promise<BatchResult>;
}

export interface IpRunnerOptions {
  binary?: string;
  /** Network namespace name; empty for the daemon's own. */
  netns?: string;
  timeoutMs?: number;
  /** The process runner (tests record or fake commands with it); lib's spawning one by default. */
  runner?: ProcessRunner;
}

/** Runs `call`, turning lib's ToolError into the daemon's retriable KernelError. */
async function kernel<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ToolError) throw new KernelError(err.message, { cause: err, stderr: err.stderr });
    throw err;
  }
}

export function createIpRunner(options: IpRunnerOptions = {}): IpRunner {
  const opts: ToolOptions & { tool: string } = {
    tool: options.binary ?? 'ip',
    netns: options.netns,
    timeoutMs: options.timeoutMs ?? 10_000,
    runner: options.runner,
  };
  return {
    json: (args) => kernel(() => ipJson(args, opts)),
    async batch(lines) {
      const r = await kernel(() => runBatch(lines, opts));
      return { ok: r.code === 0, stderr: r.stderr.trim() };
    },
  };
}
