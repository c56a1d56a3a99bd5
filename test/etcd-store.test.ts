// The store against a real etcd: batched writes, paginated reads at one revision, and a watch
// that survives etcd being killed and restarted, and reports compaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import { etcdAvailable, skipUnless } from './harness/availability.ts';
import type { Store, WatchEvent } from '../lib/etcd/store.ts';
import type { Change } from '../lib/etcd/watch.ts';

const skip = skipUnless('etcd store', etcdAvailable());

/** Collects watch events in the background until stopped. */
function collect(store: Store, prefix: string, startRevision: number) {
  const abort = new AbortController();
  const changes: Change[] = [];
  const statuses: string[] = [];
  const terminal: WatchEvent[] = [];
  const done = (async () => {
    for await (const ev of store.watch(prefix, {
      startRevision,
      signal: abort.signal,
      onStatus: (s) => statuses.push(s.type),
      backoffMs: { min: 50, max: 500 },
    })) {
      if (ev.type === 'events') changes.push(...ev.changes);
      if (ev.type === 'compacted') terminal.push(ev);
    }
  })();
  const stop = async (): Promise<void> => {
    abort.abort();
    await done;
  };
  return { changes, statuses, terminal, stop, done };
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(skip)('etcd store (real etcd)', () => {
  let etcd: EtcdHandle;
  let store: Store;

  beforeAll(async () => {
    etcd = await startEtcd();
    store = etcd.store();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('puts, gets and deletes', async () => {
    await store.put('/t/basic/a', '{"x":1}');
    expect((await store.get('/t/basic/a'))?.value).toBe('{"x":1}');
    await store.delete('/t/basic/a');
    expect(await store.get('/t/basic/a')).toBeUndefined();
  });

  it('writes 10k keys in transactions of at most 128 ops, coalescing repeats', async () => {
    const ops = Array.from({ length: 10_000 }, (_, i) => ({
      type: 'put' as const,
      key: `/t/big/${String(i).padStart(5, '0')}`,
      value: `v${i}`,
    }));
    ops.push({ type: 'put', key: '/t/big/00000', value: 'last wins' });
    const before = await store.revision();
    const after = await store.write(ops);
    // one revision per transaction: ceil(10000 / 128) = 79
    expect(after - before).toBe(79);
    expect((await store.get('/t/big/00000'))?.value).toBe('last wins');
  });

  it('reads 10k keys page by page at one revision, unaffected by later writes', async () => {
    const pages = store.pages('/t/big/', { pageSize: 500 });
    const first = await pages.next();
    if (first.done) throw new Error('no first page');
    const revision = first.value.revision;
    // writes after the first page must not show up in the later pages
    await store.write([
      { type: 'put', key: '/t/big/99999', value: 'late' },
      { type: 'delete', key: '/t/big/09999' },
    ]);
    const kvs = [...first.value.kvs];
    let pageCount = 1;
    for await (const page of pages) {
      expect(page.revision).toBe(revision);
      kvs.push(...page.kvs);
      pageCount++;
    }
    expect(pageCount).toBe(20);
    expect(kvs).toHaveLength(10_000);
    expect(kvs.map((kv) => kv.key)).toEqual([...kvs.map((kv) => kv.key)].sort());
    expect(kvs.some((kv) => kv.key === '/t/big/99999')).toBe(false);
    expect(kvs.some((kv) => kv.key === '/t/big/09999')).toBe(true);
    const now = await store.list('/t/big/');
    expect(now.kvs).toHaveLength(10_000);
    expect(now.revision).toBeGreaterThan(revision);
  });

  it('claims a key only once', async () => {
    const a = await store.create('/t/claim/1', 'a');
    const b = await store.create('/t/claim/1', 'b');
    expect(a.created).toBe(true);
    expect(b).toMatchObject({ created: false, existing: { value: 'a' } });
  });

  it('keeps watching across kill -9 and restart of etcd: nothing lost, nothing twice', async () => {
    const start = (await store.revision()) + 1;
    const w = collect(store, '/t/watch/', start);
    const expected: string[] = [];
    const writeSome = async (from: number, n: number): Promise<void> => {
      for (let i = from; i < from + n; i++) {
        await store.put(`/t/watch/k${i % 50}`, `v${i}`);
        expected.push(`v${i}`);
      }
    };
    await writeSome(0, 300);
    await until(() => w.changes.length >= 100);
    await etcd.kill(); // mid-stream: the consumer has seen some but not all
    await etcd.start();
    await writeSome(300, 300);
    await until(() => w.changes.length >= expected.length);
    await new Promise((r) => setTimeout(r, 300)); // room for a duplicate to show up
    await w.stop();
    const seen = w.changes.map((c) => (c.type === 'put' ? c.value : 'deleted'));
    expect(seen).toEqual(expected);
    const revisions = w.changes.map((c) => c.modRevision);
    expect(new Set(revisions).size).toBe(revisions.length);
    expect(w.statuses).toContain('disconnected');
    expect(w.statuses.filter((s) => s === 'connected').length).toBeGreaterThanOrEqual(2);
  });

  it('resumes from the last processed revision when etcd restarts while the consumer is slow', async () => {
    const start = (await store.revision()) + 1;
    await store.write(
      Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: `/t/slow/k${i}`, value: `${i}` })),
    );
    // two transactions (128 + 72 ops) in flight at once: either may commit first
    const abort = new AbortController();
    const seen: number[] = [];
    let restarted = false;
    for await (const ev of store.watch('/t/slow/', {
      startRevision: start,
      signal: abort.signal,
      backoffMs: { min: 50, max: 500 },
    })) {
      if (ev.type !== 'events') continue;
      seen.push(...ev.changes.map((c) => Number(c.type === 'put' ? c.value : -1)));
      if (!restarted) {
        restarted = true;
        await etcd.restart(); // the consumer is still "processing" the first revision
        await store.put('/t/slow/after', '1000');
      }
      if (seen.includes(1000)) break;
    }
    abort.abort();
    // every change exactly once although etcd restarted while the first revision was being processed
    expect(seen).toHaveLength(201);
    expect([...seen].sort((a, b) => a - b)).toEqual([...Array.from({ length: 200 }, (_, i) => i), 1000]);
  });

  it('reports compaction so the caller relists', async () => {
    await store.put('/t/compact/a', '1');
    const old = await store.revision();
    await store.put('/t/compact/a', '2');
    await store.put('/t/compact/a', '3');
    const current = await store.revision();
    await store.client.kv.compact({ revision: current, physical: true });
    const w = collect(store, '/t/compact/', old);
    await w.done;
    expect(w.terminal).toEqual([{ type: 'compacted', compactRevision: current, requestedRevision: old }]);
    expect(w.changes).toEqual([]);
  });
});
