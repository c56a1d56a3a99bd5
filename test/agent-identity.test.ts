// Node identity across processes and an etcd restore, against a real etcd:
// - three agent processes claim distinct IDs and keep them across restarts;
// - etcd restored from a backup taken before node B joined, while B runs: B re-claims its ID,
//   its subnet and its IPAM records, and node C, joining exactly then (B's process is stopped
//   with SIGSTOP until C has claimed B's lost ID), never ends up with B's ID or subnet.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../lib/keyspace.ts';
import type { Store } from '../lib/etcd/store.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import { etcdAvailable, skipUnless } from './harness/availability.ts';
import { AgentProcess, tempStateDir, until, type NodeView } from './agent-support.ts';

const skip = skipUnless('agent identity', etcdAvailable());

describe.skipIf(skip)('agent node identity (processes, real etcd)', () => {
  let etcd: EtcdHandle;
  let store: Store;
  const agents: AgentProcess[] = [];
  const dirs: string[] = [];

  const agent = (cluster: string, node: string, stateDir?: string, args: string[] = []): AgentProcess => {
    const dir = stateDir ?? tempStateDir(node);
    if (!stateDir) dirs.push(dir);
    const a = new AgentProcess({ etcd: etcd.configFor('agent'), node, cluster, stateDir: dir, args });
    agents.push(a);
    return a;
  };
  const nodeOf = (a: AgentProcess): Promise<NodeView> => a.api<NodeView>('/api/v1/node');

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'agent-id' });
    store = etcd.store();
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await etcd?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('several agents claim distinct IDs and keep them across restarts', async () => {
    const ks = new Keyspace('ids');
    const [a, b, c] = ['node-a', 'node-b', 'node-c'].map((n) => agent(ks.cluster, n));
    await Promise.all([a!, b!, c!].map((x) => x.start()));
    await Promise.all([a!, b!, c!].map((x) => x.waitReady()));
    const before = await Promise.all([a!, b!, c!].map(nodeOf));
    expect(new Set(before.map((n) => n.id)).size).toBe(3);
    expect(new Set(before.map((n) => n.podSubnet)).size).toBe(3);
    for (const n of before) expect(n.podSubnet).toBe(`10.1.${n.id}.0/24`);
    for (const n of before)
      expect((await store.get(ks.key({ kind: 'nodeId', id: String(n.id) })))?.value).toBe(n.name);

    // Restart all three, in the reverse order: the IDs must not move.
    for (const x of [c!, b!, a!]) {
      await x.stop();
      await x.start();
    }
    await Promise.all([a!, b!, c!].map((x) => x.waitReady()));
    const after = await Promise.all([a!, b!, c!].map(nodeOf));
    expect(after.map((n) => n.id)).toEqual(before.map((n) => n.id));
    // kill -9 and start again at once: the agent recognises its own live lease and takes over.
    b!.signal('SIGKILL');
    await b!.exited();
    const t0 = Date.now();
    await b!.start();
    await b!.waitReady();
    expect((await nodeOf(b!)).id).toBe(before[1]!.id);
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 120_000);

  it('after a restore from a backup older than B, B keeps its ID and subnet and C never gets them', async () => {
    const ks = new Keyspace('restore');
    const a = agent(ks.cluster, 'node-a');
    await a.start();
    await a.waitReady();

    await etcd.stop();
    const backup = etcd.backup(); // the cluster as it was before B joined
    dirs.push(backup);
    await etcd.start();

    // B joins, with one pod already wired (its attachment record in the state dir).
    const bDir = tempStateDir('node-b');
    dirs.push(bDir);
    const b = agent(ks.cluster, 'node-b', bDir);
    await b.start();
    await b.waitReady();
    const bNode = await nodeOf(b);
    // The suites' clusters share this etcd, and node IDs are store-wide: B takes A's next one.
    expect(bNode.id).toBe((await nodeOf(a)).id + 1);
    const bId = String(bNode.id);
    await b.stop();
    const podIp = `10.1.${bNode.id}.9`;
    writeFileSync(
      join(bDir, `attachments-${ks.cluster}.json`),
      JSON.stringify([
        {
          containerId: 'c1',
          ifname: 'eth0',
          namespace: 'default',
          pod: 'web',
          netns: '/var/run/netns/web',
          ip: podIp,
          network: '',
        },
      ]),
    );
    await b.start();
    await b.waitReady();
    const ipamKey = ks.key({ kind: 'ipam', node: 'node-b', ip: podIp });
    expect(await store.get(ipamKey)).toBeDefined(); // adopted from the attachment and written

    // Freeze B, restore etcd to the backup (no trace of B), and let C join.
    b.signal('SIGSTOP');
    await etcd.stop();
    etcd.restore(backup);
    await etcd.start();
    expect(await store.get(ks.key({ kind: 'nodeId', id: bId }))).toBeUndefined();
    expect(await store.get(ipamKey)).toBeUndefined();
    const c = agent(ks.cluster, 'node-c', undefined, ['--id-settle-ms', '6000']);
    await c.start();
    // C claims the lowest free ID, which is B's lost one — tentatively.
    await until(
      async () => (await store.get(ks.key({ kind: 'nodeId', id: bId })))?.value === 'node-c',
      20_000,
      'C claims ID 2',
    );
    b.signal('SIGCONT');
    await c.waitReady(40_000);
    const cNode = await nodeOf(c);
    expect(cNode.id).not.toBe(bNode.id);
    expect(cNode.podSubnet).not.toBe(bNode.podSubnet);
    // B took its ID back, republished its info and rewrote its pod's IPAM record.
    await until(
      async () => (await store.get(ks.key({ kind: 'nodeId', id: bId })))?.value === 'node-b',
      20_000,
      'B re-claims ID 2',
    );
    await until(
      async () => (await store.get(ks.key({ kind: 'nodeInfo', name: 'node-b' }))) !== undefined,
      20_000,
      'B republishes',
    );
    await until(async () => (await store.get(ipamKey)) !== undefined, 20_000, 'B rewrites its IPAM record');
    const info = JSON.parse(
      (await store.get(ks.key({ kind: 'nodeInfo', name: 'node-b' })))!.value,
    ) as NodeView;
    expect(info).toMatchObject({ id: bNode.id, podSubnet: bNode.podSubnet });
    await b.waitReady();
    expect((await nodeOf(b)).id).toBe(bNode.id);
    expect(b.log()).toMatch(/taking back this node ID from a tentative claim|re-asserted/);
    expect(c.log()).toMatch(/node ID was taken back by its previous holder; claiming another/);
  }, 180_000);
});
