// The agent's /livez means something (the probe deploy/ gives the kubelet): an agent whose data
// plane stops answering mid-transaction wedges the scheduler and, behind it, the cluster-view
// sync; /livez turns 503 naming both once they are older than --liveness-stuck-seconds, and 200
// again once the data plane answers. Real etcd, the real agent assembled in-process (its data
// plane the fake one, with a gate in front of every call), the real health server over HTTP.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../lib/keyspace.ts';
import { silentLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import { loadConfig } from '../lib/config.ts';
import { startHealthServer, type HealthServer } from '../lib/health-server.ts';
import type { Store } from '../lib/etcd/store.ts';
import type { Agent } from '../agent/agent.ts';
import { assembleAgent } from '../agent/assemble.ts';
import { agentConfigSchema } from '../agent/config.ts';
import { FakeDataPlane } from '../agent/dataplane/fake/plane.ts';
import { fakeDriver } from '../agent/dataplane/fake/driver.ts';
import type { Descriptor, Driver } from '../agent/scheduler/descriptor.ts';
import { convertService } from '../ksr/convert/service.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import { etcdAvailable, skipUnless } from './harness/availability.ts';
import { tempStateDir, until } from './agent-support.ts';

/** Holds every data plane call while closed, as a VPP or kernel that stopped answering would. */
class Gate {
  private held: Promise<void> | undefined;
  private release: (() => void) | undefined;
  calls = 0;

  close(): void {
    this.held = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
    this.held = undefined;
  }

  async pass(): Promise<void> {
    if (this.held) {
      this.calls++;
      await this.held;
    }
  }
}

function gated(driver: Driver, gate: Gate): Driver {
  const wrap = (d: Descriptor<unknown, unknown>): Descriptor<unknown, unknown> => ({
    ...d,
    create: async (...a) => (await gate.pass(), d.create(...a)),
    delete: async (...a) => (await gate.pass(), d.delete(...a)),
    ...(d.update ? { update: async (...a) => (await gate.pass(), d.update!(...a)) } : {}),
    ...(d.retrieve ? { retrieve: async (...a) => (await gate.pass(), d.retrieve!(...a)) } : {}),
  });
  return { ...driver, name: driver.name, descriptors: driver.descriptors.map(wrap) };
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

const skip = skipUnless('agent liveness', etcdAvailable());

describe.skipIf(skip)('agent /livez', () => {
  let etcd: EtcdHandle;
  let store: Store;
  let agent: Agent | undefined;
  let health: HealthServer | undefined;
  const gate = new Gate();
  const dirs: string[] = [];
  const ks = new Keyspace('liveness');

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'agent-liveness' });
    store = etcd.store();
  });
  afterAll(async () => {
    gate.open();
    await health?.close();
    await agent?.close();
    await etcd?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('fails while a data plane call hangs (scheduler and view sync named), recovers once it answers', async () => {
    const dir = tempStateDir('liveness');
    dirs.push(dir);
    const { config } = loadConfig(agentConfigSchema, {
      env: {},
      argv: [
        ...['--node-name', 'worker', '--cluster', ks.cluster, '--state-dir', dir],
        ...['--id-settle-ms', '300', '--identity-check-ms', '200', '--lease-ttl-seconds', '5'],
        ...['--liveness-stuck-seconds', '2', '--resync-interval-seconds', '0'],
      ],
    });
    expect(config.livenessStuckSeconds).toBe(2);
    agent = await assembleAgent(config, '192.168.1.10', {
      store,
      logger: silentLogger(),
      registry: createRegistry('test', { processMetrics: false }),
      driver: gated(fakeDriver(new FakeDataPlane()), gate),
    });
    const a = agent;
    const h = await startHealthServer({
      address: '127.0.0.1:0',
      registry: createRegistry('test-http', { processMetrics: false }),
      logger: silentLogger(),
      readiness: { agent: () => a.readiness() },
      liveness: { agent: () => a.liveness() },
    });
    health = h;
    await until(() => a.readiness() === null, 20_000, 'agent ready');
    expect(await get(`${h.url}/livez`)).toEqual({ status: 200, body: 'ok\n' });

    // The data plane stops answering; a Service appears (the view sync hands it to the
    // pipeline, whose transaction calls the data plane).
    gate.close();
    const service = convertService({
      metadata: { namespace: 'default', name: 'web', uid: 'u1' },
      spec: {
        type: 'ClusterIP',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      },
    });
    await store.put(ks.key({ kind: 'service', namespace: 'default', name: 'web' }), JSON.stringify(service));
    await until(() => gate.calls > 0, 10_000, 'a data plane call held');
    const txn = a.scheduler.running();
    expect(txn?.kind).toBe('change');
    // Within the limit it is alive: a slow transaction is not a dead one.
    expect((await get(`${h.url}/livez`)).status).toBe(200);

    await until(async () => (await get(`${h.url}/livez`)).status === 503, 10_000, '/livez 503');
    const dead = await get(`${h.url}/livez`);
    expect(dead.body).toMatch(
      /^agent: cluster view sync: stuck on changes at revision \d+ for [\d.]+ s \(limit 2\.0 s\); scheduler: stuck on transaction #\d+ \(change: services default\/web\) for [\d.]+ s \(limit 2\.0 s\)\n$/,
    );

    gate.open();
    await until(async () => (await get(`${h.url}/livez`)).status === 200, 10_000, '/livez 200');
    expect(a.scheduler.running()).toBeUndefined();
    expect(a.liveness()).toBeNull();
  });
});
