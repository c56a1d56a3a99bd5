// The pod IP allocator against a real etcd: every address persisted before it is returned,
// no duplicates under concurrency (one allocator, and two allocators for the same node),
// idempotent repeated ADDs, release, leak collection, a clear error when the subnet is full,
// and records written back after etcd lost them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../../lib/keyspace.ts';
import { silentLogger } from '../../lib/logging.ts';
import type { Store } from '../../lib/etcd/store.ts';
import { startEtcd, type EtcdHandle } from '../../test/harness/etcd.ts';
import { etcdAvailable, skipUnless } from '../../test/harness/availability.ts';
import { PodIpam, decodeEntry } from './allocator.ts';
import { SubnetFullError } from './errors.ts';
import { AddressPlan } from './plan.ts';

const skip = skipUnless('ipam allocator', etcdAvailable());

describe.skipIf(skip)('PodIpam (real etcd)', () => {
  let etcd: EtcdHandle;
  let store: Store;
  let cluster = 0;
  const fresh = (nodePrefixLength = 22, node = 'n1'): { ipam: PodIpam; ks: Keyspace } => {
    const ks = new Keyspace(`ipam${++cluster}`);
    const plan = new AddressPlan({ podCidr: '10.1.0.0/16', nodePrefixLength, gatewayOffset: 1 });
    return {
      ks,
      ipam: new PodIpam({ store, keyspace: ks, node, subnet: plan.forNode(3), logger: silentLogger() }),
    };
  };
  const req = (i: number) => ({
    namespace: 'default',
    pod: `p${i}`,
    containerId: `c${i}`,
    ifname: 'eth0',
    netns: `/run/netns/p${i}`,
  });

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'ipam' });
    store = etcd.store();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('hands out distinct addresses, persisted, never the gateway or reserved ones', async () => {
    const { ipam, ks } = fresh(24);
    await ipam.load();
    const a = await ipam.allocate(req(1));
    expect(a).toEqual({ ip: '10.1.3.2', prefixLength: 24, gateway: '10.1.3.1', existing: false });
    const stored = await store.get(ks.key({ kind: 'ipam', node: 'n1', ip: '10.1.3.2' }));
    expect(decodeEntry(stored!.value)).toEqual({
      namespace: 'default',
      pod: 'p1',
      containerId: 'c1',
      ifname: 'eth0',
      network: '',
      netns: '/run/netns/p1',
      extra: false,
      mac: '',
    });
    // proto3 JSON: the empty network is omitted.
    expect(JSON.parse(stored!.value)).toEqual({
      namespace: 'default',
      pod: 'p1',
      containerId: 'c1',
      ifname: 'eth0',
      netns: '/run/netns/p1',
    });
    // A repeated ADD gets the same address.
    expect(await ipam.allocate(req(1))).toMatchObject({ ip: '10.1.3.2', existing: true });
  });

  it('1,000 concurrent allocations: all distinct, all persisted', async () => {
    const { ipam, ks } = fresh(22);
    await ipam.load();
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => ipam.allocate(req(i))));
    const ms = performance.now() - t0;
    const ips = results.map((r) => r.ip);
    expect(new Set(ips).size).toBe(1000);
    const { kvs } = await store.list(ks.prefix('ipam', 'n1'));
    expect(kvs.length).toBe(1000);
    const byIp = new Map(
      kvs
        .map((kv) => [ks.parse(kv.key), decodeEntry(kv.value)] as const)
        .map(([r, e]) => [(r as { ip: string }).ip, e]),
    );
    results.forEach((r, i) => expect(byIp.get(r.ip)?.containerId).toBe(`c${i}`));
    expect(ips).not.toContain('10.1.12.1'); // 10.1.12.0/22 is node 3's subnet; .1 the gateway
    console.log(`1000 concurrent allocations in ${ms.toFixed(0)} ms`);
  });

  it('two allocators for the same node never hand out the same address', async () => {
    const { ipam: a, ks } = fresh(22);
    const b = new PodIpam({ store, keyspace: ks, node: 'n1', subnet: a.subnet, logger: silentLogger() });
    await Promise.all([a.load(), b.load()]);
    const [ra, rb] = await Promise.all([
      Promise.all(Array.from({ length: 300 }, (_, i) => a.allocate(req(i)))),
      Promise.all(Array.from({ length: 300 }, (_, i) => b.allocate(req(1000 + i)))),
    ]);
    const all = [...ra, ...rb].map((r) => r.ip);
    expect(new Set(all).size).toBe(600);
    const { kvs } = await store.list(ks.prefix('ipam', 'n1'));
    expect(kvs.length).toBe(600);
  });

  it('reserve picks at once and persists meanwhile; a picked address another allocator holds yields the next', async () => {
    const { ipam, ks } = fresh(24);
    await ipam.load();
    const r1 = ipam.reserve(req(1))!;
    expect(r1.ip).toBe('10.1.3.2');
    // Picked, not yet written: a second pick in the same tick gets another address.
    const r2 = ipam.reserve(req(2))!;
    expect(r2.ip).toBe('10.1.3.3');
    expect(await r1.persisted).toMatchObject({ ip: '10.1.3.2', existing: false });
    expect(await r2.persisted).toMatchObject({ ip: '10.1.3.3', existing: false });
    expect(await store.get(ks.key({ kind: 'ipam', node: 'n1', ip: '10.1.3.2' }))).toBeDefined();
    // The same interface again: its address, already persisted.
    expect(ipam.reserve(req(1))!.ip).toBe('10.1.3.2');
    // Another allocator takes the next address behind this one's back (it loaded before).
    const other = new PodIpam({
      store,
      keyspace: ks,
      node: 'n1',
      subnet: ipam.subnet,
      logger: silentLogger(),
    });
    await other.load();
    await other.allocate(req(90)); // 10.1.3.4
    const r3 = ipam.reserve(req(3))!;
    expect(r3.ip).toBe('10.1.3.4');
    expect(await r3.persisted).toMatchObject({ ip: '10.1.3.5', existing: false });
    expect(
      decodeEntry((await store.get(ks.key({ kind: 'ipam', node: 'n1', ip: '10.1.3.4' })))!.value),
    ).toMatchObject({
      containerId: 'c90',
    });
    // While a write for an interface is in flight, reserve declines (allocate() joins it).
    const r4 = ipam.reserve(req(4))!;
    expect(ipam.reserve(req(4))).toBeUndefined();
    expect((await ipam.allocate(req(4))).ip).toBe(r4.ip);
  });

  it('fails with SubnetFullError when the subnet is exhausted', async () => {
    const { ipam } = fresh(28); // 16 addresses: network, gateway, broadcast reserved → 13 usable
    await ipam.load();
    const got = await Promise.all(Array.from({ length: 13 }, (_, i) => ipam.allocate(req(i))));
    expect(new Set(got.map((g) => g.ip)).size).toBe(13);
    const err = await ipam.allocate(req(99)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubnetFullError);
    expect((err as Error).message).toMatch(
      /pod subnet 10\.1\.0\.48\/28 of node n1 is full: 13 of 13 usable addresses/,
    );
  });

  it('releases, reuses released addresses last, and survives a reload', async () => {
    const { ipam, ks } = fresh(24);
    await ipam.load();
    const a = await ipam.allocate(req(1));
    await ipam.allocate(req(2));
    expect(await ipam.release('c1')).toEqual([a.ip]);
    expect(await store.get(ks.key({ kind: 'ipam', node: 'n1', ip: a.ip }))).toBeUndefined();
    expect((await ipam.allocate(req(3))).ip).not.toBe(a.ip);
    expect(await ipam.release('nothing')).toEqual([]);
    const again = new PodIpam({
      store,
      keyspace: ks,
      node: 'n1',
      subnet: ipam.subnet,
      logger: silentLogger(),
    });
    await again.load();
    expect(again.records().map((r) => r.entry.containerId)).toEqual(['c2', 'c3']);
    expect(await again.allocate(req(2))).toMatchObject({ existing: true });
  });

  it('collects leaks the caller condemns, unless the record changed meanwhile', async () => {
    const { ipam, ks } = fresh(24);
    await ipam.load();
    await Promise.all([1, 2, 3].map((i) => ipam.allocate(req(i))));
    const r2 = ipam.recordOf('c2', 'eth0')!;
    const r3 = ipam.recordOf('c3', 'eth0')!;
    await store.put(
      ks.key({ kind: 'ipam', node: 'n1', ip: r3.ip }),
      JSON.stringify({ containerId: 'c3', pod: 'moved' }),
    );
    const deleted = await ipam.collect((r) => r.entry.containerId !== 'c1');
    expect(deleted).toEqual([r2.ip]); // c3's record changed after it was read: kept
    const { kvs } = await store.list(ks.prefix('ipam', 'n1'));
    expect(kvs.map((kv) => decodeEntry(kv.value).containerId).sort()).toEqual(['c1', 'c3']);
    expect(ipam.records().map((r) => r.entry.pod)).toEqual(['p1', 'moved']);
  });

  it('writes back its records after etcd lost them', async () => {
    const { ipam, ks } = fresh(24);
    await ipam.load();
    await Promise.all([1, 2].map((i) => ipam.allocate(req(i))));
    await store.deletePrefix(ks.prefix('ipam', 'n1'));
    expect(await ipam.reassert()).toBe(2);
    const { kvs } = await store.list(ks.prefix('ipam', 'n1'));
    expect(kvs.length).toBe(2);
    expect(await ipam.reassert()).toBe(0);
  });
});
