// 1,000 concurrent pod IP allocations on one node while a second agent process is mistakenly
// started for the same node at the same time: no duplicate IP, every allocation persisted in
// etcd, and the second agent exits with a clear error without writing any allocation.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../lib/keyspace.ts';
import { silentLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import type { Store } from '../lib/etcd/store.ts';
import type { Agent } from '../agent/agent.ts';
import { assembleAgent } from '../agent/assemble.ts';
import { agentConfigSchema } from '../agent/config.ts';
import { decodeEntry } from '../agent/ipam/allocator.ts';
import { FakeDataPlane } from '../agent/dataplane/fake/plane.ts';
import { fakeDriver } from '../agent/dataplane/fake/driver.ts';
import { loadConfig } from '../lib/config.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import { etcdAvailable, skipUnless } from './harness/availability.ts';
import { AgentProcess, tempStateDir, until } from './agent-support.ts';

const skip = skipUnless('agent IPAM race', etcdAvailable());

describe.skipIf(skip)('one node, 1,000 concurrent allocations, and a second agent for it', () => {
  let etcd: EtcdHandle;
  let store: Store;
  let agent: Agent | undefined;
  const dirs: string[] = [];

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'agent-ipam' });
    store = etcd.store();
  });
  afterAll(async () => {
    await agent?.close();
    await etcd?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('hands out 1,000 distinct persisted addresses; the second agent fails clearly and writes nothing', async () => {
    const ks = new Keyspace('race');
    const dir = tempStateDir('race-a');
    dirs.push(dir);
    const { config } = loadConfig(agentConfigSchema, {
      env: {},
      argv: [
        '--node-name',
        'worker',
        '--cluster',
        ks.cluster,
        '--state-dir',
        dir,
        '--node-prefix-length',
        '20',
        '--id-settle-ms',
        '500',
        '--identity-check-ms',
        '200',
        '--lease-ttl-seconds',
        '5',
      ],
    });
    agent = await assembleAgent(config, '192.168.1.10', {
      store,
      logger: silentLogger(),
      registry: createRegistry('test', { processMetrics: false }),
      driver: fakeDriver(new FakeDataPlane()),
    });

    // The second agent for the same node, on "another machine" (its own state dir), started
    // at the same moment as the burst of allocations.
    const otherDir = tempStateDir('race-b');
    dirs.push(otherDir);
    const second = new AgentProcess({
      etcd: etcd.configFor('agent'),
      node: 'worker',
      cluster: ks.cluster,
      stateDir: otherDir,
      args: ['--node-prefix-length', '20', '--owner-wait-ms', '4000'],
    });
    await second.start();
    // Fire the burst once the second agent is contending for the node (inside its wait for the
    // first agent's lease), so both run at the same time.
    await until(
      () => second.log().includes('another agent publishes this node'),
      20_000,
      'second agent contending',
    );
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        agent!.ipam.allocate({ namespace: 'load', pod: `p${i}`, containerId: `c${i}`, ifname: 'eth0' }),
      ),
    );
    const allocMs = performance.now() - t0;
    expect(second.running).toBe(true); // still contending when the burst ended
    const code = await second.exited();
    const contendedMs = performance.now() - t0;

    const ips = results.map((r) => r.ip);
    expect(new Set(ips).size).toBe(1000);
    expect(ips).not.toContain(agent.identity.subnet.gateway);
    const { kvs } = await store.list(ks.prefix('ipam', 'worker'));
    expect(kvs.length).toBe(1000);
    const stored = new Map(
      kvs.map((kv) => [kv.key.slice(kv.key.lastIndexOf('/') + 1), decodeEntry(kv.value).containerId]),
    );
    results.forEach((r, i) => expect(stored.get(r.ip)).toBe(`c${i}`));

    expect(code).toBe(1);
    expect(second.log()).toMatch(
      /node worker is already served by another agent: nodes\/info\/worker is held by lease \S+, not this agent's/,
    );
    expect(agent.readiness()).toBeNull();
    expect((await store.get(ks.key({ kind: 'nodeInfo', name: 'worker' })))?.value).toContain(
      `"id":${agent.identity.id}`,
    );
    console.log(
      `1000 concurrent allocations: ${allocMs.toFixed(0)} ms, while the second agent contended; it gave up ${contendedMs.toFixed(0)} ms after the burst began`,
    );
  }, 120_000);
});
