// The agent process end to end with the fake data plane (a JSON file in its state dir):
// peers from etcd become tunnels and routes, a dead peer's routes stay while its Node exists,
// and a restart with unchanged state makes zero driver changes.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../lib/keyspace.ts';
import type { Store } from '../lib/etcd/store.ts';
import type { TxnRecord } from '../agent/scheduler/txn-log.ts';
import type { ItemStatus } from '../agent/scheduler/status.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import { etcdAvailable, skipUnless } from './harness/availability.ts';
import { AgentProcess, tempStateDir, until } from './agent-support.ts';

const skip = skipUnless('agent restart', etcdAvailable());

describe.skipIf(skip)('agent process with the fake data plane', () => {
  let etcd: EtcdHandle;
  let store: Store;
  let agent: AgentProcess;
  let dir: string;
  const ks = new Keyspace('restart');
  // The fake data plane's file (written 50 ms after a change, and on shutdown).
  const plane = (): Record<string, { value: unknown }> => {
    try {
      return (
        JSON.parse(readFileSync(join(dir, `fake-dataplane-${ks.cluster}.json`), 'utf8')) as {
          entries: Record<string, { value: unknown }>;
        }
      ).entries;
    } catch {
      return {};
    }
  };
  const statuses = (): Promise<ItemStatus[]> => agent.api<ItemStatus[]>('/api/v1/items/status');

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'agent-restart' });
    store = etcd.store();
    dir = tempStateDir('restart');
    // Two peers, as their agents and KSR would have written them.
    for (const [name, id] of [
      ['peer-1', 7],
      ['peer-2', 8],
    ] as const) {
      await store.put(ks.key({ kind: 'nodeId', id: String(id) }), name);
      await store.put(
        ks.key({ kind: 'nodeInfo', name }),
        JSON.stringify({
          name,
          id,
          managementIp: `192.168.5.${id}`,
          tunnelEndpoint: `192.168.5.${id}`,
          podSubnet: `10.1.${id}.0/24`,
        }),
      );
      await store.put(
        ks.key({ kind: 'node', name }),
        JSON.stringify({ name, addresses: [{ type: 'InternalIP', address: `192.168.5.${id}` }] }),
      );
    }
    // Three pods already wired on this node.
    writeFileSync(
      join(dir, `attachments-${ks.cluster}.json`),
      JSON.stringify(
        [1, 2, 3].map((i) => ({
          containerId: `c${i}`,
          ifname: 'eth0',
          namespace: 'default',
          pod: `web-${i}`,
          netns: `/var/run/netns/w${i}`,
          ip: `10.1.1.${10 + i}`,
          network: '',
        })),
      ),
    );
    agent = new AgentProcess({
      etcd: etcd.configFor('agent'),
      node: 'self',
      cluster: ks.cluster,
      stateDir: dir,
    });
    await agent.start();
    await agent.waitReady();
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await etcd?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies the node, its pods and a tunnel + route per peer', async () => {
    const all = await statuses();
    expect(all.every((s) => s.state === 'configured')).toBe(true);
    const keys = all.map((s) => s.key).sort();
    expect(keys).toEqual(
      [
        'address/0/10.1.1.1',
        'overlay/10',
        'snat/0/10.1.1.0/24',
        ...[1, 2, 3].flatMap((i) => [`pod-interface/default/web-${i}/eth0`, `route/0/10.1.1.${10 + i}/32`]),
        'route/0/10.1.7.0/24',
        'route/0/10.1.8.0/24',
        'tunnel/10/peer-1',
        'tunnel/10/peer-2',
      ].sort(),
    );
    await until(() => Object.keys(plane()).sort().join() === keys.join(), 5_000, 'data plane file matches');
    const node = await agent.api<{ id: number; podSubnet: string }>('/api/v1/node');
    expect(node).toMatchObject({ id: 1, podSubnet: '10.1.1.0/24' });
    const ipam = await agent.api<{ records: { ip: string }[] }>('/api/v1/ipam');
    expect(ipam.records.map((r) => r.ip)).toEqual(['10.1.1.11', '10.1.1.12', '10.1.1.13']);
  });

  it('follows peers: a new one adds two items; a dead one keeps its routes while its Node exists', async () => {
    // As its agent would: the ID claim first (a record no claim backs is not routed), then the info.
    await store.put(ks.key({ kind: 'nodeId', id: '9' }), 'peer-3');
    await store.put(
      ks.key({ kind: 'nodeInfo', name: 'peer-3' }),
      JSON.stringify({ name: 'peer-3', id: 9, tunnelEndpoint: '192.168.5.9', podSubnet: '10.1.9.0/24' }),
    );
    await until(
      async () => (await statuses()).some((s) => s.key === 'tunnel/10/peer-3' && s.state === 'configured'),
      10_000,
      'peer-3 tunnel',
    );
    const [last] = await agent.api<TxnRecord[]>('/api/v1/transactions?limit=1');
    expect(last?.counts).toEqual({ create: 2, update: 0, delete: 0 });
    // peer-1's agent dies: its info expires, its Node stays → routes stay.
    await store.delete(ks.key({ kind: 'nodeInfo', name: 'peer-1' }));
    // peer-3 had no Node object: its info gone → its items go.
    await store.delete(ks.key({ kind: 'nodeInfo', name: 'peer-3' }));
    await until(
      async () =>
        !(await statuses()).some((s) => s.key.includes('peer-3') || s.key === 'route/0/10.1.9.0/24'),
      10_000,
      'peer-3 removed',
    );
    expect((await statuses()).find((s) => s.key === 'tunnel/10/peer-1')?.state).toBe('configured');
    // The Node object is deleted: now peer-1 goes too.
    await store.delete(ks.key({ kind: 'node', name: 'peer-1' }));
    await until(
      async () => !(await statuses()).some((s) => s.key === 'tunnel/10/peer-1'),
      10_000,
      'peer-1 removed',
    );
    await until(() => !('route/0/10.1.7.0/24' in plane()), 5_000, 'data plane file drops peer-1');
  });

  it('a restart with unchanged state makes zero driver changes', async () => {
    await agent.stop();
    const before = plane();
    expect(Object.keys(before).length).toBe(11);
    await agent.start();
    await agent.waitReady();
    const txns = await agent.api<TxnRecord[]>('/api/v1/transactions');
    expect(txns.length).toBeGreaterThan(0);
    const resync = txns.find((t) => t.kind === 'resync');
    expect(resync?.visited).toBeGreaterThan(0);
    const changes = txns.reduce((n, t) => n + t.counts.create + t.counts.update + t.counts.delete, 0);
    expect(changes).toBe(0);
    await agent.stop(); // flushes the file
    expect(plane()).toEqual(before);
    await agent.start();
    await agent.waitReady();
    const metrics = await fetch(agent.url + '/metrics').then((r) => r.text());
    expect(metrics).not.toMatch(/netloom_agent_scheduler_operations_total\{/);
    expect(metrics).toMatch(/netloom_agent_scheduler_items\{state="configured",component="agent"\} 11/);
  }, 60_000);
});
