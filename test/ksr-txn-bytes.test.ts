// Transactions split by bytes, through a real kube-apiserver and a real etcd at its default
// --max-request-bytes (1.5 MiB), with `netloom ksr` as a child process. Services of 5,000
// endpoints (EndpointSlices of 1,000, as Kubernetes caps them) fold into values of hundreds of
// KB: three of them together are over etcd's limit, so batching by op count alone (128 per
// transaction) made the first full sync fail forever. One service of 15,000 endpoints folds
// into a value no request can carry: it is set aside, counted and logged once, and everything
// else is mirrored exactly; the leader becomes ready. Once it shrinks, it is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscoveryV1Api, type V1Endpoint } from '@kubernetes/client-node';
import { Keyspace } from '../lib/keyspace.ts';
import { DEFAULT_MAX_TXN_BYTES, ETCD_MAX_REQUEST_BYTES } from '../ksr/batches.ts';
import { kubeApiserverAvailable, skipUnless } from './harness/availability.ts';
import {
  diff,
  etcdMirror,
  eventually,
  expectedMirror,
  randomSuffix,
  startKsrWorld,
  waitConverged,
  type KsrProcess,
  type KsrWorld,
} from './ksr-support.ts';

const skip = skipUnless('KSR transactions by bytes (kube-apiserver + etcd)', kubeApiserverAvailable());

/** Kubernetes' cap on endpoints per EndpointSlice. */
const PER_SLICE = 1_000;

describe.skipIf(skip)('netloom ksr keeps every transaction within etcd request limit', () => {
  let world: KsrWorld;
  let ksr: KsrProcess;
  let discovery: DiscoveryV1Api;
  const cluster = `nl${randomSuffix()}`;
  const ks = new Keyspace(cluster);
  const ns = `nl-${randomSuffix()}`;
  const bigServices = ['web', 'api', 'cart'];
  const hugeKey = ks.key({ kind: 'endpoints', namespace: ns, name: 'huge' });
  let firstIp = 0;

  /** An endpoint as the EndpointSlice controller writes it: address, conditions, node, pod, zone. */
  const endpoint = (service: string, i: number): V1Endpoint => {
    const n = firstIp++;
    return {
      addresses: [`10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${i % 50}`,
      targetRef: {
        kind: 'Pod',
        namespace: ns,
        name: `${service}-7f9c8d6b5-${i.toString(36).padStart(5, '0')}`,
      },
      zone: `zone-${'abc'[i % 3]}`,
    };
  };

  /** A Service (no selector: its slices are made here, as a controller would) and its slices. */
  const createService = async (name: string, endpoints: number): Promise<void> => {
    await world.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
    });
    for (let s = 0; s * PER_SLICE < endpoints; s++) {
      const count = Math.min(PER_SLICE, endpoints - s * PER_SLICE);
      await discovery.createNamespacedEndpointSlice({
        namespace: ns,
        body: {
          metadata: { name: `${name}-${s}`, labels: { 'kubernetes.io/service-name': name } },
          addressType: 'IPv4',
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
          endpoints: Array.from({ length: count }, (_, i) => endpoint(name, s * PER_SLICE + i)),
        },
      });
    }
  };

  beforeAll(async () => {
    world = await startKsrWorld({ cluster, namespace: ns });
    discovery = world.kube.kubeConfig().makeApiClient(DiscoveryV1Api);
    for (const name of bigServices) await createService(name, 5_000);
    await createService('huge', 15_000);
    await createService('small', 3);
  }, 300_000);
  afterAll(async () => {
    await world?.destroy();
  });

  it('sizes: a 5,000-endpoint value fits a transaction alone, three do not fit one together, the huge one fits none', async () => {
    const want = await expectedMirror(world.kube.kubeConfig(), ks);
    const sizes = bigServices.map((name) =>
      Buffer.byteLength(want.get(ks.key({ kind: 'endpoints', namespace: ns, name }))!),
    );
    const huge = Buffer.byteLength(want.get(hugeKey)!);
    console.log(
      `endpoints values: 5,000 endpoints ${sizes.join(', ')} bytes; 15,000 endpoints ${huge} bytes`,
    );
    for (const size of sizes) expect(size).toBeLessThan(DEFAULT_MAX_TXN_BYTES);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThan(ETCD_MAX_REQUEST_BYTES);
    expect(huge).toBeGreaterThan(ETCD_MAX_REQUEST_BYTES);
  });

  it('becomes ready with everything but the huge value mirrored exactly; that one counted and logged once', async () => {
    ksr = await world.startKsr('bytes');
    await eventually(async () => (await ksr.readyz()) === 200, 60_000, 'readyz 200');
    const want = await expectedMirror(world.kube.kubeConfig(), ks);
    want.delete(hugeKey);
    const have = await etcdMirror(world.store, ks);
    expect(diff(want, have)).toEqual([]);
    expect(have.has(hugeKey)).toBe(false);
    expect(await ksr.metric('netloom_ksr_too_large_total', { kind: 'endpoints' })).toBe(1);
    expect(await ksr.metric('netloom_ksr_too_large_objects', { kind: 'endpoints' })).toBe(1);
    // Heartbeats (every 300 ms here) and later flushes do not report it again.
    await new Promise((r) => setTimeout(r, 1_500));
    const reported = ksr.logs().filter((l) => String(l['msg']).startsWith('object too large'));
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ kind: 'endpoints', namespace: ns, name: 'huge', key: hugeKey });
    expect(ksr.logs().filter((l) => l['msg'] === 'etcd sync failed; full resync after backoff')).toEqual([]);
    expect(await ksr.metric('netloom_ksr_too_large_total', { kind: 'endpoints' })).toBe(1);
  });

  it('once the huge service shrinks to a size that fits, it is written and no longer counted as set aside', async () => {
    for (let s = 5; s < 15; s++)
      await discovery.deleteNamespacedEndpointSlice({ name: `huge-${s}`, namespace: ns });
    await waitConverged(world.kube.kubeConfig(), world.store, ks, 60_000);
    expect(await ksr.metric('netloom_ksr_too_large_objects', { kind: 'endpoints' })).toBe(0);
    expect(await ksr.metric('netloom_ksr_too_large_total', { kind: 'endpoints' })).toBe(1);
  });
});
