// kill -9 during a churn: KSR (a real child process) is killed while thousands of changes
// stream into Kubernetes, more objects change while it is down (updates, deletes, creates),
// and after a restart etcd equals Kubernetes exactly — no stale key, no missing key, no old
// value — and every key whose value did not change kept its mod revision (nothing rewritten).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import type { Store } from '../lib/etcd/store.ts';
import { Keyspace } from '../lib/keyspace.ts';
import { kubeApiserverAvailable, skipUnless } from './harness/availability.ts';
import type { KubeApiserverHandle } from './harness/kube-apiserver.ts';
import {
  randomSuffix,
  waitConverged,
  type EtcdEntry,
  type KsrProcess,
  startKsrWorld,
  type KsrWorld,
} from './ksr-support.ts';

const skip = skipUnless('KSR crash recovery (kube-apiserver + etcd)', kubeApiserverAvailable());

/** Runs `tasks` with `width` in flight. */
async function pool(width: number, tasks: (() => Promise<unknown>)[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** Chains each delete after the task before it (its pod's relabel). */
function sequenced(tasks: (() => Promise<unknown>)[]): (() => Promise<unknown>)[] {
  const out: (() => Promise<unknown>)[] = [];
  for (const t of tasks) {
    const prev = out.at(-1);
    if (t.name === 'remove' && prev) out[out.length - 1] = async () => (await prev(), t());
    else out.push(t);
  }
  return out;
}

describe.skipIf(skip)('netloom ksr killed with -9 during a churn', () => {
  let world: KsrWorld;
  let kube: KubeApiserverHandle;
  let store: Store;
  let ksr: KsrProcess;
  let core: CoreV1Api;
  const cluster = `nl${randomSuffix()}`;
  const ks = new Keyspace(cluster);
  const ns = `nl-churn-${randomSuffix()}`;

  beforeAll(async () => {
    world = await startKsrWorld({ cluster, namespace: ns });
    ({ kube, store, core } = world);
    ksr = await world.startKsr('crash');
  });
  afterAll(async () => {
    await world?.destroy();
  });

  const pod = (name: string, gen: number): object => ({
    metadata: { name, labels: { app: 'churn', gen: String(gen) } },
    spec: {
      nodeName: 'worker-1',
      containers: [{ name: 'c', image: 'i', ports: [{ name: 'http', containerPort: 8080 }] }],
    },
  });
  const create =
    (name: string, gen = 0) =>
    () =>
      core.createNamespacedPod({ namespace: ns, body: pod(name, gen) });
  const relabel = (name: string, gen: number) => async () => {
    const p = await core.readNamespacedPod({ name, namespace: ns });
    p.metadata!.labels = { ...p.metadata!.labels, gen: String(gen) };
    await core.replaceNamespacedPod({ name, namespace: ns, body: p });
  };
  const remove = (name: string) => {
    const remove = (): Promise<unknown> =>
      core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 0 });
    return remove;
  };
  const service = (name: string) => () =>
    core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name },
        spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });

  it('converges exactly after a restart, rewriting nothing that did not change', async () => {
    // A stable population that the churn never touches.
    await pool(
      16,
      Array.from({ length: 300 }, (_, i) => create(`stable-${i}`)),
    );
    await pool(
      8,
      Array.from({ length: 20 }, (_, i) => service(`svc-${i}`)),
    );
    // A service whose endpoints fold from two slices: its key must not be rewritten either.
    const discovery = kube.kubeConfig().makeApiClient(DiscoveryV1Api);
    for (const part of ['a', 'b']) {
      await discovery.createNamespacedEndpointSlice({
        namespace: ns,
        body: {
          metadata: { name: `svc-1-${part}`, labels: { 'kubernetes.io/service-name': 'svc-1' } },
          addressType: 'IPv4',
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
          endpoints: [{ addresses: [part === 'a' ? '10.1.1.1' : '10.1.2.1'], conditions: { ready: true } }],
        },
      });
    }
    // The API server keeps default/kubernetes itself (and may touch it under load): note its versions.
    const apiserverOwned = async (): Promise<string> =>
      JSON.stringify([
        (await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' })).metadata
          ?.resourceVersion,
        (await discovery.listNamespacedEndpointSlice({ namespace: 'default' })).items.map(
          (s) => s.metadata?.resourceVersion,
        ),
      ]);
    const ownedBefore = await apiserverOwned();
    const before: Map<string, EtcdEntry> = await waitConverged(kube.kubeConfig(), store, ks, 60_000);
    const svc1 = ks.key({ kind: 'endpoints', namespace: ns, name: 'svc-1' });
    expect(
      (JSON.parse(before.get(svc1)?.value ?? '{}') as { subsets?: { endpoints: unknown[] }[] }).subsets?.[0]
        ?.endpoints,
    ).toHaveLength(2);

    // The churn: 1,500 creates, then 1,500 updates and 500 deletes interleaved; KSR dies a
    // third of the way through.
    const churn: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < 1500; i++) churn.push(create(`churn-${i}`));
    for (let i = 0; i < 1500; i++) {
      churn.push(relabel(`churn-${i}`, 1));
      if (i % 3 === 0) churn.push(remove(`churn-${i}`));
    }
    // Updates and deletes of one pod run in order: the pool starts tasks in order, and a
    // pod's relabel is awaited before its delete starts (same worker chain below).
    let done = 0;
    const counted = sequenced(churn).map((t) => async () => {
      await t();
      done++;
    });
    const killer = (async () => {
      while (done < churn.length / 3) await new Promise((r) => setTimeout(r, 20));
      await ksr.kill();
    })();
    const started = Date.now();
    await pool(16, counted);
    await killer;
    const churnMs = Date.now() - started;

    // While it is down: more updates, deletes, creates, and a deleted service.
    const down: (() => Promise<unknown>)[] = [];
    for (let i = 1; i < 1500; i += 3) down.push(relabel(`churn-${i}`, 2));
    for (let i = 2; i < 1500; i += 6) down.push(remove(`churn-${i}`));
    for (let i = 0; i < 200; i++) down.push(create(`late-${i}`));
    down.push(() => core.deleteNamespacedService({ name: 'svc-0', namespace: ns }));
    await pool(16, down);

    const t0 = Date.now();
    await ksr.start();
    const after = await waitConverged(kube.kubeConfig(), store, ks, 60_000);
    const convergeMs = Date.now() - t0;

    // Every key whose value is what it was before the churn kept its mod revision (objects the
    // API server itself changed meanwhile, and back, excepted).
    const ownedChanged = (await apiserverOwned()) !== ownedBefore;
    if (ownedChanged)
      process.stderr.write(
        'the API server updated default/kubernetes during the run: its keys are not checked\n',
      );
    let unchanged = 0;
    for (const [key, b] of before) {
      if (ownedChanged && key.includes('/default/kubernetes')) continue;
      const a = after.get(key);
      if (a && a.value === b.value) {
        expect(a.modRevision, key).toBe(b.modRevision);
        unchanged++;
      }
    }
    expect(unchanged).toBeGreaterThanOrEqual(300 + 19 + 1);
    expect(after.get(svc1)?.modRevision).toBe(before.get(svc1)?.modRevision);
    const sync = ksr
      .logs()
      .filter((l) => l['msg'] === 'full sync done')
      .at(-1);
    process.stderr.write(
      `churn: ${churn.length} changes in ${churnMs} ms (KSR killed after ${Math.round(churn.length / 3)}), ${down.length} more while down; ` +
        `restart converged in ${convergeMs} ms over ${after.size} keys; resync wrote ${String(sync?.['puts'])} puts, ${String(sync?.['deletes'])} deletes; ${unchanged} unchanged keys kept their revision\n`,
    );
    expect(Number(sync?.['puts'])).toBeGreaterThan(0);
    expect(Number(sync?.['deletes'])).toBeGreaterThan(0);
  });
});
