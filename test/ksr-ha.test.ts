// Two KSR replicas (real child processes) against a real kube-apiserver and etcd: one leads,
// the other stands by with warm caches. The leader is killed with -9 during a churn: the
// standby takes over within seconds and converges the mirror. A leader paused (SIGSTOP) loses
// its claim; resumed, it writes nothing more. A leader stopped with SIGTERM hands over at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Store } from '../lib/etcd/store.ts';
import { Keyspace } from '../lib/keyspace.ts';
import { kubeApiserverAvailable, skipUnless } from './harness/availability.ts';
import type { KubeApiserverHandle } from './harness/kube-apiserver.ts';
import {
  eventually,
  randomSuffix,
  waitConverged,
  type KsrProcess,
  startKsrWorld,
  type KsrWorld,
} from './ksr-support.ts';

const skip = skipUnless('KSR high availability (kube-apiserver + etcd)', kubeApiserverAvailable());

describe.skipIf(skip)('netloom ksr with two replicas', () => {
  let world: KsrWorld;
  let kube: KubeApiserverHandle;
  let store: Store;
  let core: CoreV1Api;
  const replicas: KsrProcess[] = [];
  const cluster = `nl${randomSuffix()}`;
  const ks = new Keyspace(cluster);
  const ns = `nl-ha-${randomSuffix()}`;
  let n = 0;

  const leaderName = async (): Promise<string | undefined> => {
    const v = await store.get(ks.key({ kind: 'ksrStatus' }));
    return v ? (JSON.parse(v.value) as { leader: string }).leader : undefined;
  };
  const byName = (name: string | undefined): KsrProcess => replicas.find((r) => r.identity === name)!;
  const other = (r: KsrProcess): KsrProcess => replicas.find((x) => x !== r)!;
  /** Creates pods until stopped; returns a stopper. */
  const churn = (): (() => Promise<void>) => {
    let on = true;
    const run = (async () => {
      while (on) {
        await core.createNamespacedPod({
          namespace: ns,
          body: {
            metadata: { name: `p-${n++}`, labels: { app: 'ha' } },
            spec: { containers: [{ name: 'c', image: 'i' }] },
          },
        });
        if (n % 4 === 0)
          await core.deleteNamespacedPod({ name: `p-${n - 2}`, namespace: ns, gracePeriodSeconds: 0 });
      }
    })();
    return async () => {
      on = false;
      await run;
    };
  };

  beforeAll(async () => {
    world = await startKsrWorld({ cluster, namespace: ns });
    ({ kube, store, core } = world);
    for (const id of ['ksr-a', 'ksr-b']) replicas.push(await world.startKsr(id));
    await waitConverged(kube.kubeConfig(), store, ks);
  });
  afterAll(async () => {
    await world?.destroy();
  });

  it('one leads, the other stands by (ready, warm, writing nothing)', async () => {
    const leader = byName(await leaderName());
    const standby = other(leader);
    expect((await leader.status()).leader).toBe(true);
    expect((await standby.status()).leader).toBe(false);
    await eventually(async () => (await standby.readyz()) === 200, 10_000, 'standby ready');
    expect(await standby.metric('netloom_ksr_writes_total')).toBe(0);
    expect(await standby.metric('netloom_ksr_events_total')).toBeGreaterThan(0);
  });

  it('leader killed with -9 during a churn: the standby takes over within seconds and converges', async () => {
    const stop = churn();
    await new Promise((r) => setTimeout(r, 1_000));
    const leader = byName(await leaderName());
    const standby = other(leader);
    await leader.kill();
    const t0 = Date.now();
    await eventually(async () => (await leaderName()) === standby.identity, 15_000, 'standby leads');
    const takeoverMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 1_000));
    await stop();
    await waitConverged(kube.kubeConfig(), store, ks, 30_000);
    process.stderr.write(`takeover after kill -9 in ${takeoverMs} ms (lease ttl 2 s, poll 200 ms)\n`);
    expect(takeoverMs).toBeLessThan(5_000);
    await leader.start(); // back as the standby
    await eventually(
      async () => (await leader.status()).leader === false && (await leader.readyz()) === 200,
      15_000,
      'restarted replica stands by',
    );
  });

  it('leader paused past its lease: the standby takes over; resumed, the old leader writes nothing', async () => {
    const leader = byName(await leaderName());
    const standby = other(leader);
    const writesBefore = await leader.metric('netloom_ksr_writes_total');
    leader.signal('SIGSTOP');
    let resumed = false;
    try {
      await eventually(async () => (await leaderName()) === standby.identity, 15_000, 'standby leads');
      const stop = churn();
      await new Promise((r) => setTimeout(r, 1_000));
      await stop();
      leader.signal('SIGCONT');
      resumed = true;
    } finally {
      if (!resumed) leader.signal('SIGCONT');
    }
    await waitConverged(kube.kubeConfig(), store, ks, 30_000);
    await eventually(async () => (await leader.status()).leader === false, 10_000, 'old leader steps down');
    expect(await leader.metric('netloom_ksr_writes_total')).toBe(writesBefore);
    expect(await leader.metric('netloom_ksr_leader')).toBe(0);
    expect(await leaderName()).toBe(standby.identity);
    // Keep churning: only the new leader writes.
    const w = await leader.metric('netloom_ksr_writes_total');
    const stop = churn();
    await new Promise((r) => setTimeout(r, 1_000));
    await stop();
    await waitConverged(kube.kubeConfig(), store, ks, 30_000);
    expect(await leader.metric('netloom_ksr_writes_total')).toBe(w);
  });

  it('leader stopped with SIGTERM hands over at once', async () => {
    const leader = byName(await leaderName());
    const standby = other(leader);
    const t0 = Date.now();
    await leader.stop();
    await eventually(async () => (await leaderName()) === standby.identity, 10_000, 'standby leads');
    const ms = Date.now() - t0;
    process.stderr.write(`handover after SIGTERM in ${ms} ms\n`);
    expect(ms).toBeLessThan(1_500);
    await waitConverged(kube.kubeConfig(), store, ks, 30_000);
  });
});
