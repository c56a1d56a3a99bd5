// Running the tools the lab drives (ip, the CNI plugins, kube binaries' --version): bounded in
// time, output captured, failures as LabError with the tool's own message.
import { execFile } from 'node:child_process';
import { NetloomError } from '../../lib/errors.ts';

export class LabError extends NetloomError {}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a command to completion; never throws for a non-zero exit (the caller decides). */
export function run(command: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      {
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : -1
          : 0;
        resolve({ code, stdout, stderr: err && code === -1 ? `${stderr}${err.message}` : stderr });
      },
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? '');
  });
}

/** Runs a command and throws a LabError naming it when it fails. */
export async function runOk(command: string, args: string[], opts: ExecOptions = {}): Promise<string> {
  const res = await run(command, args, opts);
  if (res.code !== 0) {
    throw new LabError(
      `${command} ${args.join(' ')} failed (exit ${res.code}): ${(res.stderr || res.stdout).trim()}`,
    );
  }
  return res.stdout;
}
