import { describe, expect, it } from 'vitest';
import { Keyspace, type K8sKind } from '../lib/keyspace.ts';
import { Mirror } from './mirror.ts';

const ks = new Keyspace('test');
const kindOf = (key: string): K8sKind | undefined => {
  const ref = ks.tryParse(key);
  return ref && ref.kind !== 'ksrStatus' ? (ref.kind as K8sKind) : undefined;
};
const pod = (name: string): string => ks.key({ kind: 'pod', namespace: 'a', name });

function fresh(): Mirror {
  const m = new Mirror(kindOf);
  m.beginFullRead();
  m.endFullRead();
  return m;
}

describe('Mirror', () => {
  it('plans puts for new keys and settles them on confirm', () => {
    const m = fresh();
    m.set('pod', pod('x'), '{"v":1}', 1000);
    const plan = m.plan();
    expect(plan).toEqual([
      { op: { type: 'put', key: pod('x'), value: '{"v":1}' }, kind: 'pod', since: 1000 },
    ]);
    expect(m.confirm(plan, 1005)).toEqual([{ kind: 'pod', latencyMs: 5 }]);
    expect(m.hasDirty).toBe(false);
    expect(m.plan()).toEqual([]);
  });

  it('coalesces a burst on one key into one write of the last value', () => {
    const m = fresh();
    for (let i = 0; i < 100; i++) m.set('pod', pod('x'), `{"v":${i}}`, 1000 + i);
    const plan = m.plan();
    expect(plan).toHaveLength(1);
    expect(plan[0]?.op).toEqual({ type: 'put', key: pod('x'), value: '{"v":99}' });
    expect(plan[0]?.since).toBe(1000);
  });

  it('writes nothing when a change is undone before the flush', () => {
    const m = fresh();
    m.set('pod', pod('x'), 'a');
    m.confirm(m.plan());
    m.set('pod', pod('x'), 'b');
    m.set('pod', pod('x'), 'a');
    expect(m.plan()).toEqual([]);
    expect(m.hasDirty).toBe(false);
  });

  it('keeps a key dirty when it changed while its write was in flight', () => {
    const m = fresh();
    m.set('pod', pod('x'), 'a');
    const plan = m.plan();
    m.set('pod', pod('x'), 'b');
    m.confirm(plan);
    expect(m.plan().map((w) => w.op)).toEqual([{ type: 'put', key: pod('x'), value: 'b' }]);
  });

  it('never plans a key twice while its write is in flight; a released key is planned again', () => {
    const m = fresh();
    m.set('pod', pod('x'), 'a');
    m.set('pod', pod('y'), 'a');
    const first = m.plan();
    expect(first).toHaveLength(2);
    m.set('pod', pod('x'), 'b');
    expect(m.plan()).toEqual([]); // both in flight
    expect(m.pendingCount).toBe(0);
    m.confirm([first[0]!]); // x landed with 'a'; it changed meanwhile, so 'b' is next
    m.release([first[1]!]); // y was not written
    expect(m.plan().map((w) => w.op)).toEqual([
      { type: 'put', key: pod('x'), value: 'b' },
      { type: 'put', key: pod('y'), value: 'a' },
    ]);
  });

  it('mark and sweep: equal keys untouched, changed rewritten, leftovers deleted, missing written', () => {
    const m = new Mirror(kindOf);
    m.set('pod', pod('same'), 'S');
    m.set('pod', pod('changed'), 'NEW');
    m.set('pod', pod('missing'), 'M');
    m.beginFullRead();
    m.absorb([
      { key: pod('same'), value: 'S' },
      { key: pod('changed'), value: 'OLD' },
      { key: pod('gone'), value: 'G' },
      { key: ks.k8sPrefix + 'junk', value: '?' },
    ]);
    m.endFullRead();
    const ops = m.plan().map((w) => [w.op.type, w.op.key, w.kind, w.since]);
    expect(ops).toEqual(
      expect.arrayContaining([
        ['put', pod('changed'), 'pod', expect.any(Number)],
        ['put', pod('missing'), 'pod', expect.any(Number)],
        ['delete', pod('gone'), 'pod', 0],
        ['delete', ks.k8sPrefix + 'junk', 'unknown', 0],
      ]),
    );
    expect(ops).toHaveLength(4);
    expect(m.haveSize).toBe(4);
  });

  it('a failed full read leaves have as it was', () => {
    const m = fresh();
    m.set('pod', pod('x'), 'a');
    m.confirm(m.plan());
    m.beginFullRead();
    m.absorb([{ key: pod('y'), value: 'z' }]);
    m.abortFullRead();
    expect(m.haveSize).toBe(1);
    expect(() => m.absorb([])).toThrow(/outside/);
  });

  it('counts objects per kind and lists keys under a prefix', () => {
    const m = fresh();
    m.set('pod', pod('x'), 'a');
    m.set('pod', pod('y'), 'a');
    m.set('namespace', ks.key({ kind: 'namespace', name: 'a' }), 'n');
    m.set('pod', pod('y'), undefined);
    m.set('pod', pod('nothing'), undefined);
    expect(m.countsByKind()).toEqual({ namespace: 1, pod: 1 });
    expect([...m.keysUnder(ks.prefix('pod'))]).toEqual([pod('x')]);
    expect(m.size).toBe(2);
  });

  it('a key set aside as too large leaves the dirty set, is reported once, and comes back when it changes', () => {
    const m = fresh();
    m.set('endpoints', pod('big'), 'v1');
    const [w] = m.plan();
    expect(m.setAside([w!]).map((x) => x.op.key)).toEqual([pod('big')]);
    expect(m.hasDirty).toBe(false);
    expect(m.tooLargeByKind()).toEqual(new Map([['endpoints', 1]]));
    // A full read finds etcd without it: planned again, set aside again, not reported again.
    m.beginFullRead();
    m.endFullRead();
    expect(m.setAside(m.plan())).toEqual([]);
    // Changed to a value that fits: written, no longer set aside.
    m.set('endpoints', pod('big'), 'small');
    m.confirm(m.plan());
    expect(m.tooLargeByKind().size).toBe(0);
    // Set aside again, then deleted while etcd never had that value: settled, not set aside.
    m.set('endpoints', pod('big'), 'v2');
    m.setAside(m.plan());
    m.set('endpoints', pod('big'), undefined);
    m.confirm(m.plan());
    expect(m.tooLargeByKind().size).toBe(0);
    expect(m.hasDirty).toBe(false);
  });

  it('wakes the syncer only when something changed', () => {
    const m = fresh();
    let wakes = 0;
    m.onDirty = () => wakes++;
    m.set('pod', pod('x'), 'a');
    m.set('pod', pod('x'), 'a');
    m.set('pod', pod('q'), undefined);
    expect(wakes).toBe(1);
  });
});

describe('Mirror read before the feeds have listed', () => {
  it('does not rewrite a key whose value arrives after the read and equals etcd', () => {
    const m = new Mirror(kindOf);
    m.beginFullRead();
    m.absorb([
      { key: pod('a'), value: 'A' },
      { key: pod('b'), value: 'B' },
    ]);
    m.endFullRead(true);
    m.set('pod', pod('a'), 'A');
    m.set('pod', pod('b'), 'B2');
    const puts = m.plan(Infinity, (type) => type === 'put');
    expect(puts.map((w) => w.op)).toEqual([{ type: 'put', key: pod('b'), value: 'B2' }]);
  });
});
