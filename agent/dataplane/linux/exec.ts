// The driver's process port: the Runner it spawns the kernel tools through. The real runner and
// the tool invocations live in lib/iproute.ts (one for every process); the port stays here so
// the driver, its tests and the lab can pass a counting or recording runner.
import type { ProcessOptions, ProcessResult, ProcessRunner } from '../../../lib/iproute.ts';

export type ExecResult = ProcessResult;
export type ExecOptions = ProcessOptions;
/** Spawns one process and collects its output; the seam tests replace to record commands. */
export type Runner = ProcessRunner;

export { spawnRunner } from '../../../lib/iproute.ts';

/** Counts the processes a runner starts (what "a pod costs N spawns" is measured with). */
export function countingRunner(inner: Runner): Runner & { count: number; commands: string[] } {
  const r = {
    count: 0,
    commands: [] as string[],
    run(cmd: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
      r.count++;
      r.commands.push([cmd, ...args].join(' '));
      return inner.run(cmd, args, opts);
    },
  };
  return r;
}
