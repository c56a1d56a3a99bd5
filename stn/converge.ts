// "Retry until the kernel shows it": apply, read back, apply what is still missing, with a
// growing pause, until the check passes or the budget is spent.
import { Backoff, Deadline } from '../lib/timing.ts';
import { KernelError } from './errors.ts';

export interface ConvergeOptions {
  /** What is being waited for, for the error message. */
  what: string;
  timeoutMs: number;
  /** Returns null when the kernel shows the wanted state, else what is still wrong. */
  check: () => Promise<string | null>;
  /** One attempt to get there; returns ip's complaints, if any, for the error message. */
  apply: () => Promise<string>;
}

export async function converge(opts: ConvergeOptions): Promise<number> {
  const deadline = new Deadline(opts.timeoutMs);
  const backoff = new Backoff(20, 200);
  let attempts = 0;
  let complaint = '';
  for (;;) {
    const wrong = await opts.check();
    if (wrong === null) return attempts;
    if (deadline.expired()) {
      throw new KernelError(
        `${opts.what}: not shown by the kernel after ${opts.timeoutMs} ms (${attempts} attempts): ${wrong}` +
          (complaint ? `; ip said: ${complaint}` : ''),
        { stderr: complaint },
      );
    }
    attempts++;
    complaint = (await opts.apply()) || complaint;
    await deadline.pause(backoff.next());
  }
}
