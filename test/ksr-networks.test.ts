// netloom networks and network-status through a real kube-apiserver and etcd, with two
// `netloom ksr` replicas (child processes): NADs of both forms (type netloom, Contrail's
// opencontrail.org/cidr) become networks/ records with distinct IDs claimed in network-ids/ and
// a finalizer; overlaps and a taken VNI are refused with an Event and no record; the leader
// killed with -9 while NADs are created leaves no ID given twice; a NAD's deletion waits while an
// attachments/ record (written here as an agent would) names it and completes once it is gone;
// attachments/ records become the pod's network-status annotation, exactly, and follow changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomObjectsApi, HttpMethod, type CoreV1Api } from '@kubernetes/client-node';
import { kubeFetch } from '../ksr/kube/client.ts';
import type { Store } from '../lib/etcd/store.ts';
import { Keyspace, SharedKeyspace } from '../lib/keyspace.ts';
import type { AttachmentRecord } from '../proto/gen/netloom/model/v1/AttachmentRecord.ts';
import { kubeApiserverAvailable, skipUnless } from './harness/availability.ts';
import {
  eventually,
  installNadCrd,
  randomSuffix,
  startKsrWorld,
  type KsrProcess,
  type KsrWorld,
} from './ksr-support.ts';

const skip = skipUnless(
  'KSR network registry and network-status (kube-apiserver + etcd)',
  kubeApiserverAvailable(),
);

const NAD = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' };
const FINALIZER = 'netloom.io/network-in-use';
const STATUS = 'k8s.v1.cni.cncf.io/network-status';

describe.skipIf(skip)('netloom ksr: networks from NADs, and network-status', () => {
  let world: KsrWorld;
  let store: Store;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  const replicas: KsrProcess[] = [];
  const cluster = `nl${randomSuffix()}`;
  const ks = new Keyspace(cluster);
  const ns = `nl-net-${randomSuffix()}`;

  const createNad = (
    name: string,
    config: object | string,
    annotations: Record<string, string> = {},
  ): Promise<unknown> =>
    custom.createNamespacedCustomObject({
      ...NAD,
      namespace: ns,
      body: {
        apiVersion: 'k8s.cni.cncf.io/v1',
        kind: 'NetworkAttachmentDefinition',
        metadata: { name, annotations },
        spec: { config: typeof config === 'string' ? config : JSON.stringify(config) },
      },
    });
  const readNad = async (
    name: string,
  ): Promise<{ metadata: { finalizers?: string[]; deletionTimestamp?: string } } | undefined> => {
    try {
      return (await custom.getNamespacedCustomObject({ ...NAD, namespace: ns, name })) as never;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  };
  /** networks/ of this namespace: name → record. */
  const networks = async (): Promise<Map<string, { id: number; vni: number; subnets: string[] }>> => {
    const { kvs } = await store.list(ks.prefix('network', ns));
    return new Map(
      kvs.map((kv) => {
        const v = JSON.parse(kv.value) as { name: string; id: number; vni: number; subnets: string[] };
        return [v.name.slice(ns.length + 1), v];
      }),
    );
  };
  /** network-ids/ as id → owner. */
  const claims = async (): Promise<Map<number, string>> => {
    const { kvs } = await store.list(ks.prefix('networkId'));
    return new Map(
      kvs.map((kv) => [
        Number(kv.key.slice(ks.prefix('networkId').length)),
        (JSON.parse(kv.value) as { network: string }).network,
      ]),
    );
  };
  const eventsOf = async (name: string): Promise<string[]> =>
    (
      await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })
    ).items.map((e) => `${e.reason}: ${e.message}`);
  const leaderName = async (): Promise<string | undefined> => {
    const v = await store.get(ks.key({ kind: 'ksrStatus' }));
    return v ? (JSON.parse(v.value) as { leader: string }).leader : undefined;
  };
  const attach = (node: string, pod: string, ifname: string, r: AttachmentRecord): Promise<number> =>
    store.put(ks.key({ kind: 'attachment', node, namespace: ns, pod, ifname }), JSON.stringify(r));
  const detach = (node: string, pod: string, ifname: string): Promise<number> =>
    store.delete(ks.key({ kind: 'attachment', node, namespace: ns, pod, ifname }));

  beforeAll(async () => {
    world = await startKsrWorld({ cluster, namespace: ns });
    ({ store, core } = world);
    custom = world.kube.kubeConfig().makeApiClient(CustomObjectsApi);
    await installNadCrd(world.kube.kubeConfig());
    const args = ['--pod-cidr', '10.1.0.0/16', '--service-cidr', '10.96.0.0/12', '--full-resync-ms', '3000'];
    for (const id of ['net-a', 'net-b']) replicas.push(await world.startKsr(id, args));
    await eventually(async () => (await leaderName()) !== undefined, 15_000, 'a leader');
  }, 120_000);
  afterAll(async () => {
    await world?.destroy();
  });

  it('NADs of both forms become networks with distinct IDs, claims and a finalizer', async () => {
    await createNad('blue', { cniVersion: '1.0.0', type: 'netloom', subnet: '10.200.0.0/16', snat: true });
    await createNad(
      'red',
      { cniVersion: '0.3.1', type: 'contrail-k8s-cni' },
      { 'opencontrail.org/cidr': '10.210.0.0/24' },
    );
    await createNad('mac', { cniVersion: '1.0.0', type: 'macvlan', master: 'eth0' });
    const nets = await eventually(
      async () => {
        const n = await networks();
        return n.has('blue') && n.has('red') ? n : undefined;
      },
      20_000,
      'records of blue and red',
    );
    const blue = nets.get('blue')!;
    const red = nets.get('red')!;
    expect(new Set([blue.id, red.id]).size).toBe(2);
    expect(blue).toEqual({
      name: `${ns}/blue`,
      id: blue.id,
      subnets: ['10.200.0.0/16'],
      vni: 4096 + blue.id,
      nodePrefixLength: 24,
      gatewayOffset: 1,
      snat: true,
    });
    expect(red).toEqual({
      name: `${ns}/red`,
      id: red.id,
      subnets: ['10.210.0.0/24'],
      vni: 4096 + red.id,
      nodePrefixLength: 28,
      gatewayOffset: 1,
    });
    expect(nets.has('mac')).toBe(false);
    const c = await claims();
    expect(c.get(blue.id)).toBe(`${ns}/blue`);
    expect(c.get(red.id)).toBe(`${ns}/red`);
    const shared = await store.get(
      new SharedKeyspace().key({ kind: 'sharedNetworkId', id: String(blue.id) }),
    );
    expect(JSON.parse(shared?.value ?? '{}')).toEqual({ cluster, network: `${ns}/blue` });
    for (const name of ['blue', 'red'])
      await eventually(
        async () => (await readNad(name))?.metadata.finalizers?.includes(FINALIZER),
        10_000,
        `finalizer on ${name}`,
      );
    expect((await readNad('mac'))?.metadata.finalizers ?? []).toEqual([]);
    await eventually(
      async () =>
        (await eventsOf('blue')).some((e) => e.startsWith(`NetworkCreated: network ID ${blue.id}, VNI`)),
      10_000,
      'NetworkCreated event',
    );
    // The reflected NAD carries the Contrail annotation.
    const reflected = await store.get(ks.key({ kind: 'netattach', namespace: ns, name: 'red' }));
    expect(JSON.parse(reflected?.value ?? '{}')).toMatchObject({
      annotations: { 'opencontrail.org/cidr': '10.210.0.0/24' },
    });
  });

  it('overlaps (pod CIDR, service CIDR, another network) and a taken VNI are refused with an Event', async () => {
    await createNad('in-pods', { type: 'netloom', subnet: '10.1.7.0/24' });
    await createNad('in-services', { type: 'netloom', subnet: '10.100.0.0/16' });
    await createNad('over-blue', { type: 'netloom', subnet: '10.200.5.0/24' });
    await createNad('vni-ten', { type: 'netloom', subnet: '10.220.0.0/16', vni: 10 });
    await createNad('bad', { type: 'netloom', subnet: '10.230.0.1/16' });
    const want: [string, string][] = [
      ['in-pods', "NetworkSubnetConflict: subnet 10.1.7.0/24 overlaps the cluster's pod CIDR 10.1.0.0/16"],
      [
        'in-services',
        "NetworkSubnetConflict: subnet 10.100.0.0/16 overlaps the cluster's service CIDR 10.96.0.0/12",
      ],
      [
        'over-blue',
        `NetworkSubnetConflict: subnet 10.200.5.0/24 overlaps network ${ns}/blue (10.200.0.0/16)`,
      ],
      ['vni-ten', 'NetworkVniConflict: VNI 10 is taken by the default network'],
      [
        'bad',
        'NetworkInvalid: spec.config subnet: 10.230.0.1/16 has host bits set; did you mean 10.230.0.0/16?',
      ],
    ];
    for (const [name, event] of want)
      await eventually(async () => (await eventsOf(name)).includes(event), 15_000, `${name}: ${event}`);
    const nets = await networks();
    for (const [name] of want) expect(nets.has(name), name).toBe(false);
    const leaderId = await leaderName();
    const leader = replicas.find((r) => r.identity === leaderId)!;
    expect(await leader.metric('netloom_ksr_networks_refused', { reason: 'NetworkSubnetConflict' })).toBe(3);
    expect(await leader.metric('netloom_ksr_network_refusals_total', { reason: 'NetworkVniConflict' })).toBe(
      1,
    );
  });

  it('a leader killed with -9 while NADs are created: every network gets one ID, no ID two networks', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `burst-${i}`);
    const leaderId = await leaderName();
    const leader = replicas.find((r) => r.identity === leaderId)!;
    let i = 0;
    for (const name of names) {
      await createNad(name, { type: 'netloom', subnet: `172.${16 + i}.0.0/16` });
      if (i === 5) await leader.kill();
      i++;
    }
    const nets = await eventually(
      async () => {
        const n = await networks();
        return names.every((name) => n.has(name)) ? n : undefined;
      },
      40_000,
      'every burst network recorded after the takeover',
    );
    const ids = names.map((name) => nets.get(name)!.id);
    expect(new Set(ids).size).toBe(ids.length);
    const c = await claims();
    // One claim per network, naming it; no network holds two.
    const owners = [...c.values()];
    expect(new Set(owners).size).toBe(owners.length);
    for (const name of names) expect(c.get(nets.get(name)!.id)).toBe(`${ns}/${name}`);
    expect(await leaderName()).not.toBe(leaderId);
    await leader.start();
  });

  it('a NAD in use is not deleted until no attachment names it; then record, claim and finalizer go', async () => {
    const blue = (await networks()).get('blue')!;
    await attach('node-1', 'user-a', 'net1', {
      podUid: 'x',
      network: `${ns}/blue`,
      name: `${ns}/blue`,
      ips: ['10.200.1.5/24'],
    });
    await custom.deleteNamespacedCustomObject({ ...NAD, namespace: ns, name: 'blue' });
    await eventually(
      async () =>
        (await eventsOf('blue')).includes(`NetworkInUse: deletion waits: pods still attached: ${ns}/user-a`),
      15_000,
      'NetworkInUse event',
    );
    expect((await readNad('blue'))?.metadata.deletionTimestamp).toBeDefined();
    expect((await networks()).has('blue')).toBe(true);
    expect((await claims()).get(blue.id)).toBe(`${ns}/blue`);
    await detach('node-1', 'user-a', 'net1');
    await eventually(async () => (await readNad('blue')) === undefined, 15_000, 'NAD blue gone');
    expect((await networks()).has('blue')).toBe(false);
    expect((await claims()).has(blue.id)).toBe(false);
  });

  it("attachment records become the pod's network-status annotation, exactly, and follow changes", async () => {
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { containers: [{ name: 'c', image: 'example.invalid/none' }] },
      },
    });
    const uid = pod.metadata!.uid!;
    await attach('node-1', 'web', 'eth0', {
      podUid: uid,
      name: 'netloom',
      ips: ['10.1.4.9/24'],
      mac: '0a:58:0a:01:04:09',
      default: true,
      gateways: ['10.1.4.1'],
    });
    await attach('node-1', 'web', 'net2', {
      podUid: uid,
      network: `${ns}/red`,
      name: `${ns}/red`,
      ips: ['10.210.0.20/28'],
      mac: '02:00:00:00:00:02',
    });
    await attach('node-1', 'web', 'net1', {
      podUid: uid,
      network: `${ns}/mac`,
      name: `${ns}/mac`,
      mac: '02:00:00:00:00:01',
    });
    // A leftover of an earlier pod of the same name, on another node: ignored.
    await attach('node-2', 'web', 'net3', {
      podUid: 'earlier-uid',
      network: `${ns}/red`,
      name: `${ns}/red`,
      ips: ['10.210.0.99/28'],
    });
    const annotation = async (): Promise<string | undefined> =>
      (await core.readNamespacedPod({ namespace: ns, name: 'web' })).metadata?.annotations?.[STATUS];
    const full = JSON.stringify([
      {
        name: 'netloom',
        interface: 'eth0',
        ips: ['10.1.4.9'],
        mac: '0a:58:0a:01:04:09',
        default: true,
        'default-route': ['10.1.4.1'],
      },
      { name: `${ns}/mac`, interface: 'net1', mac: '02:00:00:00:00:01', default: false },
      {
        name: `${ns}/red`,
        interface: 'net2',
        ips: ['10.210.0.20'],
        mac: '02:00:00:00:00:02',
        default: false,
      },
    ]);
    await eventually(async () => (await annotation()) === full, 15_000, 'network-status with three entries');
    await detach('node-1', 'web', 'net1');
    const less = JSON.stringify([
      {
        name: 'netloom',
        interface: 'eth0',
        ips: ['10.1.4.9'],
        mac: '0a:58:0a:01:04:09',
        default: true,
        'default-route': ['10.1.4.1'],
      },
      {
        name: `${ns}/red`,
        interface: 'net2',
        ips: ['10.210.0.20'],
        mac: '02:00:00:00:00:02',
        default: false,
      },
    ]);
    await eventually(async () => (await annotation()) === less, 15_000, 'network-status without net1');
    // Someone else's edit of the annotation is put right.
    const res = await kubeFetch(
      world.kube.kubeConfig(),
      HttpMethod.PATCH,
      `/api/v1/namespaces/${ns}/pods/web`,
      {
        body: JSON.stringify({ metadata: { annotations: { [STATUS]: '[]' } } }),
        contentType: 'application/merge-patch+json',
        timeoutMs: 10_000,
      },
    );
    expect(res.status).toBe(200);
    await res.body?.cancel();
    await eventually(async () => (await annotation()) === less, 15_000, 'network-status restored');
  });
});
