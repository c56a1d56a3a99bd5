// KSR initial sync of 100k objects (mostly pods) against a real etcd, with raw batched etcd puts
// of the same keys and values measured in the same run as the peer; resident memory per mirrored
// object (in a fresh child process); event-to-etcd latency at 500 events/s (seen by an etcd
// watcher), beside raw single puts at the same rate.
//
// The source is in process: synthetic objects (bench/ksr-objects.ts) are generated page by page
// and fed through KSR's real feeds and converters into its mirror, exactly what the reflector
// does with each list page; the API server is not involved (100k objects in a test API server
// would measure the API server). Everything from conversion on is KSR's production code.
//
// Usage: npm run bench:ksr [-- --rounds 5 --scale 1 --latency-seconds 20 --latency-blocks 4 --memory 1]
// (--scale 0.1: a quick 10k run)
import { spawnSync } from 'node:child_process';
import { startEtcd } from '../test/harness/etcd.ts';
import { Store, type WriteOp } from '../lib/etcd/store.ts';
import { etcdClientOf, type EtcdConfig } from '../lib/etcd/client.ts';
import { Keyspace, type K8sKind } from '../lib/keyspace.ts';
import { silentLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import type { Feed } from '../ksr/feed.ts';
import { HeapCompactor } from '../ksr/heap.ts';
import { Elector, type Term } from '../ksr/leader.ts';
import { createKsrMetrics, type KsrMetrics } from '../ksr/metrics.ts';
import { Mirror } from '../ksr/mirror.ts';
import { RESOURCES } from '../ksr/resources.ts';
import { DEFAULT_SYNCER_OPTIONS, Syncer } from '../ksr/syncer.ts';
import { HUNDRED_K, pages, pod, total, type Population } from './ksr-objects.ts';
import { sleep } from '../lib/timing.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

function scaled(scale: number): Population {
  const p = { ...HUNDRED_K };
  for (const k of Object.keys(p) as (keyof Population)[]) p[k] = Math.max(1, Math.round(p[k] * scale));
  return p;
}

interface Built {
  mirror: Mirror;
  feeds: Map<K8sKind, Feed>;
  metrics: KsrMetrics;
}

/** Feeds every object through KSR's feeds into a fresh mirror, page by page. */
function build(ks: Keyspace, population: Population): Built {
  const metrics = createKsrMetrics(createRegistry('bench', { processMetrics: false }));
  const mirror = new Mirror((k) => ks.tryParse(k)?.kind as K8sKind | undefined);
  const deps = { mirror, keyspace: ks, logger: silentLogger(), metrics };
  const feeds = new Map(RESOURCES.map((r) => [r.kind, r.feed(deps)] as const));
  for (const f of feeds.values()) f.beginRelist();
  for (const page of pages(population)) for (const item of page.items) feeds.get(page.kind)!.upsert(item);
  for (const f of feeds.values()) f.endRelist();
  return { mirror, feeds, metrics };
}

function syncerFor(store: Store, ks: Keyspace, b: Built, sourcesSynced = (): boolean => true): Syncer {
  return new Syncer({
    store,
    mirror: b.mirror,
    prefix: ks.k8sPrefix,
    logger: silentLogger(),
    metrics: b.metrics,
    sourcesSynced,
    // As in ksr.ts: folded keys (endpoints) are final only once their list is complete.
    kindSettled: (kind) => kind !== 'endpoints' || sourcesSynced(),
    options: DEFAULT_SYNCER_OPTIONS,
  });
}

/**
 * The production path of an initial sync: the syncer runs as a new leader while the feeds
 * receive list pages (yielding between pages as a network list does), so writes overlap the
 * lists; done when the final sweep is. Returns the elapsed ms.
 */
async function initialSync(store: Store, ks: Keyspace, population: Population): Promise<number> {
  const t0 = performance.now();
  const metrics = createKsrMetrics(createRegistry('bench', { processMetrics: false }));
  const mirror = new Mirror((k) => ks.tryParse(k)?.kind as K8sKind | undefined);
  const deps = { mirror, keyspace: ks, logger: silentLogger(), metrics };
  const feeds = new Map(RESOURCES.map((r) => [r.kind, r.feed(deps)] as const));
  let listed = false;
  const syncer = syncerFor(store, ks, { mirror, feeds, metrics }, () => listed);
  mirror.onDirty = () => syncer.wake.notify();
  const term = await lead(store, ks);
  const running = syncer.run(term);
  for (const f of feeds.values()) f.beginRelist();
  for (const page of pages(population)) {
    for (const item of page.items) feeds.get(page.kind)!.upsert(item);
    await new Promise((r) => setImmediate(r));
  }
  for (const f of feeds.values()) f.endRelist();
  listed = true;
  syncer.wake.notify();
  while (!syncer.termSynced) await sleep(2);
  const ms = performance.now() - t0;
  await term.end('round over');
  await running;
  if (mirror.size !== total(population)) throw new Error(`mirror holds ${mirror.size} objects`);
  return ms;
}

async function lead(store: Store, ks: Keyspace): Promise<Term> {
  const elector = new Elector({
    store,
    key: ks.key({ kind: 'ksrStatus' }),
    identity: 'bench',
    ttlSeconds: 30,
    pollMs: 100,
    logger: silentLogger(),
    initialValue: () => '{"leader":"bench"}',
  });
  return (await elector.campaign(new AbortController().signal))!;
}

async function wipe(store: Store, ks: Keyspace): Promise<void> {
  await store.deletePrefix(ks.root);
  // Keep etcd's history small between rounds; "already compacted" is fine.
  await store.client.kv
    .compact({ revision: String(await store.revision()), physical: true })
    .catch(() => undefined);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Measures event → visible-in-etcd latency for `emit` called at `rate`/s for `seconds`. */
async function latency(
  store: Store,
  prefix: string,
  seconds: number,
  rate: number,
  emit: (i: number) => string,
): Promise<number[]> {
  const sent = new Map<string, number>();
  const seen: number[] = [];
  const stop = new AbortController();
  const from = (await store.revision()) + 1;
  const watching = (async () => {
    for await (const ev of store.watch(prefix, { startRevision: from, signal: stop.signal })) {
      if (ev.type !== 'events') continue;
      const now = performance.now();
      for (const c of ev.changes) {
        const t0 = sent.get(c.key);
        if (t0 === undefined) continue;
        seen.push(now - t0);
        sent.delete(c.key);
      }
    }
  })();
  await sleep(200);
  const start = performance.now();
  let i = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    while (i < due) {
      const key = emit(i++);
      if (!sent.has(key)) sent.set(key, performance.now());
    }
    await sleep(2);
  }
  const deadline = performance.now() + 10_000;
  while (sent.size > 0 && performance.now() < deadline) await sleep(20);
  stop.abort();
  await watching;
  if (sent.size > 0) console.log(`  *** ${sent.size} events never reached etcd ***`);
  return seen.sort((a, b) => a - b);
}

/** In a fresh process: memory held per mirrored object once the initial sync is done. */
async function memoryChild(etcd: EtcdConfig, scale: number): Promise<void> {
  const compactor = new HeapCompactor(silentLogger(), 0);
  const store = new Store(etcdClientOf(etcd));
  const ks = new Keyspace('bench-mem');
  await wipe(store, ks);
  const population = scaled(scale);
  compactor.compactNow(); // a clean baseline: module loading leaves garbage too
  const before = process.memoryUsage();
  const b = build(ks, population);
  const term = await lead(store, ks);
  await syncerFor(store, ks, b).fullSync('bench', { key: term.key, createRevision: term.createRevision });
  const loaded = process.memoryUsage();
  compactor.compactNow(); // what KSR does after a full sync (ksr/heap.ts)
  await sleep(500);
  const after = process.memoryUsage();
  const n = b.mirror.size;
  const bytes = [...b.mirror.keysUnder(ks.k8sPrefix)].reduce(
    (s, k) => s + k.length + (b.mirror.get(k)?.length ?? 0),
    0,
  );
  if (process.env['KSR_BENCH_DEBUG']) process.stderr.write(JSON.stringify({ before, loaded, after }) + '\n');
  process.stdout.write(
    JSON.stringify({
      n,
      loadedRss: (loaded.rss - before.rss) / n,
      rss: (after.rss - before.rss) / n,
      heap: (after.heapUsed - before.heapUsed) / n,
      payload: bytes / n,
    }) + '\n',
  );
  await term.end('done');
  await wipe(store, ks);
  store.close();
}

async function main(): Promise<void> {
  const rounds = arg('rounds', 5);
  const scale = arg('scale', 1);
  const seconds = arg('latency-seconds', 20);
  const population = scaled(scale);
  const etcd = await startEtcd({ name: 'ksr-bench', extraArgs: ['--quota-backend-bytes=8589934592'] });
  try {
    const store = etcd.store();
    console.log(
      `KSR initial sync: ${total(population)} objects (${JSON.stringify(population)}), etcd ${etcd.version}, ${rounds} rounds interleaved`,
    );
    // The peer's data: exactly the keys and values KSR writes, under a cluster name of equal length.
    const rawKs = new Keyspace('bench-raw');
    const ref = build(rawKs, population).mirror;
    const ops: WriteOp[] = [...ref.keysUnder(rawKs.k8sPrefix)].map((key) => ({
      type: 'put',
      key,
      value: ref.get(key)!,
    }));
    const bytes = ops.reduce((s, o) => s + o.key.length + (o.type === 'put' ? o.value.length : 0), 0);
    console.log(
      `  ${ops.length} keys, average key+value ${(bytes / ops.length).toFixed(0)} bytes, ${(bytes / 1e6).toFixed(1)} MB in all`,
    );

    const ksrKs = new Keyspace('bench-ksr');
    const raw: number[] = [];
    const ksrSync: number[] = [];
    const ksrTotal: number[] = [];
    const source: number[] = [];
    const n = ops.length;
    for (let r = 0; r < rounds; r++) {
      await wipe(store, rawKs);
      let t0 = performance.now();
      await store.write(ops);
      raw.push(performance.now() - t0);

      // The synthetic source's own cost (it is inside the end-to-end figure; a real list's is JSON parsing).
      t0 = performance.now();
      let generated = 0;
      for (const page of pages(population)) generated += page.items.length;
      source.push(performance.now() - t0);
      if (generated !== n) throw new Error('population mismatch');

      await wipe(store, ksrKs);
      ksrTotal.push(await initialSync(store, ksrKs, population));
      if ((await store.list(ksrKs.k8sPrefix)).kvs.length !== ops.length)
        throw new Error('KSR did not write every key');

      // The write phase alone: a mirror built beforehand, one mark and sweep.
      await wipe(store, ksrKs);
      const b = build(ksrKs, population);
      const term = await lead(store, ksrKs);
      t0 = performance.now();
      const stats = await syncerFor(store, ksrKs, b).fullSync('bench', {
        key: term.key,
        createRevision: term.createRevision,
      });
      ksrSync.push(performance.now() - t0);
      await term.end('round over');
      if (stats.puts !== ops.length) throw new Error(`KSR wrote ${stats.puts} keys, expected ${ops.length}`);
      console.log(
        `  round ${r + 1}: raw puts ${raw[r]!.toFixed(0)} ms | KSR mark-and-sweep alone ${ksrSync[r]!.toFixed(0)} ms | KSR initial sync with conversion ${ksrTotal[r]!.toFixed(0)} ms (synthetic source alone ${source[r]!.toFixed(0)} ms)`,
      );
    }
    const rate = (ms: number): string => `${Math.round(n / (ms / 1000)).toLocaleString('en')} objects/s`;
    const [mr, ms, mt] = [median(raw), median(ksrSync), median(ksrTotal)];
    // Each KSR run is paired with the raw run beside it, so load drifting across the run (the
    // machine is shared) cancels out in the ratio; the median of the paired ratios is the figure.
    const pairs = (xs: number[]): string => {
      const ratios = xs.map((x, i) => raw[i]! / x).sort((a, b) => a - b);
      return `${(median(ratios) * 100).toFixed(0)} % of raw (rounds ${ratios.map((r) => (r * 100).toFixed(0)).join(', ')} %)`;
    };
    console.log(
      `  raw batched etcd puts (128/txn, 8 in flight):              ${mr.toFixed(0)} ms  ${rate(mr)}`,
    );
    console.log(
      `  KSR sync engine: mark and sweep of the converted objects:   ${ms.toFixed(0)} ms  ${rate(ms)}  = ${pairs(ksrSync)}`,
    );
    console.log(
      `  KSR initial sync from raw objects (feeds + converters too): ${mt.toFixed(0)} ms  ${rate(mt)}  = ${pairs(ksrTotal)}`,
    );
    console.log(
      `    of which the synthetic source generating the raw objects: ~${median(source).toFixed(0)} ms`,
    );

    // A second full sync with nothing changed: reads everything, writes nothing.
    {
      const b = build(ksrKs, population);
      const term = await lead(store, ksrKs);
      const t0 = performance.now();
      const stats = await syncerFor(store, ksrKs, b).fullSync('bench', {
        key: term.key,
        createRevision: term.createRevision,
      });
      console.log(
        `  resync with nothing changed: ${(performance.now() - t0).toFixed(0)} ms, ${stats.puts} puts, ${stats.deletes} deletes`,
      );

      // Event → etcd latency at 500 events/s, the syncer running as in production, beside raw
      // single puts at the same rate. The two alternate in blocks (KSR, raw, KSR, raw, …) so load
      // drifting on a shared machine hits both alike; KSR's leader is stopped during the raw blocks
      // (each KSR block starts a new term, whose first full sync is not measured).
      const blocks = arg('latency-blocks', 4);
      const perBlock = seconds / blocks;
      const seen: number[] = [];
      const peer: number[] = [];
      const pods = b.feeds.get('pod')!;
      const podOps = ops.filter((o) => o.key.startsWith(rawKs.prefix('pod')));
      let gen = 1;
      let sent = 0;
      let blockTerm: Term | undefined = term;
      for (let blk = 0; blk < blocks; blk++) {
        const t = blockTerm ?? (await lead(store, ksrKs));
        blockTerm = undefined;
        const syncer = syncerFor(store, ksrKs, b);
        b.mirror.onDirty = () => syncer.wake.notify();
        const running = syncer.run(t);
        while (!syncer.termSynced) await sleep(5); // its own first full sync
        const from = sent;
        seen.push(
          ...(await latency(store, ksrKs.prefix('pod'), perBlock, 500, (i) => {
            const obj = pod(((from + i) * 7919) % population.pod, gen++) as {
              metadata: { namespace: string; name: string };
            };
            pods.upsert(obj);
            return ksrKs.key({ kind: 'pod', namespace: obj.metadata.namespace, name: obj.metadata.name });
          })),
        );
        await t.end('block over');
        await running;
        peer.push(
          ...(await latency(store, rawKs.prefix('pod'), perBlock, 500, (i) => {
            const op = podOps[((from + i) * 7919) % podOps.length]!;
            void store.put(op.key, `${op.type === 'put' ? op.value : ''} ${gen}`);
            return op.key;
          })),
        );
        sent += Math.round(perBlock * 500);
      }
      seen.sort((a, b) => a - b);
      peer.sort((a, b) => a - b);
      console.log(
        `  event → etcd at 500 events/s for ${seconds} s in ${blocks} blocks (${seen.length} events): p50 ${pct(seen, 50).toFixed(2)} ms, p99 ${pct(seen, 99).toFixed(2)} ms, max ${seen.at(-1)?.toFixed(2)} ms`,
      );
      console.log(
        `  peer: raw single puts at 500/s, alternating with it (${peer.length}): p50 ${pct(peer, 50).toFixed(2)} ms, p99 ${pct(peer, 99).toFixed(2)} ms, max ${peer.at(-1)?.toFixed(2)} ms`,
      );
      console.log(
        `  KSR / raw: p50 ${(pct(seen, 50) / pct(peer, 50)).toFixed(2)}×, p99 ${(pct(seen, 99) / pct(peer, 99)).toFixed(2)}×`,
      );
    }
    await wipe(store, ksrKs);
    await wipe(store, rawKs);

    if (arg('memory', 1) === 0) return; // --memory 0: throughput and latency only
    const memory = (
      env: Record<string, string>,
    ): { n: number; loadedRss: number; rss: number; heap: number; payload: number } => {
      const child = spawnSync(
        process.execPath,
        [
          new URL(import.meta.url).pathname,
          '--memory-child',
          JSON.stringify(etcd.config),
          '--scale',
          String(scale),
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, ...env },
        },
      );
      if (child.status !== 0) throw new Error(`memory child failed: ${child.stderr}`);
      return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as {
        n: number;
        loadedRss: number;
        rss: number;
        heap: number;
        payload: number;
      };
    };
    const mem = memory({});
    // glibc keeps freed small blocks of the write path's buffers; mmapping blocks ≥ 16 KiB lets
    // them go back to the system (a Deployment env setting, no code).
    const tuned = memory({ MALLOC_MMAP_THRESHOLD_: '16384' });
    console.log(
      `  memory per mirrored object (fresh process, ${mem.n} objects, after the initial sync; goal ≤ 1024 B resident):`,
    );
    console.log(`    live heap ${mem.heap.toFixed(0)} B (key+value text ${mem.payload.toFixed(0)} B)`);
    console.log(
      `    resident ${mem.rss.toFixed(0)} B after KSR's post-sync heap compaction (${mem.loadedRss.toFixed(0)} B before it)`,
    );
    console.log(
      `    resident ${tuned.rss.toFixed(0)} B with MALLOC_MMAP_THRESHOLD_=16384 (${tuned.loadedRss.toFixed(0)} B before compaction)`,
    );
  } finally {
    await etcd.destroy();
  }
}

if (process.argv.includes('--memory-child')) {
  await memoryChild(
    JSON.parse(process.argv[process.argv.indexOf('--memory-child') + 1]!) as EtcdConfig,
    arg('scale', 1),
  );
} else {
  await main();
}
