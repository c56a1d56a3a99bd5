// The only place that runs iproute2: `ip -json` reads and `ip -force -batch -` writes, optionally
// in a named network namespace (`ip -n NAME`). No shell is involved: arguments go as argv and
// batch lines through stdin (names are validated before they reach a line).
import { spawn } from 'node:child_process';
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
  /** Network namespace name (as for `ip -n`); empty for the daemon's own. */
  netns?: string;
  timeoutMs?: number;
}

interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function exec(
  binary: string,
  args: readonly string[],
  input: string | undefined,
  timeoutMs: number,
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err) =>
      reject(new KernelError(`cannot run ${binary}: ${err.message}`, { cause: err })),
    );
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    // ip may exit before reading all of stdin (a fatal error): its exit status tells, not EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

export function createIpRunner(options: IpRunnerOptions = {}): IpRunner {
  const binary = options.binary ?? 'ip';
  const prefix = options.netns ? ['-n', options.netns] : [];
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async json(args) {
      const full = [...prefix, '-json', ...args];
      const r = await exec(binary, full, undefined, timeoutMs);
      if (r.code !== 0) {
        throw new KernelError(`ip ${full.join(' ')} failed: ${r.stderr.trim() || `exit ${String(r.code)}`}`, {
          stderr: r.stderr,
        });
      }
      try {
        return r.stdout.trim() === '' ? [] : (JSON.parse(r.stdout) as unknown);
      } catch (err) {
        throw new KernelError(`ip ${full.join(' ')} printed invalid JSON`, { cause: err });
      }
    },
    async batch(lines) {
      if (lines.length === 0) return { ok: true, stderr: '' };
      const r = await exec(binary, [...prefix, '-force', '-batch', '-'], lines.join('\n') + '\n', timeoutMs);
      return { ok: r.code === 0, stderr: r.stderr.trim() };
    },
  };
}
