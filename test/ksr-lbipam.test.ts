// LoadBalancer addresses from pools, through a real kube-apiserver and etcd with two `netloom ksr`
// replicas (child processes): the leader allocates (lowest free, a requested one, a named pool),
// records lbipam/<ip> and writes status; a full pool and a held address give Events and no
// status, retried when an address frees up; delete and type change release; records lost or
// left behind are repaired; the leader killed with -9 while services are being created leaves no
// address handed out twice, and the new leader makes records and statuses agree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoreV1Api, V1Service } from '@kubernetes/client-node';
import type { Store } from '../lib/etcd/store.ts';
import { Keyspace } from '../lib/keyspace.ts';
import { kubeApiserverAvailable, skipUnless } from './harness/availability.ts';
import { eventually, randomSuffix, startKsrWorld, type KsrProcess, type KsrWorld } from './ksr-support.ts';

const skip = skipUnless('KSR LoadBalancer allocator (kube-apiserver + etcd)', kubeApiserverAvailable());

const POOLS = 'default=192.0.2.0/30;small=198.51.100.1-198.51.100.2;dmz=203.0.113.8/29';

describe.skipIf(skip)('netloom ksr allocates LoadBalancer addresses', () => {
  let world: KsrWorld;
  let store: Store;
  let core: CoreV1Api;
  const replicas: KsrProcess[] = [];
  const cluster = `nl${randomSuffix()}`;
  const ks = new Keyspace(cluster);
  const ns = `nl-lb-${randomSuffix()}`;

  const lbService = (
    name: string,
    extra: { annotations?: Record<string, string>; spec?: object } = {},
  ): V1Service => ({
    metadata: { name, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: { type: 'LoadBalancer', ports: [{ port: 80, targetPort: 8080 }], ...extra.spec },
  });
  const create = (name: string, extra?: Parameters<typeof lbService>[1]): Promise<V1Service> =>
    core.createNamespacedService({ namespace: ns, body: lbService(name, extra) });
  const statusOf = async (name: string): Promise<string[]> =>
    ((await core.readNamespacedService({ name, namespace: ns })).status?.loadBalancer?.ingress ?? []).map(
      (i) => i.ip ?? '',
    );
  /** lbipam/ as ip → "namespace/service". */
  const records = async (): Promise<Map<string, string>> => {
    const { kvs } = await store.list(ks.prefix('lbipam'));
    return new Map(
      kvs.map((kv) => {
        const v = JSON.parse(kv.value) as { namespace: string; service: string };
        return [kv.key.slice(ks.prefix('lbipam').length), `${v.namespace}/${v.service}`];
      }),
    );
  };
  const recordOf = async (name: string): Promise<string[]> =>
    [...(await records())].filter(([, o]) => o === `${ns}/${name}`).map(([ip]) => ip);
  /** Waits until the service's status shows exactly `ips` and lbipam/ agrees. */
  const expectAddress = async (name: string, ips: string[]): Promise<void> => {
    let last = '';
    await eventually(
      async () => {
        const [status, held] = [await statusOf(name), await recordOf(name)];
        last = JSON.stringify({ status, held });
        return last === JSON.stringify({ status: ips, held: ips });
      },
      15_000,
      `${name} → ${ips.join(',') || 'no address'}`,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; last ${last}`);
    });
  };
  const reasonsOf = async (name: string): Promise<string[]> =>
    (
      await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })
    ).items.map((e) => `${e.reason}: ${e.message}`);
  const leaderName = async (): Promise<string | undefined> => {
    const v = await store.get(ks.key({ kind: 'ksrStatus' }));
    return v ? (JSON.parse(v.value) as { leader: string }).leader : undefined;
  };

  beforeAll(async () => {
    world = await startKsrWorld({ cluster, namespace: ns });
    ({ store, core } = world);
    // A short full-resync period: lbipam/ is re-read that often too (records edited behind KSR's back).
    const args = ['--lb-pools', POOLS, '--full-resync-ms', '2000'];
    for (const id of ['lb-a', 'lb-b']) replicas.push(await world.startKsr(id, args));
    await eventually(async () => (await leaderName()) !== undefined, 15_000, 'a leader');
  });
  afterAll(async () => {
    await world?.destroy();
  });

  it('gives the lowest free address, records it, writes status, and the reflected service carries it', async () => {
    await create('first');
    await expectAddress('first', ['192.0.2.0']);
    // The Event is written beside the status, not before it: wait for it too.
    await eventually(
      async () =>
        (await reasonsOf('first')).includes('LoadBalancerIPAllocated: assigned 192.0.2.0 from pool default'),
      10_000,
      'allocation event',
    );
    const key = ks.key({ kind: 'service', namespace: ns, name: 'first' });
    await eventually(
      async () =>
        (JSON.parse((await store.get(key))?.value ?? '{}') as { loadBalancerIps?: string[] })
          .loadBalancerIps?.[0] === '192.0.2.0',
      10_000,
      'k8s/service value with loadBalancerIps',
    );
  });

  it('honours spec.loadBalancerIP and the netloom.io/lb-ip annotation', async () => {
    await create('asks-spec', { spec: { loadBalancerIP: '192.0.2.3' } });
    await create('asks-annotation', { annotations: { 'netloom.io/lb-ip': '203.0.113.15' } });
    await expectAddress('asks-spec', ['192.0.2.3']);
    await expectAddress('asks-annotation', ['203.0.113.15']);
  });

  it('an address held by another service: an Event, no status; given once it is free', async () => {
    await create('wants-held', { annotations: { 'netloom.io/lb-ip': '192.0.2.3' } });
    await eventually(
      async () =>
        (await reasonsOf('wants-held')).some((r) =>
          r.startsWith('LoadBalancerIPConflict: 192.0.2.3 is held'),
        ),
      10_000,
      'conflict event',
    );
    expect(await statusOf('wants-held')).toEqual([]);
    await core.deleteNamespacedService({ name: 'asks-spec', namespace: ns });
    await expectAddress('wants-held', ['192.0.2.3']);
  });

  it('a named pool, exhausted: an Event and no status for the one too many, until an address frees up', async () => {
    await create('small-1', { annotations: { 'netloom.io/lb-pool': 'small' } });
    await expectAddress('small-1', ['198.51.100.1']);
    await create('small-2', { annotations: { 'netloom.io/lb-pool': 'small' } });
    await expectAddress('small-2', ['198.51.100.2']);
    await create('small-3', { annotations: { 'netloom.io/lb-pool': 'small' } });
    await eventually(
      async () =>
        (await reasonsOf('small-3')).includes(
          'LoadBalancerPoolExhausted: pool small has no free IPv4 address',
        ),
      10_000,
      'exhausted event',
    );
    expect(await statusOf('small-3')).toEqual([]);
    expect(await recordOf('small-3')).toEqual([]);
    await core.deleteNamespacedService({ name: 'small-1', namespace: ns });
    await expectAddress('small-3', ['198.51.100.1']);
    expect(await recordOf('small-1')).toEqual([]);
  });

  it('type changed away from LoadBalancer: released and status cleared; another class is left alone', async () => {
    await create('becomes-cluster-ip');
    await expectAddress('becomes-cluster-ip', ['192.0.2.1']);
    const svc = await core.readNamespacedService({ name: 'becomes-cluster-ip', namespace: ns });
    svc.spec = {
      ...svc.spec,
      type: 'ClusterIP',
      ports: svc.spec!.ports!.map(({ nodePort: _, ...p }) => p),
      externalTrafficPolicy: undefined,
      allocateLoadBalancerNodePorts: undefined,
    };
    await core.replaceNamespacedService({ name: 'becomes-cluster-ip', namespace: ns, body: svc });
    await expectAddress('becomes-cluster-ip', []);

    await create('other-class', { spec: { loadBalancerClass: 'example.com/lb' } });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await statusOf('other-class')).toEqual([]);
    expect(await reasonsOf('other-class')).toEqual([]);
  });

  it('repairs lbipam/: a lost record comes back from status, an orphan record is released', async () => {
    await store.delete(ks.key({ kind: 'lbipam', ip: '192.0.2.0' })); // first's record
    await store.put(
      ks.key({ kind: 'lbipam', ip: '192.0.2.2' }),
      JSON.stringify({ namespace: ns, service: 'ghost' }),
    );
    await eventually(
      async () => {
        const r = await records();
        return r.get('192.0.2.0') === `${ns}/first` && !r.has('192.0.2.2');
      },
      15_000,
      'record restored and orphan released',
    );
    expect(await statusOf('first')).toEqual(['192.0.2.0']);
  });

  it('leader killed with -9 while services are created: no address twice, records and statuses agree', async () => {
    const leading = await leaderName();
    const leader = replicas.find((r) => r.identity === leading)!;
    const standby = replicas.find((r) => r !== leader)!;
    const names = Array.from({ length: 10 }, (_, i) => `burst-${i}`);
    const creating = Promise.all(
      names.map((n) => create(n, { annotations: { 'netloom.io/lb-pool': 'dmz' } })),
    );
    // Kill as soon as the leader has claimed a first burst address: the rest is the new leader's.
    await eventually(
      async () => [...(await records()).values()].some((o) => o.startsWith(`${ns}/burst-`)),
      15_000,
      'a first burst address',
    );
    await leader.kill();
    const atKill = [...(await records()).values()].filter((o) => o.startsWith(`${ns}/burst-`)).length;
    await creating;
    await eventually(async () => (await leaderName()) === standby.identity, 15_000, 'standby leads');

    // dmz: 8 addresses, one held by asks-annotation: 7 of the 10 get one, 3 get an Event.
    const settled = async (): Promise<string | false> => {
      const r = await records();
      const statuses = await Promise.all(names.map(async (n) => [n, await statusOf(n)] as const));
      const holders = statuses.filter(([, ips]) => ips.length > 0);
      for (const [n, ips] of statuses) {
        const held = [...r].filter(([, o]) => o === `${ns}/${n}`).map(([ip]) => ip);
        if (JSON.stringify(held) !== JSON.stringify(ips)) return false;
      }
      return holders.length === 7 ? JSON.stringify(holders) : false;
    };
    const holders = JSON.parse(await eventually(settled, 20_000, 'burst settled')) as [string, string[]][];
    const ips = holders.flatMap(([, x]) => x);
    process.stderr.write(
      `burst: leader killed with ${atKill} of 7 burst addresses recorded; the new leader did the rest\n`,
    );
    expect(new Set(ips).size).toBe(ips.length);
    expect(ips.every((ip) => ip.startsWith('203.0.113.') && ip !== '203.0.113.15')).toBe(true);
    const waiting = names.filter((n) => !holders.some(([h]) => h === n));
    for (const n of waiting)
      await eventually(
        async () => (await reasonsOf(n)).some((e) => e.startsWith('LoadBalancerPoolExhausted')),
        10_000,
        `exhausted event for ${n}`,
      );
    // Everything allocated before the kill is still where it was.
    expect(await statusOf('first')).toEqual(['192.0.2.0']);
    expect(await statusOf('small-3')).toEqual(['198.51.100.1']);

    // The killed replica comes back as the standby; deleting services still releases.
    await leader.start();
    for (const [n] of holders.slice(0, 2)) await core.deleteNamespacedService({ name: n, namespace: ns });
    await eventually(
      async () =>
        (await Promise.all(waiting.map((n) => statusOf(n)))).filter((x) => x.length > 0).length === 2,
      20_000,
      'two waiting services get the freed addresses',
    );
  });
});
