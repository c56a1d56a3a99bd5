import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_TXN_BYTES,
  ETCD_MAX_REQUEST_BYTES,
  opBytes,
  planBatches,
  txnBaseBytes,
} from './batches.ts';

/** Items are their own sizes; ids make equal sizes tell apart. */
interface Item {
  id: string;
  size: number;
}
const items = (...sizes: number[]): Item[] => sizes.map((size, i) => ({ id: `i${i}`, size }));
const ids = (batches: Item[][]): string[][] => batches.map((b) => b.map((i) => i.id));
const plan = (xs: Item[], maxOps: number, maxBytes: number, base = 0): ReturnType<typeof planBatches<Item>> =>
  planBatches(xs, (i) => i.size, { maxOps, maxBytes }, base);

describe('planBatches', () => {
  it('plans nothing for nothing', () => {
    expect(plan([], 128, 1000)).toEqual({ batches: [], tooLarge: [] });
  });

  it('fills a batch exactly to the byte limit, and starts a new one one byte over', () => {
    expect(ids(plan(items(400, 600), 128, 1000).batches)).toEqual([['i0', 'i1']]);
    expect(ids(plan(items(400, 601), 128, 1000).batches)).toEqual([['i0'], ['i1']]);
  });

  it('counts the per-transaction base once per batch', () => {
    // 100 of base leaves 900: 400 + 500 fit, a third item of 1 does not.
    expect(ids(plan(items(400, 500, 1), 128, 1000, 100).batches)).toEqual([['i0', 'i1'], ['i2']]);
    expect(ids(plan(items(400, 501), 128, 1000, 100).batches)).toEqual([['i0'], ['i1']]);
  });

  it('writes a single op of exactly the budget alone, and sets aside one a byte over it', () => {
    expect(plan(items(1000), 128, 1000)).toEqual({ batches: [[{ id: 'i0', size: 1000 }]], tooLarge: [] });
    expect(plan(items(1001), 128, 1000)).toEqual({ batches: [], tooLarge: [{ id: 'i0', size: 1001 }] });
    // With a base, "alone" means base + op.
    expect(plan(items(901), 128, 1000, 100).tooLarge.map((i) => i.id)).toEqual(['i0']);
    expect(plan(items(900), 128, 1000, 100).batches).toHaveLength(1);
  });

  it('splits by op count at exactly maxOps', () => {
    expect(plan(items(...Array<number>(128).fill(1)), 128, 1000).batches.map((b) => b.length)).toEqual([128]);
    expect(plan(items(...Array<number>(129).fill(1)), 128, 1000).batches.map((b) => b.length)).toEqual([
      128, 1,
    ]);
    expect(plan(items(...Array<number>(257).fill(1)), 128, 1000).batches.map((b) => b.length)).toEqual([
      128, 128, 1,
    ]);
  });

  it('mixed: small ones packed, one that fits only alone gets its own batch, one too large is set aside, order kept', () => {
    const xs = items(100, 100, 900, 100, 5000, 100, 100, 1000, 1);
    const p = plan(xs, 3, 1000);
    expect(ids(p.batches)).toEqual([['i0', 'i1'], ['i2', 'i3'], ['i5', 'i6'], ['i7'], ['i8']]);
    expect(p.tooLarge.map((i) => i.id)).toEqual(['i4']);
    // Every item is planned exactly once, and every batch is within both limits.
    expect([...p.batches.flat(), ...p.tooLarge].map((i) => i.id).sort()).toEqual(xs.map((i) => i.id).sort());
    for (const b of p.batches) {
      expect(b.length).toBeLessThanOrEqual(3);
      expect(b.reduce((s, i) => s + i.size, 0)).toBeLessThanOrEqual(1000);
    }
  });

  it('a run of ops each over half the budget: one per batch', () => {
    expect(plan(items(501, 501, 501), 128, 1000).batches.map((b) => b.length)).toEqual([1, 1, 1]);
    expect(plan(items(500, 500, 500), 128, 1000).batches.map((b) => b.length)).toEqual([2, 1]);
  });

  it('everything too large: no batch at all', () => {
    const p = plan(items(2000, 3000), 128, 1000);
    expect(p.batches).toEqual([]);
    expect(p.tooLarge.map((i) => i.id)).toEqual(['i0', 'i1']);
  });

  it('refuses a limit of no ops', () => {
    expect(() => plan(items(1), 0, 1000)).toThrow(RangeError);
  });
});

describe('op sizes', () => {
  it('counts UTF-8 bytes of key and value plus a fixed framing, more for a put than a delete', () => {
    const put = opBytes({ type: 'put', key: 'k', value: 'é' }); // é is 2 bytes in UTF-8
    const del = opBytes({ type: 'delete', key: 'k' });
    expect(put - del).toBe(2);
    expect(opBytes({ type: 'put', key: 'k', value: 'x'.repeat(1000) }) - del).toBe(1000);
    expect(del).toBeGreaterThan(1);
  });

  it('a guard adds its key and framing to every transaction', () => {
    const none = txnBaseBytes([]);
    const one = txnBaseBytes([{ key: 'abc', createRevision: 5 }]);
    const both = txnBaseBytes([{ key: 'abc', createRevision: 5, modRevision: 7 }]);
    expect(one - none).toBeGreaterThan(3);
    expect(both - none).toBe(2 * (one - none));
  });

  it('the default budget is below etcd default request limit', () => {
    expect(DEFAULT_MAX_TXN_BYTES).toBeLessThan(ETCD_MAX_REQUEST_BYTES);
    expect(ETCD_MAX_REQUEST_BYTES).toBe(1.5 * 1024 * 1024);
  });
});
