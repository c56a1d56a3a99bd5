// Finding and running one plugin binary: looked up by `type` in the plugin directories (first
// executable regular file wins, as libcni's FindInPath), run through the project's process
// runner (lib/iproute.ts) in its own process group with a bound, optionally from inside another
// network namespace (`runIn`: the node's, when the agent runs elsewhere, as in the lab — macvlan
// and ipvlan look their master up where they run), config on stdin, result or error on stdout.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CniCode } from '../../cni/errors.ts';
import { inNetns, ToolError, type ProcessRunner } from '../../lib/iproute.ts';
import {
  cniErrorOf,
  PluginError,
  PluginNotFoundError,
  PluginTimeoutError,
  type Invocation,
} from './errors.ts';

/** How plugins are run; the same for every call of one delegation. */
export interface PluginExec {
  runner: ProcessRunner;
  /** Per plugin call; the whole process group is killed past it. */
  timeoutMs: number;
  /** A netns (name or path) to run the plugins in; undefined: where the agent runs. */
  runIn?: string | undefined;
}

/** The path of plugin `type` (already checked to be a plain file name) in `binDirs`. */
export async function findPlugin(network: string, type: string, binDirs: readonly string[]): Promise<string> {
  for (const dir of binDirs) {
    const path = join(dir, type);
    try {
      if ((await stat(path)).isFile()) {
        await access(path, constants.X_OK);
        return path;
      }
    } catch {
      // not here, or not executable: the next directory may have it
    }
  }
  throw new PluginNotFoundError(network, type, binDirs);
}

/**
 * Runs the plugin at `path` with `stdin` and `env`; resolves with its stdout when it exits 0.
 * Rejects with PluginTimeoutError past the bound, PluginError for a non-zero exit (its CNI
 * error when it printed one) or a plugin that could not be started.
 */
export async function runPlugin(
  inv: Invocation,
  path: string,
  io: { stdin: string; env: NodeJS.ProcessEnv },
  exec: PluginExec,
): Promise<string> {
  const [cmd, args] = inNetns(exec.runIn, path, []);
  let res;
  try {
    res = await exec.runner.run(cmd, args, {
      stdin: io.stdin,
      env: io.env,
      timeoutMs: exec.timeoutMs,
      processGroup: true,
    });
  } catch (err) {
    if (err instanceof ToolError && err.timedOut)
      throw new PluginTimeoutError(inv, exec.timeoutMs, err.stderr, err);
    const message = err instanceof Error ? err.message : String(err);
    throw new PluginError(inv, CniCode.Internal, `could not be started: ${message}`, {
      exitCode: -1,
      stderr: '',
      cause: err,
    });
  }
  // An error object is an error even with exit 0 (the spec pairs it with a non-zero exit; a
  // plugin that forgets must not have its error read as an empty result).
  if (res.code !== 0 || cniErrorOf(res.stdout) !== undefined)
    throw PluginError.parse(inv, { stdout: res.stdout, stderr: res.stderr, exitCode: res.code });
  return res.stdout;
}
