// "Retry until the kernel shows it": apply, read back, apply what is still missing, with a
// growing pause, until the check passes or the budget is spent.
import { setTimeout as sleep } from 'node:timers/promises';
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
  const deadline = Date.now() + opts.timeoutMs;
  let pause = 20;
  let attempts = 0;
  let complaint = '';
  for (;;) {
    const wrong = await opts.check();
    if (wrong === null) return attempts;
    if (Date.now() >= deadline) {
      throw new KernelError(
        `${opts.what}: not shown by the kernel after ${opts.timeoutMs} ms (${attempts} attempts): ${wrong}` +
          (complaint ? `; ip said: ${complaint}` : ''),
        { stderr: complaint },
      );
    }
    attempts++;
    complaint = (await opts.apply()) || complaint;
    await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
    pause = Math.min(pause * 2, 200);
  }
}
