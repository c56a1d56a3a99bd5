// Departed nodes give their ID back, only after their Node is deleted and only if still gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../../lib/keyspace.ts';
import { silentLogger } from '../../lib/logging.ts';
import type { Store } from '../../lib/etcd/store.ts';
import { startEtcd, type EtcdHandle } from '../../test/harness/etcd.ts';
import { etcdAvailable, skipUnless } from '../../test/harness/availability.ts';
import { ClusterView } from '../view/view.ts';
import { DepartedNodes } from './release.ts';

const skip = skipUnless('departed nodes', etcdAvailable());

describe.skipIf(skip)('DepartedNodes (real etcd)', () => {
  let etcd: EtcdHandle;
  let store: Store;
  const ks = new Keyspace('departed');

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'departed' });
    store = etcd.store();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('releases the ID, IPAM and attachment records of a deleted node after the delay, not of one that came back', async () => {
    const view = new ClusterView();
    const put = async (key: string, value: string): Promise<void> => {
      await store.put(key, value);
      view.apply(ks.parse(key), value);
    };
    await put(ks.key({ kind: 'nodeId', id: '4' }), 'gone');
    await put(ks.key({ kind: 'nodeId', id: '5' }), 'back');
    await put(ks.key({ kind: 'ipam', node: 'gone', ip: '10.1.4.2' }), '{}');
    await put(ks.key({ kind: 'attachment', node: 'gone', namespace: 'ns', pod: 'p', ifname: 'net1' }), '{}');
    await put(ks.key({ kind: 'attachment', node: 'back', namespace: 'ns', pod: 'q', ifname: 'eth0' }), '{}');
    for (const n of ['gone', 'back'])
      await put(ks.key({ kind: 'node', name: n }), JSON.stringify({ name: n }));
    const d = new DepartedNodes({ store, keyspace: ks, view, delayMs: 200, logger: silentLogger() });
    const deletes = ['gone', 'back'].map((n) =>
      view.apply(ks.parse(ks.key({ kind: 'node', name: n })), undefined)!,
    );
    d.observe(deletes);
    await put(ks.key({ kind: 'node', name: 'back' }), JSON.stringify({ name: 'back' })); // re-added within the grace period
    await new Promise((r) => setTimeout(r, 600));
    expect(await store.get(ks.key({ kind: 'nodeId', id: '4' }))).toBeUndefined();
    expect((await store.list(ks.prefix('ipam', 'gone'))).kvs).toEqual([]);
    expect((await store.list(ks.prefix('attachment', 'gone'))).kvs).toEqual([]);
    expect((await store.list(ks.prefix('attachment', 'back'))).kvs).toHaveLength(1);
    expect((await store.get(ks.key({ kind: 'nodeId', id: '5' })))?.value).toBe('back');
    d.close();
  });
});
