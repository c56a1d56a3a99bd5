// A peer's nodes/info rewritten straight in the real etcd must not move a route on a real
// agent's node. Two in-process agents (the production assembly, the linux data plane in node
// namespaces on an underlay bridge) learn each other; then node-2's record is forged under its
// own lease (so node-2's agent does not put it right) with a default route, node-1's underlay
// subnet, node-1's own ID and subnet, and wrong JSON types, and a record for a node no ID claim
// backs is added. Through all of it node-1's routes stay exactly as they were, its scheduler
// commits nothing for the peers, and the agent reports each distrusted record in its metrics.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../lib/keyspace.ts';
import type { Store } from '../lib/etcd/store.ts';
import { sleep } from '../lib/timing.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import { etcdAvailable, netnsAvailable, skipUnless } from './harness/availability.ts';
import { CLUSTER, LabAgent, type LabNode } from './lab/agent.ts';
import { Lab } from './lab/netns.ts';
import { until } from './agent-support.ts';

const skip = skipUnless(
  'forged peer records against real agents',
  netnsAvailable().ok ? etcdAvailable() : netnsAvailable(),
);

describe.skipIf(skip)('peer nodes/info tampering against real agents', () => {
  const lab = new Lab();
  const tmp = mkdtempSync(join(tmpdir(), 'netloom-tamper-'));
  const ks = new Keyspace(CLUSTER);
  let etcd: EtcdHandle;
  let store: Store;
  const nodes: LabNode[] = [];
  const agents: LabAgent[] = [];

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'peer-tampering' });
    store = etcd.store();
    const netns = [await lab.netns('n1'), await lab.netns('n2')];
    const underlay = await lab.underlay(netns);
    for (const [i, u] of underlay.entries()) {
      nodes.push({
        name: `node-${i + 1}`,
        id: i + 1,
        underlayIp: u.ip,
        netns: u.netns,
        socketPath: join(tmp, `cni-${i + 1}.sock`),
        stateDir: join(tmp, `state-${i + 1}`),
      });
      // One after the other: node-1 claims ID 1, node-2 ID 2.
      agents.push(await LabAgent.start({ node: nodes[i]!, store }));
    }
  });

  afterAll(async () => {
    for (const a of agents) await a.kill().catch(() => undefined);
    await lab.destroy();
    await etcd?.destroy();
    rmSync(tmp, { recursive: true, force: true });
    expect(lab.leftovers()).toEqual([]);
  });

  /**
   * node-1's routes, every table, as the kernel lists them — less IPv6 link-local and
   * multicast ones, which the kernel adds by itself whenever an interface finishes DAD.
   */
  const routes = async (): Promise<string[]> =>
    [
      ...(await lab.ip(nodes[0]!.netns, ['route', 'show', 'table', 'all'])).split('\n'),
      ...(await lab.ip(nodes[0]!.netns, ['-6', 'route', 'show', 'table', 'all'])).split('\n'),
    ].filter((l) => l !== '' && !/\b(fe80|ff00)::/.test(l));
  const distrusted = async (): Promise<number> => {
    const m = await agents[0]!.registry.getSingleMetric('netloom_agent_peer_records_distrusted')?.get();
    return m?.values[0]?.value ?? NaN;
  };
  const peerTxns = (): string[] =>
    agents[0]!.scheduler
      .transactions()
      .map((t) => t.description)
      .filter((d) => d.includes('peers'));
  const infoKey = (name: string): string => ks.key({ kind: 'nodeInfo', name });

  it('routes only what node IDs imply, whatever a peer record says', async () => {
    await until(
      async () => (await routes()).some((r) => r.startsWith('10.1.2.0/24 ')),
      10_000,
      "node-1's route to node-2's pod subnet",
    );
    const baseRoutes = await routes();
    const baseTxns = peerTxns();
    const published = (await store.get(infoKey('node-2')))!;
    const real = JSON.parse(published.value) as Record<string, unknown>;
    expect(real).toMatchObject({ id: 2, podSubnet: '10.1.2.0/24' });
    expect(await distrusted()).toBe(0);

    const forge = async (what: string, record: Record<string, unknown>, want: number): Promise<void> => {
      await store.put(infoKey(String(record['name'])), JSON.stringify(record), published.lease);
      await until(async () => (await distrusted()) === want, 10_000, `${what} reported`);
      await sleep(300); // let the pipeline's commit for the same view event run (it must commit nothing)
      expect(await routes(), what).toEqual(baseRoutes);
      expect(peerTxns(), what).toEqual(baseTxns);
    };
    await forge('a default route', { ...real, podSubnet: '0.0.0.0/0' }, 1);
    await forge("node-1's underlay subnet", { ...real, podSubnet: '192.168.77.0/24' }, 1);
    await forge("node-1's own ID and subnet", { ...real, id: 1, podSubnet: '10.1.1.0/24' }, 1);
    await forge('the whole pod CIDR', { ...real, podSubnet: '10.1.0.0/16' }, 1);
    // Wrong JSON types never reach the view: the last forged record stays the one judged.
    await store.put(infoKey('node-2'), JSON.stringify({ ...real, id: '1' }), published.lease);
    await sleep(300);
    expect(await routes()).toEqual(baseRoutes);
    // A node nobody claimed an ID for: not routed at all.
    await forge(
      'an unclaimed node',
      { name: 'evil', id: 3, tunnelEndpoint: '192.168.77.99', podSubnet: '10.1.3.0/24' },
      2,
    );
    await store.delete(infoKey('evil'));
    await store.put(infoKey('node-2'), published.value, published.lease);
    await until(async () => (await distrusted()) === 0, 10_000, 'records agree again');
    await sleep(300);
    expect(await routes()).toEqual(baseRoutes);
    expect(peerTxns()).toEqual(baseTxns);
  });
});
