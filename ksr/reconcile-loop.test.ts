import { afterEach, describe, expect, it } from 'vitest';
import { GuardFailedError, type Guard } from '../lib/etcd/guarded-write.ts';
import type { Store } from '../lib/etcd/store.ts';
import { silentLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import { sleep, Wakeup } from '../lib/timing.ts';
import { claimHolds, confirmClaim, guardOf, type Term } from './leader.ts';
import { createKsrMetrics, type KsrMetrics } from './metrics.ts';
import { runReconcileLoop, type PassResult, type Reconciler } from './reconcile-loop.ts';

const stops: AbortController[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s.abort();
});

function fakeTerm(): Term & { ended: string[] } {
  const stop = new AbortController();
  stops.push(stop);
  const ended: string[] = [];
  return {
    identity: 'me',
    key: '/netloom/v1/c/ksr/status',
    createRevision: 7,
    lease: '1',
    signal: stop.signal,
    ended,
    end: (reason: string) => {
      ended.push(reason);
      stop.abort();
      return Promise.resolve();
    },
  };
}

/**
 * A worker whose reads return 1, 2, 3, … and whose passes answer from `script` in turn (an Error
 * is thrown), then `{ done: 0, failed: false }`; every call is logged.
 */
function scripted(script: (PassResult | Error)[] = []): Reconciler<number> & { ok: boolean; log: string[] } {
  let reads = 0;
  const w = {
    ok: true,
    log: [] as string[],
    ready: () => w.ok,
    read: () => {
      w.log.push(`read ${++reads}`);
      return Promise.resolve(reads);
    },
    pass: (state: number, guard: Guard) => {
      expect(guard).toEqual({ key: '/netloom/v1/c/ksr/status', createRevision: 7 });
      w.log.push(`pass ${state}`);
      const next = script.shift() ?? { done: 0, failed: false };
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  };
  return w;
}

function setup(worker: Reconciler<number>, resyncMs = 60_000) {
  const metrics = createKsrMetrics(createRegistry('t', { processMetrics: false }));
  const wake = new Wakeup();
  const term = fakeTerm();
  const done = runReconcileLoop(term, worker, {
    kind: 'test',
    failure: 'test pass failed',
    readyPollMs: 60_000,
    resyncMs,
    backoffMs: { min: 10, max: 10 },
    wake,
    logger: silentLogger(),
    metrics,
  });
  return { metrics, wake, term, done };
}

async function errors(metrics: KsrMetrics): Promise<Record<string, number>> {
  const values = (await metrics.errors.get()).values;
  return Object.fromEntries(values.map((v) => [`${v.labels['kind']}/${v.labels['reason']}`, v.value]));
}

describe('runReconcileLoop', () => {
  it('reads nothing until ready; a wake-up makes it look again at once', async () => {
    const w = scripted();
    w.ok = false;
    const { wake } = setup(w);
    await sleep(50);
    expect(w.log).toEqual([]);
    w.ok = true;
    wake.notify();
    await sleep(50);
    expect(w.log).toEqual(['read 1', 'pass 1']);
  });

  it('passes again at once while passes do something, then waits for a wake-up, keeping its state', async () => {
    const w = scripted([
      { done: 2, failed: false },
      { done: 1, failed: false },
    ]);
    const { wake } = setup(w);
    await sleep(50);
    expect(w.log).toEqual(['read 1', 'pass 1', 'pass 1', 'pass 1']);
    wake.notify();
    await sleep(50);
    expect(w.log).toEqual(['read 1', 'pass 1', 'pass 1', 'pass 1', 'pass 1']);
  });

  it('reads again once the resync period is over', async () => {
    const w = scripted();
    setup(w, 60);
    await sleep(30);
    expect(w.log).toEqual(['read 1', 'pass 1']);
    await sleep(100);
    expect(w.log.slice(0, 4)).toEqual(['read 1', 'pass 1', 'read 2', 'pass 2']);
  });

  it('a failed pass backs off and reads again; nothing counted as an etcd error', async () => {
    const w = scripted([{ done: 0, failed: true }]);
    const { metrics } = setup(w);
    await sleep(60);
    expect(w.log).toEqual(['read 1', 'pass 1', 'read 2', 'pass 2']);
    expect(await errors(metrics)).toEqual({});
  });

  it('a pass that throws is counted, backs off and reads again', async () => {
    const w = scripted([new Error('etcd unavailable')]);
    const { metrics, term } = setup(w);
    await sleep(60);
    expect(w.log).toEqual(['read 1', 'pass 1', 'read 2', 'pass 2']);
    expect(await errors(metrics)).toEqual({ 'test/etcd': 1 });
    expect(term.ended).toEqual([]);
  });

  it('a write refused by the leader guard ends the term and the loop', async () => {
    const w = scripted([new GuardFailedError('guard failed')]);
    const { metrics, term, done } = setup(w);
    await done;
    expect(w.log).toEqual(['read 1', 'pass 1']);
    expect(term.ended).toHaveLength(1);
    expect(await errors(metrics)).toEqual({ 'leader/fenced': 1 });
  });

  it('ends when the term does', async () => {
    const w = scripted();
    const { term, done } = setup(w);
    await sleep(20);
    await term.end('test over');
    await done;
    expect(w.log).toEqual(['read 1', 'pass 1']);
  });
});

describe('the claim', () => {
  const store = (createRevision: number | undefined): Store =>
    ({
      get: () => Promise.resolve(createRevision === undefined ? undefined : { createRevision }),
    }) as unknown as Store;
  const guard = guardOf(fakeTerm());

  it('holds while ksr/status is the key the term created', async () => {
    expect(guard).toEqual({ key: '/netloom/v1/c/ksr/status', createRevision: 7 });
    expect(await claimHolds(store(7), guard)).toBe(true);
    await expect(confirmClaim(store(7), guard)).resolves.toBeUndefined();
  });

  it('is gone when the key is another term’s or absent', async () => {
    for (const rev of [8, undefined]) {
      expect(await claimHolds(store(rev), guard)).toBe(false);
      await expect(confirmClaim(store(rev), guard)).rejects.toBeInstanceOf(GuardFailedError);
    }
  });
});
