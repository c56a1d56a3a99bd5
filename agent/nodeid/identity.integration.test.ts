// Node identity against a real etcd: distinct IDs, kept across restarts, one agent per node,
// and an etcd restore from a backup taken before node B joined: B re-claims its ID, and node C
// joining right then never gets it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../../lib/keyspace.ts';
import { silentLogger } from '../../lib/logging.ts';
import type { Store } from '../../lib/etcd/store.ts';
import { startEtcd, type EtcdHandle } from '../../test/harness/etcd.ts';
import { etcdAvailable, skipUnless } from '../../test/harness/availability.ts';
import { AddressPlan } from '../ipam/plan.ts';
import { AgentConflictError, NodeIdentity, type NodeIdentityOptions } from './identity.ts';
import { readState } from './state-file.ts';

const skip = skipUnless('node identity', etcdAvailable());
const plan = new AddressPlan({ podCidr: '10.1.0.0/16', nodePrefixLength: 24, gatewayOffset: 1 });

async function until(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skip)('NodeIdentity (real etcd)', () => {
  let etcd: EtcdHandle;
  let store: Store;
  const dirs: string[] = [];
  const running: NodeIdentity[] = [];
  let n = 0;

  const options = (
    ks: Keyspace,
    node: string,
    stateDir: string,
    extra: Partial<NodeIdentityOptions> = {},
  ): NodeIdentityOptions => ({
    store,
    keyspace: ks,
    node,
    stateDir,
    plan,
    managementIp: '192.168.0.1',
    tunnelEndpoint: '192.168.0.1',
    leaseTtlSeconds: 3,
    checkMs: 150,
    settleMs: 1_000,
    ownerWaitMs: 500,
    logger: silentLogger(),
    ...extra,
  });
  const dir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'nl-nodeid-'));
    dirs.push(d);
    return d;
  };
  const start = async (o: NodeIdentityOptions): Promise<NodeIdentity> => {
    const id = await NodeIdentity.start(o);
    running.push(id);
    return id;
  };

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'nodeid' });
    store = etcd.store();
  });
  afterAll(async () => {
    for (const r of running) await r.close().catch(() => undefined);
    await etcd?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('claims distinct IDs, publishes nodes/info under a lease, keeps the ID across restarts', async () => {
    const ks = new Keyspace(`nid${++n}`);
    const [da, db] = [dir(), dir()];
    const [a, b] = await Promise.all([start(options(ks, 'a', da)), start(options(ks, 'b', db))]);
    expect(new Set([a.id, b.id]).size).toBe(2);
    expect([a.id, b.id].sort()).toEqual([1, 2]);
    const info = await store.get(ks.key({ kind: 'nodeInfo', name: 'a' }));
    expect(JSON.parse(info!.value)).toEqual({
      name: 'a',
      id: a.id,
      managementIp: '192.168.0.1',
      tunnelEndpoint: '192.168.0.1',
      podSubnet: `10.1.${a.id}.0/24`,
    });
    expect(info!.lease).not.toBe('0');
    expect((await store.get(ks.key({ kind: 'nodeId', id: String(a.id) })))?.value).toBe('a');
    expect(readState(da, ks.cluster)?.id).toBe(a.id);
    await a.close();
    expect(await store.get(ks.key({ kind: 'nodeInfo', name: 'a' }))).toBeUndefined();
    const a2 = await start(options(ks, 'a', da, { settleMs: 60_000 })); // a restart never settles again
    expect(a2.id).toBe(a.id);
  });

  it('takes over after its own crash at once, but refuses a second live agent for the node', async () => {
    const ks = new Keyspace(`nid${++n}`);
    const d = dir();
    const a = await start(options(ks, 'a', d, { leaseTtlSeconds: 30 }));
    // A second agent for the same node elsewhere (own state dir): clear error, a's info untouched.
    const err = await NodeIdentity.start(options(ks, 'a', dir())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentConflictError);
    expect((err as Error).message).toMatch(/node a is already served by another agent/);
    expect(a.readiness()).toBeNull();
    // Simulate a crash: stop the checks without revoking; the lease (30 s) stays alive.
    // A new agent with the same state dir recognises its own lease and takes over at once.
    (a as unknown as { stop: AbortController }).stop.abort();
    (a as unknown as { lease: { release(): void } }).lease.release();
    const t0 = Date.now();
    const a2 = await start(options(ks, 'a', d));
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(a2.id).toBe(a.id);
  });

  it('after an etcd restore from before B joined: B re-claims its ID, C joining then never gets it', async () => {
    const ks = new Keyspace(`nid${++n}`);
    // After a restart, gRPC may fail a first request while it reconnects (seen under load in
    // CI: UNAVAILABLE "No connection established"); what is tested here begins once etcd answers.
    const answering = (): Promise<void> =>
      until(() =>
        store.get(ks.key({ kind: 'nodeInfo', name: 'a' })).then(
          () => true,
          () => false,
        ),
      );
    const a = await start(options(ks, 'a', dir()));
    await etcd.stop();
    const backup = etcd.backup();
    dirs.push(backup);
    await etcd.start();
    await answering();
    const restored: string[] = [];
    const b = await start(options(ks, 'b', dir(), { onRestored: async () => void restored.push('b') }));
    // The tests' clusters share this etcd, and node IDs are store-wide: B takes the next one.
    expect(b.id).toBe(a.id + 1);
    await etcd.stop();
    etcd.restore(backup);
    await etcd.start();
    await answering();
    // B's records are gone from etcd; C joins right now (whether B or C acts first is a race
    // here; test/agent-identity.test.ts forces C first by stopping B's process).
    const c = await start(options(ks, 'c', dir()));
    expect(c.id).not.toBe(b.id);
    expect(c.id).not.toBe(a.id);
    expect(c.subnet.cidr).not.toBe(b.subnet.cidr);
    await until(async () => (await store.get(ks.key({ kind: 'nodeId', id: String(b.id) })))?.value === 'b');
    await until(async () => (await store.get(ks.key({ kind: 'nodeInfo', name: 'b' }))) !== undefined);
    expect(restored).toContain('b');
    expect(b.readiness()).toBeNull();
  }, 60_000);
});
