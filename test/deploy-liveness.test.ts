// The agent's /livez means something (the probe deploy/ gives the kubelet): an agent whose data
// plane stops answering mid-transaction wedges the scheduler and, behind it, the cluster-view
// sync; /livez turns 503 naming both once they are older than --liveness-stuck-seconds, and 200
// again once the data plane answers. Real etcd, the real agent assembled in-process (its data
// plane the fake one, with a gate in front of every call), the real health server over HTTP.
// KSR's /livez: a real `netloom ksr` leading against a real API server, its etcd reached through
// a TCP proxy that stops forwarding (etcd accepts and never answers: each call ends at its 10 s
// deadline), fails once its sync loop has not turned within --liveness-stuck-seconds, and
// recovers when the proxy forwards again.
import { rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
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
import { etcdAvailable, kubeApiserverAvailable, skipUnless } from './harness/availability.ts';
import { startKsrWorld, type KsrProcess, type KsrWorld } from './ksr-support.ts';
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

/** A TCP proxy to one target that can stop forwarding while keeping its connections open. */
class PausableProxy {
  private readonly sockets = new Set<Socket>();
  private paused = false;
  private server: Server | undefined;
  port = 0;

  async start(targetPort: number): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(from);
        from.on('data', (chunk: Buffer) => void (this.paused || to.write(chunk)));
        from.on('error', () => to.destroy());
        from.on('close', () => {
          this.sockets.delete(from);
          to.destroy();
        });
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Drops what either side sends until resume(): the peer sees silence, not a closed socket. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    // What was dropped left both TLS streams unusable: end them so the client reconnects.
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const skipKsr = skipUnless('ksr liveness', kubeApiserverAvailable());

describe.skipIf(skipKsr)('ksr /livez', () => {
  let world: KsrWorld;
  const proxy = new PausableProxy();

  beforeAll(async () => {
    world = await startKsrWorld({ cluster: 'ksr-liveness', namespace: 'liveness' });
    await proxy.start(Number(new URL(world.etcd.endpoint).port));
  });
  afterAll(async () => {
    await proxy.close();
    await world?.destroy();
  });

  it("fails while the leader's sync loop cannot turn, recovers once etcd answers again", async () => {
    const ksr: KsrProcess = await world.startKsr('liveness-a', [
      ...['--etcd-endpoints', `https://127.0.0.1:${proxy.port}`],
      ...['--liveness-stuck-seconds', '2'],
    ]);
    await until(async () => (await ksr.readyz()) === 200, 30_000, 'ksr leading and synced');
    expect((await ksr.status()).leader).toBe(true);
    // Healthy, its loop turns at least every heartbeat (300 ms here): never 503 with a 2 s limit.
    for (let i = 0; i < 10; i++) {
      expect(await get(`${ksr.url}/livez`)).toEqual({ status: 200, body: 'ok\n' });
      await new Promise((r) => setTimeout(r, 300));
    }

    proxy.pause();
    const started = Date.now();
    await until(async () => (await get(`${ksr.url}/livez`)).status === 503, 15_000, '/livez 503');
    const failedAfterMs = Date.now() - started;
    const dead = await get(`${ksr.url}/livez`);
    expect(dead.body).toMatch(/^ksr: syncer: no turn of its loop for [\d.]+ s \(limit 2\.0 s\)\n$/);
    expect(failedAfterMs).toBeGreaterThanOrEqual(1_500);
    process.stdout.write(`ksr /livez 503 ${failedAfterMs} ms after etcd stopped answering\n`);

    proxy.resume();
    await until(async () => (await get(`${ksr.url}/livez`)).status === 200, 30_000, '/livez 200 again');
  });
});
