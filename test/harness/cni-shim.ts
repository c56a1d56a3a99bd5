// Runs the bundled CNI shim as a container runtime does: the command in CNI_COMMAND, the
// pod in the other CNI_* variables, the network configuration on stdin, the result (or error)
// as JSON on stdout and the exit code.
import { execFile } from 'node:child_process';

export interface ShimRun {
  code: number;
  out: Record<string, unknown>;
}

export function runShim(
  bin: string,
  command: string,
  env: Record<string, string>,
  config: unknown,
): Promise<ShimRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      [],
      {
        env: { PATH: process.env['PATH'] ?? '', CNI_COMMAND: command, CNI_PATH: '/nonexistent', ...env },
        timeout: 30_000,
      },
      (err, stdout) => {
        if (err && typeof err.code !== 'number') return reject(new Error(err.message, { cause: err }));
        resolve({
          code: typeof err?.code === 'number' ? err.code : 0,
          out: stdout ? (JSON.parse(stdout) as Record<string, unknown>) : {},
        });
      },
    );
    child.stdin?.end(JSON.stringify(config));
  });
}
