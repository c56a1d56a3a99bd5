// What steal and release share: the handles they drive and the hook run after every step
// (logging, and the pause crash tests use to kill the daemon between steps).
import type { Logger } from '../lib/logging.ts';
import type { IpRunner } from './iproute.ts';
import type { StateStore } from './state-file.ts';
import type { Sysfs } from './sysfs.ts';

export interface OpContext {
  ip: IpRunner;
  sysfs: Sysfs;
  store: StateStore;
  logger: Logger;
  /** Budget for the kernel to show the result of a step. */
  timeoutMs: number;
  afterStep: (operation: 'steal' | 'release', step: string, interfaceName: string) => Promise<void>;
}

/** Runs a batch and returns ip's complaints ('' when every line passed). */
export async function applyLines(ctx: OpContext, lines: readonly string[]): Promise<string> {
  if (lines.length === 0) return '';
  const r = await ctx.ip.batch(lines);
  if (!r.ok) ctx.logger.debug({ lines, stderr: r.stderr }, 'ip batch reported errors; will check the result');
  return r.ok ? '' : r.stderr;
}
