// The syncer and the election against a real etcd, in process: a full sync is a mark and
// sweep that leaves equal keys alone; writes are fenced by the leader's claim (a deposed leader
// cannot write one op); a heartbeat notices a rewound store (restore from an older backup).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardFailedError, writeGuarded } from '../lib/etcd/guarded-write.ts';
import type { Store } from '../lib/etcd/store.ts';
import { Keyspace, type K8sKind } from '../lib/keyspace.ts';
import { createLogger, silentLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import { etcdAvailable, skipUnless } from '../test/harness/availability.ts';
import { startEtcd, type EtcdHandle } from '../test/harness/etcd.ts';
import { DEFAULT_MAX_TXN_BYTES, ETCD_MAX_REQUEST_BYTES, opBytes, txnBaseBytes } from './batches.ts';
import { Elector, type Term } from './leader.ts';
import { createKsrMetrics } from './metrics.ts';
import { Mirror } from './mirror.ts';
import { DEFAULT_SYNCER_OPTIONS, Syncer } from './syncer.ts';

const skip = skipUnless('KSR syncer against etcd', etcdAvailable());

describe.skipIf(skip)('syncer and election on a real etcd', () => {
  let etcd: EtcdHandle;
  let store: Store;
  const ks = new Keyspace('sync-test');
  const statusKey = ks.key({ kind: 'ksrStatus' });
  const pod = (name: string): string => ks.key({ kind: 'pod', namespace: 'a', name });

  const elector = (identity: string): Elector =>
    new Elector({
      store,
      key: statusKey,
      identity,
      ttlSeconds: 2,
      pollMs: 100,
      logger: silentLogger(),
      initialValue: () => JSON.stringify({ leader: identity }),
    });
  const syncer = (mirror: Mirror): Syncer =>
    new Syncer({
      store,
      mirror,
      prefix: ks.k8sPrefix,
      logger: silentLogger(),
      metrics: createKsrMetrics(createRegistry('t', { processMetrics: false })),
      sourcesSynced: () => true,
      options: DEFAULT_SYNCER_OPTIONS,
    });
  const mirror = (): Mirror => new Mirror((k) => ks.tryParse(k)?.kind as K8sKind | undefined);

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'ksr-sync' });
    store = etcd.store();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('mark and sweep: writes differences only, deletes leftovers, keeps equal keys at their revision', async () => {
    await store.write([
      { type: 'put', key: pod('same'), value: 'S' },
      { type: 'put', key: pod('old'), value: 'OLD' },
      { type: 'put', key: pod('gone'), value: 'G' },
      ...Array.from({ length: 1000 }, (_, i) => ({
        type: 'put' as const,
        key: pod(`bulk-${i}`),
        value: `B${i}`,
      })),
    ]);
    const sameBefore = (await store.get(pod('same')))!.modRevision;
    const term = (await elector('a').campaign(new AbortController().signal))!;
    const m = mirror();
    m.set('pod', pod('same'), 'S');
    m.set('pod', pod('old'), 'NEW');
    m.set('pod', pod('new'), 'N');
    for (let i = 0; i < 1000; i++) m.set('pod', pod(`bulk-${i}`), i % 2 ? `B${i}` : `C${i}`);
    const s = syncer(m);
    const stats = await s.fullSync('test', { key: term.key, createRevision: term.createRevision });
    expect(stats).toMatchObject({ puts: 2 + 500, deletes: 1 });
    expect((await store.get(pod('same')))!.modRevision).toBe(sameBefore);
    expect((await store.get(pod('bulk-1')))!.modRevision).toBe(sameBefore);
    expect((await store.get(pod('old')))!.value).toBe('NEW');
    expect(await store.get(pod('gone'))).toBeUndefined();
    // A second full sync writes nothing at all.
    const again = await s.fullSync('test', { key: term.key, createRevision: term.createRevision });
    expect(again).toMatchObject({ puts: 0, deletes: 0 });
    const guard = { key: term.key, createRevision: term.createRevision };
    expect(await s.heartbeat(term, guard)).toBeUndefined();
    expect(await s.countFinding()).toBeUndefined();
    // A key deleted behind its back: the heartbeat's key count (at the status write's revision,
    // off the loop) finds it; a write landing after that revision does not disturb the count.
    await store.delete(pod('same'));
    expect(await s.heartbeat(term, guard)).toBeUndefined();
    m.set('pod', pod('after-the-count'), 'A');
    await s.flush(guard, Infinity);
    expect(await s.countFinding()).toBe(`etcd holds ${m.haveSize - 2} keys, expected ${m.haveSize - 1}`);
    await term.end('test over');
  });

  it('a new leader puts while feeds still list, and deletes leftovers only once every feed has listed', async () => {
    await store.deletePrefix(ks.k8sPrefix);
    await store.write([
      { type: 'put', key: pod('leftover'), value: 'L' },
      { type: 'put', key: pod('kept'), value: 'K' },
      { type: 'put', key: pod('listed-late'), value: 'LL' },
    ]);
    const keptRevision = (await store.get(pod('kept')))!.modRevision;
    const term = (await elector('filler').campaign(new AbortController().signal))!;
    const m = mirror();
    let listed = false;
    const s = new Syncer({
      store,
      mirror: m,
      prefix: ks.k8sPrefix,
      logger: silentLogger(),
      metrics: createKsrMetrics(createRegistry('t', { processMetrics: false })),
      sourcesSynced: () => listed,
      kindSettled: (kind) => kind !== 'endpoints' || listed,
      options: { ...DEFAULT_SYNCER_OPTIONS, heartbeatMs: 100 },
    });
    m.onDirty = () => s.wake.notify();
    const running = s.run(term);
    m.set('pod', pod('kept'), 'K');
    m.set('pod', pod('early'), 'E');
    // A key folded from several objects: its partial value must never reach etcd.
    const ep = ks.key({ kind: 'endpoints', namespace: 'a', name: 'svc' });
    m.set('endpoints', ep, 'partial');
    const until = async (probe: () => Promise<boolean>): Promise<void> => {
      for (let i = 0; i < 100 && !(await probe()); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await until(async () => (await store.get(pod('early'))) !== undefined);
    expect((await store.get(pod('early')))?.value).toBe('E');
    // Etcd was read before this key's feed listed it: an equal value must not be rewritten.
    const lateRevision = (await store.get(pod('listed-late')))!.modRevision;
    m.set('pod', pod('listed-late'), 'LL');
    await new Promise((r) => setTimeout(r, 300));
    expect((await store.get(pod('leftover')))?.value).toBe('L'); // not swept yet: feeds still listing
    expect(s.termSynced).toBe(false);
    expect(await store.get(ep)).toBeUndefined();
    m.set('endpoints', ep, 'final');
    listed = true;
    s.wake.notify();
    await until(async () => s.termSynced);
    expect(await store.get(pod('leftover'))).toBeUndefined();
    expect((await store.get(pod('kept')))?.modRevision).toBe(keptRevision);
    expect((await store.get(pod('listed-late')))?.modRevision).toBe(lateRevision);
    expect(await store.get(ep)).toMatchObject({ value: 'final', version: 1 });
    await term.end('test');
    await running;
  });

  it('one leader at a time; a deposed leader cannot write a single op', async () => {
    const a = elector('a');
    const b = elector('b');
    const termA = (await a.campaign(new AbortController().signal))!;
    const stopB = new AbortController();
    const bWins = b.campaign(stopB.signal);
    await new Promise((r) => setTimeout(r, 500));
    expect(b.otherLeader).toBe('a');
    // A stalls (as if paused) while its lease is revoked: B takes over within the poll interval.
    await store.client.leaseClient.leaseRevoke({ ID: termA.lease });
    const t0 = Date.now();
    const termB: Term = (await bWins)!;
    expect(Date.now() - t0).toBeLessThan(1_000);
    const m = mirror();
    m.set('pod', pod('fenced'), 'from-a');
    const s = syncer(m);
    await expect(
      s.flush({ key: termA.key, createRevision: termA.createRevision }, Infinity),
    ).rejects.toBeInstanceOf(GuardFailedError);
    expect(await store.get(pod('fenced'))).toBeUndefined();
    await expect(
      s.flush({ key: termB.key, createRevision: termB.createRevision }, Infinity),
    ).resolves.toMatchObject({ puts: 1 });
    await termA.end('test');
    await termB.end('test');
  });

  it('a leader that dies (lease expires) is replaced within ttl + poll', async () => {
    const a = elector('dying');
    const termA = (await a.campaign(new AbortController().signal))!;
    // Stop keeping the lease alive without revoking it: what kill -9 leaves behind.
    const lease = store.client.lease(2, { autoKeepAlive: false });
    const id = await lease.grant();
    await termA.end('simulated death'); // frees the key at once; now a stale key with a dead lease:
    await store.create(statusKey, JSON.stringify({ leader: 'ghost' }), id);
    const t0 = Date.now();
    const termB = (await elector('heir').campaign(new AbortController().signal))!;
    const took = Date.now() - t0;
    expect(took).toBeLessThan(4_000);
    expect(took).toBeGreaterThan(500);
    await termB.end('test');
  });

  it('a heartbeat notices a store restored from an older backup', async () => {
    const term = (await elector('h').campaign(new AbortController().signal))!;
    const guard = { key: term.key, createRevision: term.createRevision };
    const m = mirror();
    const s = syncer(m);
    await s.fullSync('test', guard);
    expect(await s.heartbeat(term, guard)).toBeUndefined();
    await etcd.stop();
    const backup = etcd.backup();
    await etcd.start();
    for (let i = 0; i < 50; i++) await s.heartbeat(term, guard);
    await etcd.stop();
    etcd.restore(backup);
    await etcd.start();
    let reason: string | undefined;
    for (let i = 0; i < 50 && reason === undefined; i++) {
      reason = await s.heartbeat(term, guard).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(reason).toBe('etcd revision went backwards');
    await term.end('test');
  });

  describe('transactions within etcd request limit (default --max-request-bytes)', () => {
    it('a transaction planned at exactly the default budget is accepted; a request over etcd limit is refused', async () => {
      const term = (await elector('bytes').campaign(new AbortController().signal))!;
      const guard = { key: term.key, createRevision: term.createRevision };
      // 100 puts whose estimated sizes add up to exactly DEFAULT_MAX_TXN_BYTES with the guard.
      const room = DEFAULT_MAX_TXN_BYTES - txnBaseBytes([guard]);
      const ops = Array.from({ length: 100 }, (_, i) => ({
        type: 'put' as const,
        key: pod(`exact-${String(i).padStart(3, '0')}`),
        value: '',
      }));
      const framing = ops.reduce((sum, op) => sum + opBytes(op), 0);
      const each = Math.floor((room - framing) / ops.length);
      ops.forEach((op, i) => (op.value = 'v'.repeat(each + (i < (room - framing) % ops.length ? 1 : 0))));
      expect(ops.reduce((sum, op) => sum + opBytes(op), 0) + txnBaseBytes([guard])).toBe(
        DEFAULT_MAX_TXN_BYTES,
      );
      await expect(writeGuarded(store, ops, [guard], 1)).resolves.toBeGreaterThan(0);
      // The limit is real on this etcd: one value of etcd's limit alone is refused.
      await expect(
        writeGuarded(
          store,
          [{ type: 'put', key: pod('over'), value: 'x'.repeat(ETCD_MAX_REQUEST_BYTES) }],
          [guard],
          1,
        ),
      ).rejects.toThrow(/too large/i);
      await store.deletePrefix(ks.k8sPrefix);
      await term.end('test');
    });

    it('large values are split by bytes, one too large for any transaction is set aside once, counted, and the rest written', async () => {
      await store.deletePrefix(ks.k8sPrefix);
      const term = (await elector('big').campaign(new AbortController().signal))!;
      const guard = { key: term.key, createRevision: term.createRevision };
      const lines: Record<string, unknown>[] = [];
      const logger = createLogger('test', {
        level: 'warn',
        destination: {
          write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
        },
      });
      const registry = createRegistry('t', { processMetrics: false });
      const m = mirror();
      const s = new Syncer({
        store,
        mirror: m,
        prefix: ks.k8sPrefix,
        logger,
        metrics: createKsrMetrics(registry),
        sourcesSynced: () => true,
        describeKey: (key) => ks.tryParse(key),
        options: DEFAULT_SYNCER_OPTIONS,
      });
      const ep = (name: string): string => ks.key({ kind: 'endpoints', namespace: 'a', name });
      // Three values over half the budget (any two together are over it), small ones, one too large.
      const big = 'b'.repeat(Math.ceil(DEFAULT_MAX_TXN_BYTES * 0.6));
      const want = new Map<string, string>();
      for (const name of ['big-1', 'big-2', 'big-3']) want.set(ep(name), `${name}:${big}`);
      for (let i = 0; i < 300; i++) want.set(pod(`small-${i}`), `small-${i}`);
      for (const [k, v] of want) m.set(k.includes('/endpoints/') ? 'endpoints' : 'pod', k, v);
      m.set('endpoints', ep('huge'), 'h'.repeat(ETCD_MAX_REQUEST_BYTES + 1));
      const metric = async (name: string): Promise<number> =>
        (await registry.getSingleMetric(name)!.get()).values.reduce((sum, v) => sum + v.value, 0);

      const stats = await s.fullSync('test', guard);
      expect(stats).toMatchObject({ puts: want.size, deletes: 0 });
      const inEtcd = new Map((await store.list(ks.k8sPrefix)).kvs.map((kv) => [kv.key, kv.value]));
      expect(inEtcd).toEqual(want);
      expect(await metric('netloom_ksr_too_large_total')).toBe(1);
      expect(await metric('netloom_ksr_too_large_objects')).toBe(1);
      expect(m.hasDirty).toBe(false); // set aside: holds up neither readiness nor the key count
      expect(await s.heartbeat(term, guard)).toBeUndefined();
      // Resyncs and changes that keep it too large: no second log line, no second count.
      await s.fullSync('again', guard);
      m.set('endpoints', ep('huge'), 'H'.repeat(ETCD_MAX_REQUEST_BYTES + 2));
      await s.flush(guard, Infinity);
      const tooLarge = lines.filter((l) => String(l['msg']).startsWith('object too large'));
      expect(tooLarge).toHaveLength(1);
      expect(tooLarge[0]).toMatchObject({ kind: 'endpoints', namespace: 'a', name: 'huge', key: ep('huge') });
      expect(await metric('netloom_ksr_too_large_total')).toBe(1);
      // Once it fits it is written, and no longer counted as set aside.
      m.set('endpoints', ep('huge'), 'fits now');
      await s.flush(guard, Infinity);
      expect((await store.get(ep('huge')))?.value).toBe('fits now');
      expect(await metric('netloom_ksr_too_large_objects')).toBe(0);
      await store.deletePrefix(ks.k8sPrefix);
      await term.end('test');
    });
  });
});
