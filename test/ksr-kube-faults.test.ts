// KSR's informers against a misbehaving real kube-apiserver: a short watchdog restarts quiet
// watches without losing anything; periodic relists run; the API server is stopped and started
// again (watches fail, reconnect with backoff, and resume or relist on 410) and KSR converges
// on the changes made after it came back.
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

const skip = skipUnless(
  'KSR informers under API server faults (kube-apiserver + etcd)',
  kubeApiserverAvailable(),
);

describe.skipIf(skip)('netloom ksr when the API server misbehaves', () => {
  let world: KsrWorld;
  let kube: KubeApiserverHandle;
  let store: Store;
  let ksr: KsrProcess;
  let core: CoreV1Api;
  const cluster = `nl${randomSuffix()}`;
  const ks = new Keyspace(cluster);
  const ns = `nl-kf-${randomSuffix()}`;
  let n = 0;
  const pods = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++)
      await core.createNamespacedPod({
        namespace: ns,
        body: { metadata: { name: `p-${n++}` }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      });
  };

  beforeAll(async () => {
    world = await startKsrWorld({ cluster, namespace: ns });
    ({ kube, store, core } = world);
    ksr = await world.startKsr('kube-faults', ['--watchdog-ms', '1500', '--relist-ms', '4000']);
    await waitConverged(kube.kubeConfig(), store, ks);
  });
  afterAll(async () => {
    await world?.destroy();
  });

  it('the watchdog restarts quiet watches and periodic relists run, losing nothing', async () => {
    await eventually(
      async () => (await ksr.metric('netloom_ksr_watch_restarts_total', { reason: 'watchdog' })) >= 7,
      20_000,
      'watchdog restarts',
    );
    await eventually(
      async () => (await ksr.metric('netloom_ksr_events_total', { type: 'relist' })) >= 14,
      20_000,
      'periodic relists',
    );
    await pods(10);
    await waitConverged(kube.kubeConfig(), store, ks, 15_000);
    expect(await ksr.metric('netloom_ksr_errors_total')).toBe(0);
  });

  it('API server stopped and started again: reconnects with backoff and converges', async () => {
    await kube.stop();
    await new Promise((r) => setTimeout(r, 2_000));
    await kube.start();
    await pods(10);
    await core.deleteNamespacedPod({ name: 'p-0', namespace: ns, gracePeriodSeconds: 0 });
    await waitConverged(kube.kubeConfig(), store, ks, 60_000);
    const errors =
      (await ksr.metric('netloom_ksr_watch_restarts_total', { reason: 'error' })) +
      (await ksr.metric('netloom_ksr_errors_total', { reason: 'list' }));
    expect(errors).toBeGreaterThan(0);
    expect(await ksr.readyz()).toBe(200);
  });
});
