import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging.ts';
import { createRegistry } from '../../lib/metrics.ts';
import { danglingDependencies } from '../dataplane/fake/driver.ts';
import { FakeDataPlane } from '../dataplane/fake/plane.ts';
import { KvScheduler, type Change } from './scheduler.ts';
import { testDriver, type TestValue } from './test-families.ts';

function setup(opts: { update?: boolean } = {}) {
  const plane = new FakeDataPlane();
  const driver = testDriver(plane, opts);
  let clock = 1_000_000;
  const s = new KvScheduler({
    driver,
    logger: silentLogger(),
    retry: { auto: false, initialMs: 100, maxMs: 1_000 },
    now: () => clock,
  });
  const put = (key: string, value: TestValue): Change => ({ key, value });
  const del = (key: string): Change => ({ key, value: undefined });
  const ops = (): string[] =>
    plane.history
      .filter((h) => h.operation !== 'retrieve')
      .map((h) => `${h.operation} ${h.key}${h.ok ? '' : ' !'}`);
  const check = (): void => {
    expect(plane.violations).toEqual([]);
    expect(danglingDependencies(plane, driver)).toEqual([]);
  };
  return { plane, s, put, del, ops, check, advance: (ms: number) => (clock += ms), now: () => clock };
}

describe('KvScheduler', () => {
  it('creates in dependency order, whatever the order of the changes', async () => {
    const t = setup();
    await t.s.commit([
      t.put('x/c', { v: 1, deps: ['x/b'] }),
      t.put('x/b', { v: 1, deps: ['x/a'] }),
      t.put('x/a', { v: 1 }),
    ]);
    expect(t.ops()).toEqual(['create x/a', 'create x/b', 'create x/c']);
    expect(t.s.status('x/c')?.state).toBe('configured');
    t.check();
  });

  it('keeps an item pending until its dependency appears, then applies it', async () => {
    const t = setup();
    await t.s.commit([t.put('x/route', { v: 1, deps: ['x/if'] })]);
    expect(t.s.status('x/route')).toMatchObject({ state: 'pending', missing: ['x/if'] });
    expect(t.plane.entries.size).toBe(0);
    await t.s.commit([t.put('x/if', { v: 1 })]);
    expect(t.ops()).toEqual(['create x/if', 'create x/route']);
    expect(t.s.status('x/route')?.state).toBe('configured');
  });

  it('removes dependents first when a dependency goes, and they wait as pending', async () => {
    const t = setup();
    await t.s.commit([
      t.put('x/a', { v: 1 }),
      t.put('x/b', { v: 1, deps: ['x/a'] }),
      t.put('x/c', { v: 1, deps: ['x/b'] }),
    ]);
    t.plane.resetCounts();
    await t.s.commit([t.del('x/a')]);
    expect(t.ops()).toEqual(['delete x/c', 'delete x/b', 'delete x/a']);
    expect(t.s.status('x/b')).toMatchObject({ state: 'pending', missing: ['x/a'] });
    expect(t.s.status('x/a')).toBeUndefined();
    t.check();
    t.plane.resetCounts();
    await t.s.commit([t.put('x/a', { v: 2 })]);
    expect(t.ops()).toEqual(['create x/a', 'create x/b', 'create x/c']);
  });

  it('updates in place when it can, and recreates (with dependents) when it must', async () => {
    const t = setup();
    await t.s.commit([t.put('x/a', { v: 1, mode: 'p' }), t.put('x/b', { v: 1, deps: ['x/a'] })]);
    t.plane.resetCounts();
    await t.s.commit([t.put('x/a', { v: 2, mode: 'p' })]);
    expect(t.ops()).toEqual(['update x/a']);
    t.plane.resetCounts();
    await t.s.commit([t.put('x/a', { v: 2, mode: 'q' })]);
    expect(t.ops()).toEqual(['delete x/b', 'delete x/a', 'create x/a', 'create x/b']);
    expect(t.plane.dump()).toEqual({ 'x/a': { v: 2, mode: 'q' }, 'x/b': { v: 1, deps: ['x/a'] } });
    t.check();
  });

  it('recreates on every change when the descriptor has no update', async () => {
    const t = setup({ update: false });
    await t.s.commit([t.put('x/a', { v: 1 })]);
    t.plane.resetCounts();
    await t.s.commit([t.put('x/a', { v: 2 })]);
    expect(t.ops()).toEqual(['delete x/a', 'create x/a']);
  });

  it('does nothing for a change to the same value', async () => {
    const t = setup();
    await t.s.commit([t.put('x/a', { v: 1, deps: [] })]);
    t.plane.resetCounts();
    const rec = await t.s.commit([t.put('x/a', { deps: [], v: 1 })]);
    expect(t.ops()).toEqual([]);
    expect(rec.visited).toBe(0);
  });

  it('retries retriable failures with exponential backoff, and dependents follow', async () => {
    const t = setup();
    t.plane.fail({ key: 'x/a', operation: 'create', times: 2, retriable: true });
    await t.s.commit([t.put('x/a', { v: 1 }), t.put('x/b', { v: 1, deps: ['x/a'] })]);
    expect(t.s.status('x/a')).toMatchObject({ state: 'retrying', attempts: 1 });
    expect(t.s.status('x/b')?.state).toBe('pending');
    expect(await t.s.retryDue()).toBeUndefined(); // not due yet
    t.advance(100);
    await t.s.retryDue();
    expect(t.s.status('x/a')).toMatchObject({ state: 'retrying', attempts: 2 });
    const due = Date.parse(t.s.status('x/a')!.nextRetryAt!);
    expect(due - t.now()).toBe(200); // 100 · 2^(2-1)
    t.advance(200);
    await t.s.retryDue();
    expect(t.s.status('x/a')).toMatchObject({ state: 'configured', attempts: 0 });
    expect(t.s.status('x/b')?.state).toBe('configured');
    t.check();
  });

  it('caps the backoff', async () => {
    const t = setup();
    t.plane.fail({ key: 'x/a', times: Infinity });
    await t.s.commit([t.put('x/a', { v: 1 })]);
    for (let i = 0; i < 8; i++) {
      t.advance(10_000);
      await t.s.retryDue();
    }
    const s = t.s.status('x/a')!;
    expect(s.attempts).toBe(9);
    expect(Date.parse(s.nextRetryAt!) - t.now()).toBe(1_000);
  });

  it('leaves a non-retriable failure failed until the value changes or a resync', async () => {
    const t = setup();
    t.plane.fail({ key: 'x/a', retriable: false });
    const rec = await t.s.commit([t.put('x/a', { v: 1 })]);
    expect(rec.errors).toMatchObject([{ key: 'x/a', operation: 'create', retriable: false }]);
    expect(t.s.status('x/a')).toMatchObject({ state: 'failed' });
    expect(t.s.status('x/a')?.nextRetryAt).toBeUndefined();
    t.advance(100_000);
    expect(await t.s.retryDue()).toBeUndefined();
    await t.s.resync();
    expect(t.s.status('x/a')?.state).toBe('configured');
  });

  it('retries a failed delete and keeps the dependency until it succeeds', async () => {
    const t = setup();
    await t.s.commit([t.put('x/a', { v: 1 })]);
    t.plane.fail({ key: 'x/a', operation: 'delete' });
    await t.s.commit([t.del('x/a')]);
    expect(t.s.status('x/a')).toMatchObject({ state: 'retrying', desired: false, applied: true });
    t.advance(100);
    await t.s.retryDue();
    expect(t.s.status('x/a')).toBeUndefined();
    expect(t.plane.entries.size).toBe(0);
  });

  it('marks invalid values invalid and removes what was applied before', async () => {
    const t = setup();
    await t.s.commit([t.put('x/a', { v: 1 }), t.put('x/b', { v: 1, deps: ['x/a'] })]);
    await t.s.commit([t.put('x/a', { v: 2, invalid: true })]);
    expect(t.s.status('x/a')).toMatchObject({ state: 'invalid', error: { operation: 'validate' } });
    expect(t.plane.dump()).toEqual({});
    t.check();
  });

  it('reports keys no descriptor handles as unimplemented', async () => {
    const t = setup();
    await t.s.commit([{ key: 'nope/1', value: { v: 1 } }]);
    expect(t.s.status('nope/1')?.state).toBe('unimplemented');
  });

  it('creates derived items after their parent and deletes them before it', async () => {
    const t = setup();
    await t.s.commit([t.put('x/p', { v: 1, derived: ['d/1', 'd/2'] })]);
    expect(t.ops()).toEqual(['create x/p', 'create d/1', 'create d/2']);
    expect(t.s.status('d/1')).toMatchObject({ state: 'configured', derivedFrom: 'x/p' });
    t.plane.resetCounts();
    await t.s.commit([t.put('x/p', { v: 2, derived: ['d/2', 'd/3'] })]);
    expect(t.ops().sort()).toEqual(['create d/3', 'delete d/1', 'update d/2', 'update x/p']);
    t.plane.resetCounts();
    await t.s.commit([t.del('x/p')]);
    expect(t.ops()).toEqual(['delete d/2', 'delete d/3', 'delete x/p']);
    expect(t.s.statuses()).toEqual([]);
  });

  it('hands metadata of applied dependencies to create', async () => {
    const t = setup();
    await t.s.commit([t.put('x/if', { v: 1 })]);
    const applied = t.s.appliedItems().find((i) => i.key === 'x/if');
    expect(applied?.metadata).toEqual({ index: expect.any(Number) });
  });

  it('full resync reads the data plane back and repairs drift', async () => {
    const t = setup();
    await t.s.commit([t.put('x/a', { v: 1 }), t.put('x/b', { v: 1, deps: ['x/a'] }), t.put('x/c', { v: 1 })]);
    // Drift behind the scheduler's back: one item lost, one changed, one stray, one external.
    t.plane.entries.delete('x/c');
    t.plane.entries.set('x/b', { value: { v: 9 }, metadata: { index: 99 }, origin: 'netloom' });
    t.plane.entries.set('x/stray', { value: { v: 1 }, metadata: { index: 98 }, origin: 'netloom' });
    t.plane.entries.set('x/ext', { value: { v: 1 }, metadata: { index: 97 }, origin: 'external' });
    t.plane.resetCounts();
    await t.s.resync();
    expect(t.ops().sort()).toEqual(['create x/c', 'delete x/stray', 'update x/b']);
    expect(t.s.status('x/ext')?.state).toBe('obtained');
    expect(t.plane.dump()).toEqual({
      'x/a': { v: 1 },
      'x/b': { v: 1, deps: ['x/a'] },
      'x/c': { v: 1 },
      'x/ext': { v: 1 },
    });
  });

  it('external items satisfy dependencies and are never deleted', async () => {
    const t = setup();
    t.plane.entries.set('x/uplink', { value: { v: 0 }, metadata: { index: 1 }, origin: 'external' });
    await t.s.resync();
    await t.s.commit([t.put('x/route', { v: 1, deps: ['x/uplink'] })]);
    expect(t.s.status('x/route')?.state).toBe('configured');
    await t.s.resync({ desired: [] });
    expect(t.plane.dump()).toEqual({ 'x/uplink': { v: 0 } });
  });

  it('resync with a new desired state replaces the old one', async () => {
    const t = setup();
    await t.s.commit([t.put('x/a', { v: 1 }), t.put('x/b', { v: 1 })]);
    t.plane.resetCounts();
    await t.s.resync({
      desired: [
        { key: 'x/b', value: { v: 1 } },
        { key: 'x/c', value: { v: 1 } },
      ],
    });
    expect(t.ops().sort()).toEqual(['create x/c', 'delete x/a']);
  });

  it('resync with unchanged state makes no driver change', async () => {
    const t = setup();
    const items = Array.from({ length: 50 }, (_, i) => ({
      key: `x/${i}`,
      value: { v: i, deps: i > 0 ? [`x/${i - 1}`] : [] },
    }));
    await t.s.resync({ desired: items });
    // A new scheduler (a restarted agent) over the same data plane.
    const s2 = new KvScheduler({ driver: testDriver(t.plane), logger: silentLogger() });
    t.plane.resetCounts();
    const rec = await s2.resync({ desired: items });
    expect(t.plane.changes()).toBe(0);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(s2.statuses().every((s) => s.state === 'configured')).toBe(true);
  });

  it('a failed retrieve keeps the family as believed and reports it', async () => {
    const t = setup();
    await t.s.commit([t.put('x/a', { v: 1 })]);
    t.plane.fail({ operation: 'retrieve', key: 'x/' });
    const rec = await t.s.resync();
    expect(rec.errors).toMatchObject([{ key: 'x', operation: 'retrieve' }]);
    expect(t.s.status('x/a')?.state).toBe('configured');
  });

  it('groups commits made before a transaction starts into that one transaction', async () => {
    const t = setup();
    const recs = await Promise.all([
      t.s.commit([t.put('x/b', { v: 1, deps: ['x/a'] })], 'first'),
      t.s.commit([t.put('x/a', { v: 1 })], 'second'),
    ]);
    expect(recs.map((r) => r.seq)).toEqual([1, 1]);
    expect(recs[0]).toMatchObject({ changes: 2, description: '2 commits: first; second' });
    expect(t.ops()).toEqual(['create x/a', 'create x/b']);
  });

  it('commits made while a transaction runs wait and run together as the next one', async () => {
    const t = setup();
    const first = t.s.commit([t.put('x/a', { v: 1 })]);
    await Promise.resolve(); // the first transaction has started: it took only its own commit
    const later = [t.s.commit([t.put('x/b', { v: 1 })]), t.s.commit([t.put('x/a', { v: 2 })])];
    expect((await first).seq).toBe(1);
    expect((await Promise.all(later)).map((r) => r.seq)).toEqual([2, 2]);
    expect(t.ops()).toEqual(['create x/a', 'create x/b', 'update x/a']);
  });

  it('a resync closes the group: a commit made after it runs after it', async () => {
    const t = setup();
    const before = t.s.commit([t.put('x/a', { v: 1 })]);
    const resync = t.s.resync({ desired: [{ key: 'x/a', value: { v: 1 } }], retrieve: false });
    const after = t.s.commit([t.put('x/b', { v: 1 })]);
    const [b, r, a] = await Promise.all([before, resync, after]);
    expect([b.seq, r.seq, a.seq]).toEqual([1, 2, 3]);
    // Had x/b joined the first group, the resync (which does not know it) would have removed it.
    expect(t.s.status('x/b')?.state).toBe('configured');
  });

  it('waitSettled resolves when items are applied and reports failures', async () => {
    const t = setup();
    const wait = t.s.waitSettled(['x/a', 'x/b']);
    t.plane.fail({ key: 'x/b', retriable: false });
    await t.s.commit([t.put('x/a', { v: 1 }), t.put('x/b', { v: 1 })]);
    expect((await wait).map((s) => s.state)).toEqual(['configured', 'failed']);
    const ac = new AbortController();
    const pending = t.s.waitSettled(['x/never', 'x/z'], ac.signal);
    await t.s.commit([t.put('x/z', { v: 1, deps: ['x/never'] })]);
    ac.abort(new Error('timeout'));
    await expect(pending).rejects.toThrow('timeout');
  });

  it('logs transactions with their operations and counts', async () => {
    const t = setup();
    t.plane.fail({ key: 'x/b' });
    await t.s.commit([t.put('x/a', { v: 1 }), t.put('x/b', { v: 1 })], 'pod default/web');
    const [rec] = t.s.transactions(1);
    expect(rec).toMatchObject({
      kind: 'change',
      description: 'pod default/web',
      changes: 2,
      counts: { create: 2, update: 0, delete: 0 },
      operations: [
        { key: 'x/a', operation: 'create', ok: true },
        { key: 'x/b', operation: 'create', ok: false, error: 'create x/b: injected failure' },
      ],
    });
  });

  it('exports metrics', async () => {
    const plane = new FakeDataPlane();
    const registry = createRegistry('test', { processMetrics: false });
    const s = new KvScheduler({
      driver: testDriver(plane),
      logger: silentLogger(),
      registry,
      retry: { auto: false },
    });
    await s.commit([
      { key: 'x/a', value: { v: 1 } },
      { key: 'x/b', value: { v: 1, deps: ['x/none'] } },
    ]);
    const text = await registry.metrics();
    expect(text).toContain(
      'netloom_agent_scheduler_operations_total{family="x",operation="create",outcome="ok",component="test"} 1',
    );
    expect(text).toContain('netloom_agent_scheduler_items{state="pending",component="test"} 1');
  });

  it('retries on its own timer when auto retry is on', async () => {
    const plane = new FakeDataPlane();
    const s = new KvScheduler({ driver: testDriver(plane), logger: silentLogger(), retry: { initialMs: 5 } });
    plane.fail({ key: 'x/a', times: 3 });
    await s.commit([{ key: 'x/a', value: { v: 1 } }]);
    const [st] = await s.waitSettled(['x/a'], AbortSignal.timeout(2_000));
    expect(st?.state).toBe('configured');
    await s.close();
  });
});
