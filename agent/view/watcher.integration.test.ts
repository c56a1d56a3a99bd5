// The cluster view's watcher against a real etcd: changes arrive in revision order, a
// compacted resume revision and an etcd restored from an older backup both lead to a relist
// that leaves the view exactly equal to the store.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../../lib/keyspace.ts';
import { silentLogger } from '../../lib/logging.ts';
import type { Store } from '../../lib/etcd/store.ts';
import { startEtcd, type EtcdHandle } from '../../test/harness/etcd.ts';
import { etcdAvailable, skipUnless } from '../../test/harness/availability.ts';
import { ClusterView } from './view.ts';
import { runViewSync, type ViewUpdate } from './watcher.ts';

const skip = skipUnless('cluster view watcher', etcdAvailable());

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(skip)('runViewSync (real etcd)', () => {
  let etcd: EtcdHandle;
  let store: Store;
  const ks = new Keyspace('view');
  const pod = (name: string, node: string) => JSON.stringify({ namespace: 'default', name, nodeName: node });

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'view' });
    store = etcd.store();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('follows changes, relists after compaction and after a restore', async () => {
    await store.put(ks.key({ kind: 'pod', namespace: 'default', name: 'p0' }), pod('p0', 'n1'));
    const view = new ClusterView();
    const updates: ViewUpdate[] = [];
    const stop = new AbortController();
    const task = runViewSync({
      store,
      keyspace: ks,
      view,
      logger: silentLogger(),
      signal: stop.signal,
      backoffMs: { min: 50, max: 200 },
      onUpdate: async (u) => void updates.push(u),
    });
    await until(() => updates.some((u) => u.type === 'resync'));
    expect([...view.podsOnNode('n1')]).toEqual(['default/p0']);

    // Changes, in order, one transaction per revision.
    await store.write([
      { type: 'put', key: ks.key({ kind: 'pod', namespace: 'default', name: 'p1' }), value: pod('p1', 'n1') },
      {
        type: 'put',
        key: ks.key({ kind: 'nodeInfo', name: 'n1' }),
        value: JSON.stringify({ name: 'n1', id: 1 }),
      },
    ]);
    await store.delete(ks.key({ kind: 'pod', namespace: 'default', name: 'p0' }));
    await until(() => view.pods.size === 1 && view.nodeInfos.size === 1);
    const changes = updates.filter((u) => u.type === 'changes');
    expect(
      changes.map((u) => u.changes.map((c) => `${c.kind} ${c.name} ${c.new ? 'put' : 'delete'}`)),
    ).toEqual([['pod default/p1 put', 'nodeInfo n1 put'], ['pod default/p0 delete']]);

    // Backup now (p1 and n1 present), then more changes.
    await etcd.stop();
    const backup = etcd.backup();
    await etcd.start();
    await store.put(ks.key({ kind: 'pod', namespace: 'default', name: 'p2' }), pod('p2', 'n2'));
    await until(() => view.pods.size === 2);
    // Restore: the store goes back in time; the view must follow. Only a relist after the
    // restore counts: the restart for the backup may already have ended a watch and relisted.
    const before = updates.length;
    await etcd.stop();
    etcd.restore(backup);
    await etcd.start();
    await until(
      () => updates.slice(before).some((u) => u.type === 'resync' && u.reason === 'rewound'),
      30_000,
    );
    expect([...view.pods.items.keys()]).toEqual(['default/p1']);
    rmSync(backup, { recursive: true, force: true });

    stop.abort();
    await task;
  }, 90_000);

  it('relists when its resume revision was compacted away', async () => {
    const ks2 = new Keyspace('view2');
    const view = new ClusterView();
    const updates: ViewUpdate[] = [];
    // A consumer that is slow on the first batch: meanwhile the store moves on and is compacted.
    let gate: (() => void) | undefined;
    const stop = new AbortController();
    const task = runViewSync({
      store,
      keyspace: ks2,
      view,
      logger: silentLogger(),
      signal: stop.signal,
      backoffMs: { min: 50, max: 200 },
      onUpdate: async (u) => {
        updates.push(u);
        if (u.type === 'resync' && u.reason === 'start') await new Promise<void>((r) => (gate = r));
      },
    });
    await until(() => gate !== undefined);
    for (let i = 0; i < 5; i++)
      await store.put(ks2.key({ kind: 'pod', namespace: 'x', name: `p${i}` }), pod(`p${i}`, 'n'));
    await store.delete(ks2.key({ kind: 'pod', namespace: 'x', name: 'p0' }));
    await store.client.kv.compact({ revision: String(await store.revision()) });
    gate!();
    await until(() => updates.some((u) => u.type === 'resync' && u.reason === 'compacted'));
    expect([...view.pods.items.keys()].sort()).toEqual(['x/p1', 'x/p2', 'x/p3', 'x/p4']);
    stop.abort();
    await task;
  }, 60_000);
  it("watches only the agent's view: other nodes' IPAM writes never reach it", async () => {
    const from = (await store.revision()) + 1;
    const stop = new AbortController();
    const seen: string[] = [];
    const watch = (async () => {
      for await (const ev of store.watch(ks.agentView, { startRevision: from, signal: stop.signal })) {
        if (ev.type !== 'events') continue;
        seen.push(...ev.changes.map((c) => c.key.slice(ks.root.length)));
        if (seen.includes('nodes/info/w9')) break;
      }
    })();
    await store.put(ks.key({ kind: 'ipam', node: 'w9', ip: '10.1.9.5' }), '{"containerId":"c"}');
    await store.put(ks.root + 'attachments/w9/default/p/eth0', '{}');
    await store.put(ks.key({ kind: 'pod', namespace: 'default', name: 'w9-pod' }), pod('w9-pod', 'w9'));
    await store.put(ks.key({ kind: 'nodeInfo', name: 'w9' }), '{"id":9}');
    await watch;
    stop.abort();
    expect(seen).toEqual(['k8s/pod/default/w9-pod', 'nodes/info/w9']);
    const { kvs } = await store.list(ks.agentView);
    expect(kvs.some((kv) => kv.key.includes('/ipam/') || kv.key.includes('/attachments/'))).toBe(false);
  });
});
