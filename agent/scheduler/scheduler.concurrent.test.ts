// Families marked `concurrent`: the scheduler starts their operations for different keys in
// the same tick (so a driver can apply them as one kernel transaction), books each outcome on
// its own item, and still orders them after their dependencies.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging.ts';
import type { Descriptor, Driver } from './descriptor.ts';
import { DataPlaneError } from './errors.ts';
import { KvScheduler } from './scheduler.ts';

interface Val {
  v: number;
  dep?: string;
}

/** A family whose operations wait on one shared gate: what started together is visible. */
function gatedDriver() {
  const started: string[] = [];
  const batches: string[][] = [];
  let pending: { key: string; op: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const failing = new Set<string>();
  const flush = (): void => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    batches.push(batch.map((p) => `${p.op} ${p.key}`));
    for (const p of batch) {
      if (failing.has(p.key)) p.reject(new DataPlaneError(`refused ${p.key}`, { retriable: false }));
      else p.resolve();
    }
  };
  const gate = (op: string, key: string): Promise<void> =>
    new Promise((resolve, reject) => {
      started.push(`${op} ${key}`);
      if (pending.length === 0) setImmediate(flush);
      pending.push({ key, op, resolve, reject });
    });
  const base: Descriptor<Val, null> = {
    name: 'base',
    keyPrefix: 'base/',
    create: async () => null,
    delete: async () => undefined,
  };
  const svc: Descriptor<Val, null> = {
    name: 'svc',
    keyPrefix: 'svc/',
    concurrent: true,
    dependencies: (_k, v) => (v.dep ? [{ label: 'dep', key: v.dep }] : []),
    create: async (key) => (await gate('create', key), null),
    update: async (key) => (await gate('update', key), null),
    delete: async (key) => void (await gate('delete', key)),
  };
  const driver: Driver = { name: 'gated', descriptors: [base, svc] as Descriptor<unknown, unknown>[] };
  return { driver, started, batches, failing };
}

describe('KvScheduler: concurrent families', () => {
  it('starts every create of a transaction together and books each result on its own item', async () => {
    const g = gatedDriver();
    g.failing.add('svc/3');
    const s = new KvScheduler({ driver: g.driver, logger: silentLogger(), retry: { auto: false } });
    const rec = await s.commit(Array.from({ length: 5 }, (_, i) => ({ key: `svc/${i}`, value: { v: 1 } })));
    expect(g.batches).toEqual([
      ['create svc/0', 'create svc/1', 'create svc/2', 'create svc/3', 'create svc/4'],
    ]);
    expect(rec.counts).toEqual({ create: 5, update: 0, delete: 0 });
    expect(rec.errors.map((e) => e.key)).toEqual(['svc/3']);
    expect(
      s
        .statuses()
        .map((st) => `${st.key} ${st.state}`)
        .sort(),
    ).toEqual([
      'svc/0 configured',
      'svc/1 configured',
      'svc/2 configured',
      'svc/3 failed',
      'svc/4 configured',
    ]);
    // Updates and deletes go together too.
    await s.commit([
      { key: 'svc/0', value: { v: 2 } },
      { key: 'svc/1', value: undefined },
      { key: 'svc/2', value: { v: 2 } },
    ]);
    expect(g.batches[1]).toEqual(['update svc/0', 'delete svc/1', 'update svc/2']);
    expect(s.status('svc/1')).toBeUndefined();
  });

  it('still waits for dependencies: items waiting on a base item are created once it is', async () => {
    const g = gatedDriver();
    const s = new KvScheduler({ driver: g.driver, logger: silentLogger(), retry: { auto: false } });
    await s.commit([
      { key: 'svc/a', value: { v: 1, dep: 'base/x' } },
      { key: 'svc/b', value: { v: 1, dep: 'base/x' } },
      { key: 'svc/c', value: { v: 1 } },
    ]);
    expect(s.status('svc/a')?.state).toBe('pending');
    expect(g.batches).toEqual([['create svc/c']]);
    await s.commit([{ key: 'base/x', value: { v: 1 } }]);
    expect(g.batches[1]).toEqual(['create svc/a', 'create svc/b']);
    expect(s.status('svc/b')?.state).toBe('configured');
    // Removing the base removes its dependents first (they are not run concurrently then).
    await s.commit([{ key: 'base/x', value: undefined }]);
    expect(s.status('svc/a')?.state).toBe('pending');
    expect(g.started.slice(-2).sort()).toEqual(['delete svc/a', 'delete svc/b']);
  });

  it('a key changed twice while its operation runs is reconciled again after it (latest value wins)', async () => {
    const g = gatedDriver();
    const s = new KvScheduler({ driver: g.driver, logger: silentLogger(), retry: { auto: false } });
    const first = s.commit([{ key: 'svc/x', value: { v: 1 } }]);
    // Once the first transaction runs, a new commit forms the next one (made at once, the two
    // would be grouped into one transaction that only ever sees v2).
    while (g.started.length === 0) await new Promise((r) => setTimeout(r, 0));
    const second = s.commit([{ key: 'svc/x', value: { v: 2 } }]);
    await Promise.all([first, second]);
    expect(g.started).toEqual(['create svc/x', 'update svc/x']);
    expect(s.applied('svc/x')?.value).toEqual({ v: 2 });
  });

  it('removes items and their dependents, all going, in two rounds: every dependent together, then every item', async () => {
    const g = gatedDriver();
    const s = new KvScheduler({ driver: g.driver, logger: silentLogger(), retry: { auto: false } });
    const items = [1, 2, 3].flatMap((i) => [
      { key: `svc/p${i}`, value: { v: 1 } },
      { key: `svc/c${i}`, value: { v: 1, dep: `svc/p${i}` } },
    ]);
    await s.commit(items);
    g.batches.length = 0;
    const rec = await s.commit(items.map((i) => ({ key: i.key, value: undefined })));
    expect(rec.errors).toEqual([]);
    expect(g.batches.map((b) => [...b].sort())).toEqual([
      ['delete svc/c1', 'delete svc/c2', 'delete svc/c3'],
      ['delete svc/p1', 'delete svc/p2', 'delete svc/p3'],
    ]);
    expect(s.appliedItems()).toEqual([]);
  });

  it('updates in place together items whose dependents are applied (the sets one label change touches)', async () => {
    const g = gatedDriver();
    const s = new KvScheduler({ driver: g.driver, logger: silentLogger(), retry: { auto: false } });
    const items = [1, 2, 3].flatMap((i) => [
      { key: `svc/set${i}`, value: { v: 1 } },
      { key: `svc/pol${i}`, value: { v: 1, dep: `svc/set${i}` } },
    ]);
    await s.commit(items);
    g.batches.length = 0;
    const rec = await s.commit([1, 2, 3].map((i) => ({ key: `svc/set${i}`, value: { v: 2 } })));
    expect(rec.errors).toEqual([]);
    expect(g.batches.map((b) => [...b].sort())).toEqual([
      ['update svc/set1', 'update svc/set2', 'update svc/set3'],
    ]);
    expect([1, 2, 3].map((i) => s.status(`svc/pol${i}`)?.state)).toEqual([
      'configured',
      'configured',
      'configured',
    ]);
  });
});
