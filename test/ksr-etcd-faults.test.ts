// etcd failing under a running KSR (a real child process): restarted with changes made while it
// was down, its data deleted behind KSR's back (the k8s/ prefix only, then the whole keyspace),
// its data directory wiped (a brand-new cluster on the same endpoint), and restored from an
// older backup (revisions go backwards). Each time KSR notices by itself and converges.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Store } from '../lib/etcd/store.ts';
import { Keyspace } from '../lib/keyspace.ts';
import { kubeApiserverAvailable, skipUnless } from './harness/availability.ts';
import type { EtcdHandle } from './harness/etcd.ts';
import type { KubeApiserverHandle } from './harness/kube-apiserver.ts';
import {
  eventually,
  randomSuffix,
  waitConverged,
  type KsrProcess,
  startKsrWorld,
  type KsrWorld,
} from './ksr-support.ts';

const skip = skipUnless('KSR under etcd failures (kube-apiserver + etcd)', kubeApiserverAvailable());

describe.skipIf(skip)('netloom ksr when etcd fails', () => {
  let world: KsrWorld;
  let kube: KubeApiserverHandle;
  let etcd: EtcdHandle;
  let store: Store;
  let ksr: KsrProcess;
  let core: CoreV1Api;
  const cluster = `nl${randomSuffix()}`;
  const ks = new Keyspace(cluster);
  const ns = `nl-faults-${randomSuffix()}`;
  let n = 0;

  const pods = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: `p-${n++}`, labels: { app: 'x' } },
          spec: { containers: [{ name: 'c', image: 'i' }] },
        },
      });
    }
  };
  const resyncs = (reason?: string): Promise<number> =>
    ksr.metric('netloom_ksr_resyncs_total', reason ? { reason } : {});

  beforeAll(async () => {
    world = await startKsrWorld({ cluster, namespace: ns });
    ({ kube, etcd, store, core } = world);
    await pods(50);
    // A long lease: pausing KSR across a restore must not cost it its leadership.
    ksr = await world.startKsr('faults', ['--lease-ttl-seconds', '30']);
    await waitConverged(kube.kubeConfig(), store, ks);
  });
  afterAll(async () => {
    await world?.destroy();
  });

  it('etcd stopped, objects changed meanwhile, etcd back: converges', async () => {
    await etcd.stop();
    await pods(20);
    await core.deleteNamespacedPod({ name: 'p-0', namespace: ns, gracePeriodSeconds: 0 });
    await new Promise((r) => setTimeout(r, 1_500));
    await etcd.start();
    await waitConverged(kube.kubeConfig(), store, ks, 30_000);
    expect(await resyncs('write failed')).toBeGreaterThan(0);
  });

  it('the k8s/ prefix deleted behind its back: the key count check resyncs', async () => {
    await store.deletePrefix(ks.k8sPrefix);
    await waitConverged(kube.kubeConfig(), store, ks, 15_000);
    expect(
      ksr.logs().some((l) => typeof l['reason'] === 'string' && l['reason'].startsWith('etcd holds 0 keys')),
    ).toBe(true);
  });

  it('the whole keyspace deleted (status key included): leadership is re-won and everything rewritten', async () => {
    const before = await resyncs('new leader');
    await store.deletePrefix(ks.root);
    await waitConverged(kube.kubeConfig(), store, ks, 15_000);
    await eventually(
      async () => (await store.get(ks.key({ kind: 'ksrStatus' }))) !== undefined,
      10_000,
      'status key back',
    );
    expect(await resyncs('new leader')).toBeGreaterThan(before);
  });

  it('data directory wiped (a new empty cluster on the same endpoint): converges', async () => {
    await etcd.stop();
    rmSync(etcd.dataDir, { recursive: true, force: true });
    await etcd.start();
    await pods(5);
    await waitConverged(kube.kubeConfig(), store, ks, 30_000);
    await eventually(
      async () => (await store.get(ks.key({ kind: 'ksrStatus' }))) !== undefined,
      10_000,
      'status key back',
    );
  });

  it('restored from an older backup (revision goes backwards): detected and resynced', async () => {
    await etcd.stop();
    const backup = etcd.backup();
    await etcd.start();
    await waitConverged(kube.kubeConfig(), store, ks, 30_000);
    // Changes after the backup: KSR writes them, then the restore takes them away again.
    await pods(30);
    for (let i = 1; i < 10; i++)
      await core.deleteNamespacedPod({ name: `p-${i}`, namespace: ns, gracePeriodSeconds: 0 });
    await waitConverged(kube.kubeConfig(), store, ks, 30_000);
    const before = await resyncs();
    // KSR is paused across the restore so that its first request afterwards meets the rewound
    // store (rather than a refused connection): the revision check is what must notice.
    ksr.signal('SIGSTOP');
    try {
      await etcd.stop();
      etcd.restore(backup);
      rmSync(backup, { recursive: true, force: true });
      await etcd.start();
    } finally {
      ksr.signal('SIGCONT');
    }
    await waitConverged(kube.kubeConfig(), store, ks, 30_000);
    expect(await resyncs()).toBeGreaterThan(before);
    const reasons = ksr
      .logs()
      .filter((l) => l['msg'] === 'full sync done')
      .map((l) => l['reason']);
    process.stderr.write(`resync reasons so far: ${reasons.join(', ')}\n`);
    expect(reasons.at(-1)).toBe('etcd revision went backwards');
    expect(await ksr.readyz()).toBe(200);
  });
});
