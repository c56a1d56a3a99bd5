// Store-wide node IDs against a real etcd: two clusters sharing it never hold one ID, a claim
// from before IDs were store-wide is adopted, release deletes both keys, and another cluster's
// store-wide claim of this node's ID is refused (or, without a mesh, only reported).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace, SharedKeyspace } from '../../lib/keyspace.ts';
import { silentLogger } from '../../lib/logging.ts';
import type { Store } from '../../lib/etcd/store.ts';
import { startEtcd, type EtcdHandle } from '../../test/harness/etcd.ts';
import { etcdAvailable, skipUnless } from '../../test/harness/availability.ts';
import { assertClaim, claimFreshId, ForeignNodeIdError, releaseClaim, type ClaimContext } from './claim.ts';

const skip = skipUnless('store-wide node ID claims', etcdAvailable());
const shared = new SharedKeyspace();
const sharedId = (id: number): string => shared.key({ kind: 'sharedNodeId', id: String(id) });

describe.skipIf(skip)('store-wide node ID claims (real etcd)', () => {
  let etcd: EtcdHandle;
  let store: Store;
  let n = 0;

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'claims' });
    store = etcd.store();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  const ctxOf = (cluster: string, node: string, extra: Partial<ClaimContext> = {}): ClaimContext => ({
    store,
    keyspace: new Keyspace(cluster),
    node,
    maxId: 255,
    logger: silentLogger(),
    ...extra,
  });
  const fresh = (ctx: ClaimContext): Promise<number> => claimFreshId(ctx, { settleMs: 0, checkMs: 20 });
  const clean = async (): Promise<void> => void (await store.deletePrefix('/netloom/v1/'));

  it('gives nodes of two clusters distinct IDs, each claimed in both places', async () => {
    await clean();
    const [a, b] = [`east${++n}`, `west${n}`];
    const ids = await Promise.all([
      fresh(ctxOf(a, 'node1')),
      fresh(ctxOf(b, 'node1')),
      fresh(ctxOf(a, 'node2')),
      fresh(ctxOf(b, 'node2')),
    ]);
    expect(new Set(ids).size).toBe(4);
    expect([...ids].sort()).toEqual([1, 2, 3, 4]);
    const holders = (await store.list(shared.prefix('sharedNodeId'))).kvs.map((kv) => kv.value).sort();
    expect(holders).toEqual([`${a}/node1`, `${a}/node2`, `${b}/node1`, `${b}/node2`]);
    for (const [i, [cluster, node]] of [
      [a, 'node1'],
      [b, 'node1'],
    ].entries()) {
      const local = await store.get(new Keyspace(cluster!).key({ kind: 'nodeId', id: String(ids[i]) }));
      expect(local?.value).toBe(node);
    }
  });

  it('adopts a claim from before IDs were store-wide, and re-creates a lost shared key', async () => {
    await clean();
    const ctx = ctxOf(`old${++n}`, 'node1');
    await store.put(ctx.keyspace.key({ kind: 'nodeId', id: '7' }), 'node1'); // a pre-registry claim
    expect(await assertClaim(ctx, 7, 'then')).toBe('held');
    expect((await store.get(sharedId(7)))?.value).toBe(`${ctx.keyspace.cluster}/node1`);
    await store.delete(sharedId(7));
    expect(await assertClaim(ctx, 7, 'then')).toBe('held');
    expect((await store.get(sharedId(7)))?.value).toBe(`${ctx.keyspace.cluster}/node1`);
    // A restore lost both: re-created together.
    await store.delete(sharedId(7));
    await store.delete(ctx.keyspace.key({ kind: 'nodeId', id: '7' }));
    expect(await assertClaim(ctx, 7, 'then')).toBe('recreated');
    expect((await store.get(sharedId(7)))?.value).toBe(`${ctx.keyspace.cluster}/node1`);
  });

  it('refuses an ID another cluster holds store-wide (or only warns without a mesh), and never picks it', async () => {
    await clean();
    const [a, b] = [`one${++n}`, `two${n}`];
    expect(await fresh(ctxOf(a, 'x'))).toBe(1);
    // Two clusters that shared the store before IDs were store-wide both have a node 1.
    const legacy = ctxOf(b, 'y');
    await store.put(legacy.keyspace.key({ kind: 'nodeId', id: '1' }), 'y');
    const err = await assertClaim(legacy, 1, 'then').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignNodeIdError);
    expect((err as Error).message).toMatch(new RegExp(`held store-wide by node x of cluster ${a}`));
    const warned: unknown[] = [];
    const logger = { ...silentLogger(), warn: (o: unknown) => void warned.push(o) } as ClaimContext['logger'];
    expect(await assertClaim(ctxOf(b, 'y', { foreignIds: 'warn', logger }), 1, 'then')).toBe('held');
    expect(warned).toHaveLength(1);
    expect((await store.get(sharedId(1)))?.value).toBe(`${a}/x`); // left to its holder
    // A new node of b avoids 1 (held by a) even though b's own claims do not show it.
    await store.delete(legacy.keyspace.key({ kind: 'nodeId', id: '1' }));
    expect(await fresh(ctxOf(b, 'z'))).toBe(2);
  });

  it('releases both keys, each only while it names the node', async () => {
    await clean();
    const ctx = ctxOf(`rel${++n}`, 'gone');
    const id = await fresh(ctx);
    const local = await store.get(ctx.keyspace.key({ kind: 'nodeId', id: String(id) }));
    expect(await releaseClaim(ctx, id, local!.modRevision)).toBe(true);
    expect(await store.get(local!.key)).toBeUndefined();
    expect(await store.get(sharedId(id))).toBeUndefined();
    // Someone else's shared claim of that ID is left alone.
    await store.put(sharedId(id), 'other/node');
    expect(await releaseClaim(ctx, id, local!.modRevision)).toBe(false);
    expect((await store.get(sharedId(id)))?.value).toBe('other/node');
  });
});
