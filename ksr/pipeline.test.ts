import { describe, expect, it } from 'vitest';
import { Pipeline } from './pipeline.ts';

/** A write that lands (or fails) when the test says so. */
interface Pending {
  batch: number[];
  land: () => void;
  fail: (err: Error) => void;
}

function harness(concurrency: number): {
  pipe: Pipeline<number>;
  pending: Pending[];
  released: number[][];
  settles: () => number;
  maxRunning: () => number;
} {
  const pending: Pending[] = [];
  const released: number[][] = [];
  let running = 0;
  let maxRunning = 0;
  let settles = 0;
  const pipe = new Pipeline<number>({
    concurrency,
    write: (batch) =>
      new Promise<void>((resolve, reject) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        const done = (): void => {
          running--;
        };
        pending.push({
          batch,
          land: () => {
            done();
            resolve();
          },
          fail: (err) => {
            done();
            reject(err);
          },
        });
      }),
    release: (batch) => released.push(batch),
    settled: () => settles++,
  });
  return { pipe, pending, released, settles: () => settles, maxRunning: () => maxRunning };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Pipeline', () => {
  it('runs at most `concurrency` batches at once and starts the next as soon as one lands', async () => {
    const h = harness(2);
    h.pipe.add([[1], [2], [3], [4]]);
    expect(h.pending.map((p) => p.batch)).toEqual([[1], [2]]);
    expect(h.pipe.queued).toBe(2);
    h.pending[1]!.land();
    await tick();
    expect(h.pending.map((p) => p.batch)).toEqual([[1], [2], [3]]);
    expect(h.settles()).toBe(1);
    const drained = h.pipe.drain();
    let done = false;
    void drained.then(() => (done = true));
    h.pending[0]!.land();
    h.pending[2]!.land();
    await tick();
    expect(done).toBe(false); // [4] is running now
    h.pending[3]!.land();
    await drained;
    expect(h.maxRunning()).toBe(2);
    expect(h.pipe.busy).toBe(false);
    await expect(h.pipe.settle()).resolves.toBeUndefined();
  });

  it('after a failure starts nothing new, releases the failed and queued batches, and throws once all settled', async () => {
    const h = harness(2);
    h.pipe.add([[1], [2], [3], [4]]);
    h.pending[0]!.fail(new Error('etcd down'));
    await tick();
    expect(h.pipe.failed).toBe(true);
    expect(h.released).toEqual([[1], [3], [4]]);
    expect(h.pending).toHaveLength(2); // [2] still in flight, nothing new started
    h.pipe.add([[5]]);
    expect(h.released.at(-1)).toEqual([5]);
    let thrown: unknown;
    const settled = h.pipe.settle().catch((err: unknown) => (thrown = err));
    await tick();
    expect(thrown).toBeUndefined(); // waits for [2]
    h.pending[1]!.land();
    await settled;
    expect(thrown).toMatchObject({ message: 'etcd down' });
    // The failure is handed out once; the pipeline then writes again.
    await expect(h.pipe.settle()).resolves.toBeUndefined();
    h.pipe.add([[6]]);
    expect(h.pending.at(-1)?.batch).toEqual([6]);
  });

  it('drain resolves at once when idle', async () => {
    const h = harness(1);
    await h.pipe.drain();
    expect(h.pipe.busy).toBe(false);
    expect(() => harness(0)).toThrow(RangeError);
  });
});
