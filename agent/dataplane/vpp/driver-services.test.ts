// The vpp driver's Services beyond the mapping itself, against the fake VPP: masqueradeOutside
// as the mapping's twice-NAT flags (and the twice-NAT pool), hairpin, noBackends as a route on
// the VIP, retrieve exactness and repair. What a first packet meets is asked of the fake's model
// of NAT44-ED and the FIB (fake/nat-path.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serviceKey, snatKey } from '../../items/keys.ts';
import type { Service } from '../../items/values.ts';
import type { VppFields } from './api/field-codecs.ts';
import { silentLogger } from '../../../lib/logging.ts';
import { KvScheduler } from '../../scheduler/scheduler.ts';
import { CnatCalls, FLOW_HASH_SRC_IP } from './calls/cnat.ts';
import { NatCalls, NAT_IS_OUT2IN_ONLY } from './calls/nat.ts';
import { translationOf } from './descriptors/service.ts';
import { podItems } from '../linux/test-items.ts';
import { vppDriverWith } from './driver.ts';
import { natPath, type NatPacket } from './fake/nat-path.ts';
import { renderState } from './fake/render.ts';
import { backend as fixtureBackend, node1, nodes, pod, service as fixtureService } from './testing/items.ts';
import { driverLab, type DriverLab } from './testing/driver-lab.ts';

let lab: DriverLab;
beforeEach(async () => {
  lab = await driverLab();
});
afterEach(async () => {
  await lab.close();
});

const backend = (ip: string, port = 8080): Service['backends'][number] => fixtureBackend(ip, 1, false, port);
// Cluster-IP frontends here masquerade outside the pod CIDR, as the renderer writes them.
const service = (
  vip: string,
  port: number,
  backends: Service['backends'],
  extra: Partial<Service> = {},
): Service => fixtureService(vip, backends, { port, masqueradeOutside: ['10.1.0.0/16'], ...extra });
const item = (v: Service): { key: string; value: Service } => ({
  key: serviceKey(v.vrf, v.protocol, v.vip, v.port),
  value: v,
});
const lines = (prefix: string): string[] =>
  renderState(lab.fake.state)
    .split('\n')
    .filter((l) => l.startsWith(prefix));
const tcp = (p: Omit<NatPacket, 'protocol'>): ReturnType<typeof natPath> =>
  natPath(lab.fake.state, { ...p, protocol: 6 });
const noChanges = { create: 0, update: 0, delete: 0 };
/** The node's source NAT item (every node renders one): it holds the Service masquerade address. */
const NODE_SNAT = {
  key: snatKey(0, '10.1.1.0/24'),
  value: { vrf: 0, source: '10.1.1.0/24', except: [], toAddress: '' },
};
/** Its last host: the twice-NAT address outside clients are translated to. */
const MASQ = '10.1.1.254';

describe('vpp driver: Service masquerade and hairpin', () => {
  it('maps masqueradeOutside to twice-NAT flags; the twice-NAT address is the last host of the node’s block', async () => {
    const items = [
      NODE_SNAT,
      item(service('10.96.0.10', 80, [backend('10.1.1.11'), backend('10.1.2.7')], { masqueradeOutside: [] })),
      item(service('10.96.0.11', 80, [backend('10.1.1.11')])), // [pod CIDR]
      item(
        service('node', 30080, [backend('10.1.1.11')], {
          kind: 'node-port',
          masqueradeOutside: null,
          noBackends: 'drop',
        }),
      ),
    ];
    expect((await lab.scheduler.commit(items)).errors).toEqual([]);
    expect(lines('nat44 lb').concat(lines('nat44 static'))).toEqual([
      'nat44 lb 10.96.0.10:80:6 -> 10.1.1.11:8080*127 10.1.2.7:8080*127 affinity 0 out2in-only twice-nat tag service/0/tcp/10.96.0.10/80',
      'nat44 static 10.96.0.11:80:6 -> 10.1.1.11:8080 out2in-only twice-nat tag service/0/tcp/10.96.0.11/80',
      'nat44 static 192.168.0.1:30080:6 -> 10.1.1.11:8080 out2in-only self-twice-nat tag service/0/tcp/node/30080',
    ]);
    expect(lines('nat44 twice-nat pool')).toEqual([`nat44 twice-nat pool ${MASQ}`]);

    // From the underlay: [] and [cidr] masquerade the client; null keeps it.
    const client = '192.168.0.50';
    expect(tcp({ from: 'outside', src: client, dst: '10.96.0.10', dport: 80, pick: 1 })).toEqual({
      verdict: 'translated',
      src: MASQ,
      dst: '10.1.2.7',
      dport: 8080,
    });
    expect(tcp({ from: 'outside', src: client, dst: '10.96.0.11', dport: 80 })).toMatchObject({
      src: MASQ,
    });
    expect(tcp({ from: 'outside', src: client, dst: '192.168.0.1', dport: 30080 })).toEqual({
      verdict: 'translated',
      src: client,
      dst: '10.1.1.11',
      dport: 8080,
    });
    // Hairpin under null: the backend as the client is masqueraded all the same.
    expect(tcp({ from: 'outside', src: '10.1.1.11', dst: '192.168.0.1', dport: 30080 })).toMatchObject({
      src: MASQ,
      dst: '10.1.1.11',
    });

    // An agent restart finds everything as desired.
    expect((await lab.restartAgent().resync({ desired: items })).counts).toEqual(noChanges);
  });

  it('a pod reaching its own Service lands on itself, its source translated', async () => {
    await lab.scheduler.commit([
      item(service('10.96.0.11', 80, [backend('10.1.1.11')], { masqueradeOutside: null })),
    ]);
    // From the pod's TAP (inside) it is NAT44-ED's in2out hairpinning: the source becomes the
    // source-NAT pool address whatever the mapping's flags — so it needs the node's source NAT
    // (which every node renders).
    const inside = { from: 'inside', src: '10.1.1.11', dst: '10.96.0.11', dport: 80 } as const;
    expect(tcp(inside)).toMatchObject({ verdict: 'drop' });
    const snat = { vrf: 0, source: '10.1.1.0/24', except: [], toAddress: '' };
    expect((await lab.scheduler.commit([{ key: snatKey(0, '10.1.1.0/24'), value: snat }])).errors).toEqual(
      [],
    );
    expect(tcp(inside)).toEqual({
      verdict: 'translated',
      src: '192.168.0.1',
      dst: '10.1.1.11',
      dport: 8080,
    });
  });

  it('repairs a missing twice-NAT address (the source NAT item’s) and a mapping whose flags drifted', async () => {
    const items = [
      NODE_SNAT,
      item(service('10.96.0.11', 80, [backend('10.1.1.11')], { masqueradeOutside: null })),
    ];
    await lab.scheduler.commit(items);
    lab.fake.state.nat.twiceNatAddresses.clear();
    expect(tcp({ from: 'outside', src: '10.1.1.11', dst: '10.96.0.11', dport: 80 })).toMatchObject({
      verdict: 'drop',
    });
    let rec = await lab.restartAgent().resync({ desired: items });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 1, update: 0, delete: 0 });
    expect(lines('nat44 twice-nat pool')).toEqual([`nat44 twice-nat pool ${MASQ}`]);

    const m = [...lab.fake.state.nat.static.values()][0]!;
    const k = [...lab.fake.state.nat.static.keys()][0]!;
    lab.fake.state.nat.static.set(k, { ...m, flags: NAT_IS_OUT2IN_ONLY }); // self-twice-NAT lost by hand
    rec = await lab.restartAgent().resync({ desired: items });
    expect(rec.counts).toEqual({ create: 0, update: 1, delete: 0 });
    expect(lines('nat44 static')[0]).toContain('out2in-only self-twice-nat');
  });

  it('fake refuses what VPP refuses: an LB mapping off the pool without out2in-only, a shared backend', async () => {
    const nat = new NatCalls(lab.client);
    await nat.enable();
    const lb = {
      external: '10.96.0.10',
      port: 80,
      protocol: 6,
      affinity: 0,
      tag: 't',
      backends: [
        { ip: '10.1.1.11', port: 8080, probability: 50, vrf: 0 },
        { ip: '10.1.2.7', port: 8080, probability: 50, vrf: 0 },
      ],
    };
    await expect(nat.addMapping({ ...lb, flags: 0 })).rejects.toMatchObject({ retval: -6 });
    await nat.addMapping({ ...lb, flags: NAT_IS_OUT2IN_ONLY });
    const one = { ...lb, backends: [lb.backends[0]!] };
    await nat.addMapping({ ...one, external: '10.96.0.11', flags: 0 });
    await expect(nat.addMapping({ ...one, external: '10.96.0.12', flags: 0 })).rejects.toMatchObject({
      retval: -81,
    });
    await nat.addMapping({ ...one, external: '10.96.0.12', flags: NAT_IS_OUT2IN_ONLY });
  });
});

describe('vpp driver: Service without backends', () => {
  it('rejects with ICMP unreachable or drops by a route on the VIP, shared by its frontends', async () => {
    const reject = service('10.96.0.20', 80, []);
    const drop = service('10.96.0.20', 81, [], { noBackends: 'drop' });
    const served = service('10.96.0.20', 443, [backend('10.1.1.11', 8443)]);
    await lab.scheduler.commit([NODE_SNAT, item(drop), item(served)]);
    expect(lines('route 4/0 10.96.0.20')).toEqual(['route 4/0 10.96.0.20/32 drop']);
    expect(tcp({ from: 'outside', src: '192.168.0.50', dst: '10.96.0.20', dport: 81 })).toMatchObject({
      verdict: 'drop',
    });

    await lab.scheduler.commit([item(reject)]);
    // Reject wins the shared route; the port with backends is translated before the FIB.
    expect(lines('route 4/0 10.96.0.20')).toEqual(['route 4/0 10.96.0.20/32 icmp-unreachable']);
    expect(tcp({ from: 'inside', src: '10.1.1.11', dst: '10.96.0.20', dport: 80 })).toEqual({
      verdict: 'icmp-unreachable',
    });
    expect(tcp({ from: 'outside', src: '192.168.0.50', dst: '10.96.0.20', dport: 443 })).toMatchObject({
      verdict: 'translated',
      dst: '10.1.1.11',
      dport: 8443,
    });
    const all = [NODE_SNAT, item(reject), item(drop), item(served)];
    expect((await lab.restartAgent().resync({ desired: all })).counts).toEqual(noChanges);

    // The rejecting frontend gets a backend: the route falls back to drop, then goes.
    await lab.scheduler.commit([item({ ...reject, backends: [backend('10.1.2.7')] })]);
    expect(lines('route 4/0 10.96.0.20')).toEqual(['route 4/0 10.96.0.20/32 drop']);
    await lab.scheduler.commit([{ key: item(drop).key, value: null }]);
    expect(lines('route 4/0 10.96.0.20')).toEqual([]);
  });

  it('a load-balancer IP restricted to source ranges stays closed (no source match in a mapping), not open', async () => {
    const lb = service('192.0.2.60', 80, [backend('10.1.1.11')], {
      kind: 'load-balancer',
      masqueradeOutside: [],
      sourceRanges: ['198.51.100.0/24'],
    });
    await lab.scheduler.commit([NODE_SNAT, item(lb)]);
    expect(lines('route 4/0 192.0.2.60')).toEqual(['route 4/0 192.0.2.60/32 drop']);
    expect(lines('nat44 ').filter((l) => l.includes('192.0.2.60'))).toEqual([]);
    for (const src of ['198.51.100.9', '203.0.113.9'])
      expect(tcp({ from: 'outside', src, dst: '192.0.2.60', dport: 80 })).toMatchObject({ verdict: 'drop' });
    expect((await lab.restartAgent().resync({ desired: [NODE_SNAT, item(lb)] })).counts).toEqual(noChanges);
    // The ranges removed: served, the route gone.
    const { sourceRanges: _, ...open } = lb;
    await lab.scheduler.commit([item(open)]);
    expect(lines('route 4/0 192.0.2.60')).toEqual([]);
    expect(tcp({ from: 'outside', src: '203.0.113.9', dst: '192.0.2.60', dport: 80 })).toMatchObject({
      verdict: 'translated',
      dst: '10.1.1.11',
    });
  });

  it('repairs a lost or wrong VIP route on resync; a node port gets none', async () => {
    const reject = service('10.96.0.21', 80, []);
    const nodePort = service('node', 30081, [], { kind: 'node-port', noBackends: 'drop' });
    const items = [item(reject), item(nodePort)];
    await lab.scheduler.commit(items);
    expect(lines('route 4/0 10.96.0.21')).toEqual(['route 4/0 10.96.0.21/32 icmp-unreachable']);
    expect(lines('route 4/0 192.168.0.1/32')).toEqual([]);

    lab.fake.state.routes.get('4/0')!.delete('10.96.0.21/32');
    let rec = await lab.restartAgent().resync({ desired: items });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 1, update: 0, delete: 0 });
    expect(lines('route 4/0 10.96.0.21')).toEqual(['route 4/0 10.96.0.21/32 icmp-unreachable']);

    // A drop route where reject is desired is rewritten.
    const r = lab.fake.state.routes.get('4/0')!.get('10.96.0.21/32')!;
    lab.fake.state.routes
      .get('4/0')!
      .set('10.96.0.21/32', { ...r, paths: [{ sw_if_index: 0xffffffff, type: 2 }] });
    rec = await lab.restartAgent().resync({ desired: items });
    expect(rec.counts).toEqual({ create: 1, update: 0, delete: 0 });
    expect(lines('route 4/0 10.96.0.21')).toEqual(['route 4/0 10.96.0.21/32 icmp-unreachable']);
    expect((await lab.restartAgent().resync({ desired: items })).counts).toEqual(noChanges);
  });

  it('without the uplink option: a frontend with backends fails saying why, one without still routes', async () => {
    const scheduler = new KvScheduler({
      driver: vppDriverWith(lab.client),
      logger: silentLogger(),
      retry: { auto: false },
    });
    const rec = await scheduler.commit([
      item(service('10.96.0.30', 80, [backend('10.1.1.11')])),
      item(service('10.96.0.31', 80, [])),
    ]);
    expect(rec.errors.map((e) => [e.key, String(e.error)])).toEqual([
      [serviceKey(0, 'TCP', '10.96.0.30', 80), expect.stringContaining('driver option `uplink`')],
    ]);
    expect(lines('nat44 static')).toEqual([]);
    expect(lines('route 4/0 10.96.0.31')).toEqual(['route 4/0 10.96.0.31/32 icmp-unreachable']);
  });
});

describe('vpp driver: Services from pods, as cnat translations', () => {
  // A pod interface in VRF 0: cnat's feature and the pod table come with it.
  const podItf = async (): Promise<void> => {
    const rec = await lab.scheduler.commit([...node1(), ...podItems(nodes[0]!, pod(1))]);
    expect(rec.errors).toEqual([]);
  };
  const fromPod = (dst: string, dport: number, pick = 0, src = '10.1.1.11'): ReturnType<typeof natPath> =>
    tcp({ from: 'inside', interface: 'tap0', src, dst, dport, pick });

  it('translates every frontend pods reach by address, beside its NAT44 mapping; none for node ports', async () => {
    await podItf();
    const cluster = service('10.96.0.40', 80, [backend('10.1.1.11'), backend('10.1.2.7')]);
    const nodePort = service('node', 30040, [backend('10.1.2.7')], {
      kind: 'node-port',
      masqueradeOutside: [],
    });
    const external = service('203.0.113.40', 80, [backend('10.1.2.7')], { kind: 'external-ip' });
    expect((await lab.scheduler.commit([item(cluster), item(nodePort), item(external)])).errors).toEqual([]);
    expect(lines('cnat translation')).toEqual([
      'cnat translation 10.96.0.40:80:6 -> 10.1.1.11:8080 10.1.2.7:8080',
      'cnat translation 203.0.113.40:80:6 -> 10.1.2.7:8080',
    ]);
    expect(lines('cnat snat')).toEqual(['cnat snat 169.254.1.2 policy 2']);
    expect(lines('cnat feature tap0')).toHaveLength(1);
    // From the pod: every backend by cnat's pick, the pod's address kept; on itself, the
    // hairpin address (its reply comes back through VPP).
    expect(fromPod('10.96.0.40', 80, 1)).toEqual({
      verdict: 'translated',
      src: '10.1.1.11',
      dst: '10.1.2.7',
      dport: 8080,
    });
    expect(fromPod('10.96.0.40', 80, 0)).toEqual({
      verdict: 'translated',
      src: '169.254.1.2',
      dst: '10.1.1.11',
      dport: 8080,
    });
    // From the outside world: NAT44-ED as before.
    expect(
      tcp({ from: 'outside', src: '192.168.0.50', dst: '10.96.0.40', dport: 80, pick: 1 }),
    ).toMatchObject({
      verdict: 'translated',
      dst: '10.1.2.7',
    });
    expect(
      (
        await lab.restartAgent().resync({
          desired: [
            ...node1(),
            ...podItems(nodes[0]!, pod(1)),
            item(cluster),
            item(nodePort),
            item(external),
          ],
        })
      ).counts,
    ).toEqual(noChanges);
  });

  it('follows the backends in place, removes the translation with the last one and with the Service', async () => {
    const cluster = service('10.96.0.41', 80, [backend('10.1.1.11')]);
    await lab.scheduler.commit([item(cluster)]);
    const id = [...lab.fake.state.cnat.translations.keys()];
    await lab.scheduler.commit([item({ ...cluster, backends: [backend('10.1.1.11'), backend('10.1.3.9')] })]);
    expect(lines('cnat translation')).toEqual([
      'cnat translation 10.96.0.41:80:6 -> 10.1.1.11:8080 10.1.3.9:8080',
    ]);
    expect([...lab.fake.state.cnat.translations.keys()]).toEqual(id);
    // No backend left: no translation, the VIP rejects by its route.
    await lab.scheduler.commit([item({ ...cluster, backends: [] })]);
    expect(lines('cnat translation')).toEqual([]);
    expect(lines('route 4/0 10.96.0.41')).toEqual(['route 4/0 10.96.0.41/32 icmp-unreachable']);
    await lab.scheduler.commit([item(cluster)]);
    expect(lines('cnat translation')).toHaveLength(1);
    await lab.scheduler.commit([{ key: item(cluster).key, value: null }]);
    expect(lines('cnat translation')).toEqual([]);
  });

  it('serves pods every in-cluster backend under the Local policy, and no translation where cnat cannot say it', async () => {
    const local = service('192.0.2.42', 80, [backend('10.1.1.11')], {
      kind: 'load-balancer',
      masqueradeOutside: null,
      inCluster: { sources: ['10.1.0.0/16'], backends: [backend('10.1.1.11'), backend('10.1.2.7')] },
    });
    const restricted = service('192.0.2.43', 80, [backend('10.1.1.11')], {
      kind: 'load-balancer',
      sourceRanges: ['198.51.100.0/24'],
    });
    const blue = service('10.96.0.44', 80, [backend('10.5.1.11')], { vrf: 5 });
    await lab.scheduler.commit([item(local), item(restricted)]);
    expect(lines('cnat translation')).toEqual([
      'cnat translation 192.0.2.42:80:6 -> 10.1.1.11:8080 10.1.2.7:8080',
    ]);
    expect(translationOf(blue)).toBeUndefined();
    expect(translationOf({ ...local, affinitySeconds: 10800 })?.flowHash).toBe(FLOW_HASH_SRC_IP);
    expect(translationOf(local)?.flowHash).toBe(0);
  });

  it('makes the translation again when affinity changes (VPP keeps a flow hash from creation)', async () => {
    const cluster = service('10.96.0.46', 80, [backend('10.1.1.11'), backend('10.1.2.7')]);
    await lab.scheduler.commit([item(cluster)]);
    const made = 'cnat translation 10.96.0.46:80:6 -> 10.1.1.11:8080 10.1.2.7:8080';
    expect(lines('cnat translation')).toEqual([made]);
    for (const [affinitySeconds, want] of [
      [10800, `${made} hash ${FLOW_HASH_SRC_IP}`],
      [10800, `${made} hash ${FLOW_HASH_SRC_IP}`],
      [0, made],
    ] as const) {
      expect((await lab.scheduler.commit([item({ ...cluster, affinitySeconds })])).errors).toEqual([]);
      expect(lines('cnat translation')).toEqual([want]);
    }
    // Backends change in place and keep the hash.
    await lab.scheduler.commit([item({ ...cluster, affinitySeconds: 60 })]);
    await lab.scheduler.commit([item({ ...cluster, affinitySeconds: 60, backends: [backend('10.1.1.11')] })]);
    expect(lines('cnat translation')).toEqual([
      `cnat translation 10.96.0.46:80:6 -> 10.1.1.11:8080 hash ${FLOW_HASH_SRC_IP}`,
    ]);
  });

  it('repairs a translation lost or changed by hand, and deletes one no Service wants', async () => {
    const cluster = service('10.96.0.45', 80, [backend('10.1.1.11'), backend('10.1.2.7')]);
    await lab.scheduler.commit([item(cluster)]);
    const cnatState = lab.fake.state.cnat;
    const [id, t] = [...cnatState.translations][0]!;
    cnatState.translations.set(id, { ...t, paths: (t['paths'] as VppFields[]).slice(0, 1) });
    let rec = await lab.restartAgent().resync({ desired: [item(cluster)] });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 1, delete: 0 });
    expect(lines('cnat translation')).toEqual([
      'cnat translation 10.96.0.45:80:6 -> 10.1.1.11:8080 10.1.2.7:8080',
    ]);

    cnatState.translations.clear();
    rec = await lab.restartAgent().resync({ desired: [item(cluster)] });
    expect(rec.counts).toEqual({ create: 0, update: 1, delete: 0 });
    expect(lines('cnat translation')).toHaveLength(1);

    // One left over by a Service deleted while the agent was down.
    await new CnatCalls(lab.client).update({
      vip: '10.96.0.46',
      port: 53,
      protocol: 17,
      backends: [{ ip: '10.1.1.11', port: 5353 }],
      flowHash: 0,
    });
    rec = await lab.restartAgent().resync({ desired: [item(cluster)] });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 1 });
    expect(lines('cnat translation')).toEqual([
      'cnat translation 10.96.0.45:80:6 -> 10.1.1.11:8080 10.1.2.7:8080',
    ]);
    expect((await lab.restartAgent().resync({ desired: [item(cluster)] })).counts).toEqual(noChanges);
  });

  it('a Service deleted while the agent was down goes whole: its mapping and its translation', async () => {
    const cluster = service('10.96.0.48', 80, [backend('10.1.1.11'), backend('10.1.2.7')]);
    const kept = service('10.96.0.49', 80, [backend('10.1.1.11')]);
    await lab.scheduler.commit([item(cluster), item(kept)]);
    expect(lines('cnat translation')).toHaveLength(2);
    const rec = await lab.restartAgent().resync({ desired: [item(kept)] });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 1 });
    expect(lines('cnat translation')).toEqual(['cnat translation 10.96.0.49:80:6 -> 10.1.1.11:8080']);
    expect(lines('nat44 lb')).toEqual([]);
  });

  it('on a VPP without cnat’s feature arc: NAT44-ED alone, no cnat call', async () => {
    const old = await driverLab(
      {},
      { omit: ['feature_cnat_enable_disable', 'feature_cnat_enable_disable_reply'] },
    );
    try {
      const cluster = service('10.96.0.47', 80, [backend('10.1.1.11'), backend('10.1.2.7')]);
      const rec = await old.scheduler.commit([...node1(), ...podItems(nodes[0]!, pod(1)), item(cluster)]);
      expect(rec.errors).toEqual([]);
      expect(old.requests.filter((r) => r.includes('cnat'))).toEqual([]);
      expect(renderState(old.fake.state)).not.toContain('cnat');
      expect(renderState(old.fake.state)).toContain('nat44 lb 10.96.0.47:80:6');
    } finally {
      await old.close();
    }
  });
});

describe('vpp driver: a VIP with cnat’s entry and a verdict route beneath it', () => {
  it('resyncs without changes though the route cannot be read under cnat’s entry', async () => {
    const served = service('10.96.0.50', 80, [backend('10.1.1.11')]);
    const empty = service('10.96.0.50', 81, []);
    await lab.scheduler.commit([item(served), item(empty)]);
    // The API route is there, beneath cnat's entry for the VIP.
    expect(lines('route 4/0 10.96.0.50')).toEqual(['route 4/0 10.96.0.50/32 icmp-unreachable']);
    expect(lines('cnat translation')).toEqual(['cnat translation 10.96.0.50:80:6 -> 10.1.1.11:8080']);
    expect((await lab.restartAgent().resync({ desired: [item(served), item(empty)] })).counts).toEqual(
      noChanges,
    );
    // The translation gone (no backend left), the route shows again and is still right.
    await lab.scheduler.commit([item({ ...served, backends: [] })]);
    expect(lines('cnat translation')).toEqual([]);
    expect(
      (await lab.restartAgent().resync({ desired: [item({ ...served, backends: [] }), item(empty)] })).counts,
    ).toEqual(noChanges);
  });
});
