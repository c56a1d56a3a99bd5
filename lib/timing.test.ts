import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff, backoffDelay, Deadline, sleep, Wakeup } from './timing.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Whether `p` has settled after the timers advanced by `ms`. */
async function settledAfter(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true));
  await vi.advanceTimersByTimeAsync(ms);
  return settled;
}

describe('sleep', () => {
  it('resolves after the time, not before', async () => {
    const p = sleep(100);
    expect(await settledAfter(p, 99)).toBe(false);
    expect(await settledAfter(p, 1)).toBe(true);
  });

  it('resolves (never rejects) as soon as the signal aborts, and drops its timer', async () => {
    const ctl = new AbortController();
    const p = sleep(10_000, ctl.signal);
    expect(await settledAfter(p, 10)).toBe(false);
    ctl.abort();
    await expect(p).resolves.toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves at once on an already aborted signal', async () => {
    const p = sleep(10_000, AbortSignal.abort());
    expect(await settledAfter(p, 0)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('backoffDelay', () => {
  it('doubles from min and stops at max (centered jitter at its midpoint)', () => {
    const mid = { random: () => 0.5 };
    expect([0, 1, 2, 3, 4, 5, 60].map((a) => backoffDelay(a, 100, 1_000, mid))).toEqual([
      100, 200, 400, 800, 1_000, 1_000, 1_000,
    ]);
  });

  it('centered jitter stays within ±20% of the base', () => {
    expect(backoffDelay(2, 100, 1_000, { random: () => 0 })).toBe(320);
    expect(backoffDelay(2, 100, 1_000, { random: () => 0.999_999 })).toBe(480);
  });

  it('upper-half jitter stays within [ceiling/2, ceiling]', () => {
    const o = { jitter: 'upper-half' as const };
    expect(backoffDelay(0, 100, 5_000, { ...o, random: () => 0 })).toBe(50);
    expect(backoffDelay(0, 100, 5_000, { ...o, random: () => 1 })).toBe(100);
    expect(backoffDelay(3, 100, 5_000, { ...o, random: () => 1 })).toBe(800);
    expect(backoffDelay(50, 100, 5_000, { ...o, random: () => 0 })).toBe(2_500);
    expect(backoffDelay(50, 100, 5_000, { ...o, random: () => 1 })).toBe(5_000);
  });

  it('does not overflow on absurd attempt counts', () => {
    expect(backoffDelay(10_000, 1, 30_000, { random: () => 0.5 })).toBe(30_000);
  });
});

describe('Backoff', () => {
  it('hands out doubling delays until max, counts them, and starts over after reset', () => {
    const b = new Backoff(50, 300, { random: () => 0.5 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([50, 100, 200, 300, 300]);
    expect(b.attempts).toBe(5);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(50);
  });

  it('jitters with Math.random by default, within ±20%', () => {
    const b = new Backoff(1_000, 1_000);
    for (let i = 0; i < 50; i++) {
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(800);
      expect(d).toBeLessThanOrEqual(1_200);
    }
  });
});

describe('Wakeup', () => {
  it('wakes a waiter on notify', async () => {
    const w = new Wakeup();
    const p = w.wait(10_000);
    expect(await settledAfter(p, 5)).toBe(false);
    w.notify();
    expect(await settledAfter(p, 0)).toBe(true);
  });

  it('keeps a notify that came before the wait, once', async () => {
    const w = new Wakeup();
    w.notify();
    expect(await settledAfter(w.wait(10_000), 0)).toBe(true);
    expect(await settledAfter(w.wait(10_000), 5)).toBe(false);
  });

  it('ends the wait after the time or on abort', async () => {
    const w = new Wakeup();
    expect(await settledAfter(w.wait(100), 100)).toBe(true);
    const ctl = new AbortController();
    const p = w.wait(10_000, ctl.signal);
    ctl.abort();
    expect(await settledAfter(p, 0)).toBe(true);
  });
});

describe('Deadline', () => {
  it('counts down to zero and then says expired', async () => {
    const d = new Deadline(1_000);
    expect(d.remaining()).toBe(1_000);
    expect(d.expired()).toBe(false);
    await vi.advanceTimersByTimeAsync(400);
    expect(d.remaining()).toBe(600);
    await vi.advanceTimersByTimeAsync(700);
    expect(d.remaining()).toBe(0);
    expect(d.expired()).toBe(true);
  });

  it('pause never sleeps past the deadline', async () => {
    const d = new Deadline(150);
    expect(await settledAfter(d.pause(10_000), 150)).toBe(true);
    expect(await settledAfter(new Deadline(10_000).pause(100), 100)).toBe(true);
  });
});
