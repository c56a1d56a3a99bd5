import { describe, expect, it } from 'vitest';
import { Heartbeat, LoopPulse, overdue } from './liveness.ts';

/** A clock the test moves by hand. */
function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** A promise the test settles by hand. */
function deferred(): { promise: Promise<void>; resolve(): void; reject(err: Error): void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('overdue', () => {
  it('is null up to the limit and names the case, its age and the limit past it', () => {
    expect(overdue('x', 0, 2_000, 2_000)).toBeNull();
    expect(overdue('view: stuck on y', 0, 2_001, 2_000)).toBe('view: stuck on y for 2.0 s (limit 2.0 s)');
    expect(overdue('z', 500, 125_500, 120_000)).toBe('z for 125.0 s (limit 120.0 s)');
  });
});

describe('LoopPulse', () => {
  it('is alive while idle, however long, and while work is younger than the limit', async () => {
    const c = clock();
    const pulse = new LoopPulse('view', { stuckAfterMs: 5_000, now: c.now });
    c.advance(3_600_000); // an hour waiting on a quiet watch
    expect(pulse.check()).toBeNull();
    const d = deferred();
    const work = pulse.work('changes at revision 7', () => d.promise);
    c.advance(5_000);
    expect(pulse.check()).toBeNull();
    c.advance(1);
    expect(pulse.check()).toBe('view: stuck on changes at revision 7 for 5.0 s (limit 5.0 s)');
    d.resolve();
    await work;
    expect(pulse.check()).toBeNull();
  });

  it('names the oldest of overlapping units of work, and counts a failed one as finished', async () => {
    const c = clock();
    const pulse = new LoopPulse('p', { stuckAfterMs: 1_000, now: c.now });
    const first = deferred();
    const a = pulse.work('first', () => first.promise);
    c.advance(600);
    const b = pulse.work('second', () => new Promise<void>(() => undefined));
    c.advance(600);
    expect(pulse.check()).toMatch(/^p: stuck on first for 1\.2 s/);
    first.reject(new Error('driver failed'));
    await expect(a).rejects.toThrow('driver failed');
    expect(pulse.check()).toBeNull(); // second is 0.6 s old
    c.advance(500);
    expect(pulse.check()).toMatch(/^p: stuck on second for 1\.1 s/);
    void b;
  });

  it('is dead once its loop ends on its own (error or return), not when stopped', async () => {
    const failing = new LoopPulse('view', { stuckAfterMs: 1_000 });
    await expect(failing.follow(Promise.reject(new Error('watch broke')))).rejects.toThrow('watch broke');
    expect(failing.check()).toBe('view: loop ended: watch broke');

    const returned = new LoopPulse('view', { stuckAfterMs: 1_000 });
    await returned.follow(Promise.resolve());
    expect(returned.check()).toBe('view: loop ended: the loop returned');

    const stopped = new LoopPulse('view', { stuckAfterMs: 1_000 });
    stopped.stop();
    await stopped.follow(Promise.resolve());
    expect(stopped.check()).toBeNull();
  });
});

describe('Heartbeat', () => {
  it('holds nothing against an inactive loop; an active one must turn within the limit', () => {
    const c = clock();
    const hb = new Heartbeat('syncer', { stuckAfterMs: 10_000, now: c.now });
    c.advance(60_000);
    expect(hb.check()).toBeNull(); // a standby: never beat
    hb.beat();
    c.advance(10_000);
    expect(hb.check()).toBeNull();
    c.advance(1);
    expect(hb.check()).toBe('syncer: no turn of its loop for 10.0 s (limit 10.0 s)');
    hb.beat();
    expect(hb.check()).toBeNull();
    c.advance(20_000);
    hb.idle(); // the term ended: the loop is gone on purpose
    expect(hb.check()).toBeNull();
  });
});
