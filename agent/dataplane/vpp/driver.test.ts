// The vpp driver under the KV scheduler against the fake VPP over its real socket: the Linux
// driver's desired-state tests (same item fixtures), plus VPP's own: restart of VPP (empty),
// VRFs, services as NAT44 mappings (policies: driver-policy.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { podInterfaceKey, routeKey, serviceKey, vrfKey, addressKey } from '../../items/keys.ts';
import type { PodInterface } from '../../items/values.ts';
import { podItems } from '../linux/test-items.ts';
import { backend, node1, nodes, pod, service } from './testing/items.ts';
import { renderState } from './fake/render.ts';
import { driverLab, type DriverLab } from './testing/driver-lab.ts';

// Tunnels and VRF 0 pods carry cnat's feature and are in its pod table (Services from pods:
// descriptors/service.ts); the first of them sets cnat's source-NAT address; the uplink has
// cnat's session lookup alone (descriptors/snat.ts).
const NODE = [
  'cnat feature vxlan_tunnel0',
  'cnat feature vxlan_tunnel1',
  'cnat pod vxlan_tunnel0',
  'cnat pod vxlan_tunnel1',
  'cnat snat 169.254.1.2 policy 2',
  'feature ip4-unicast cnat-lookup-ip4 GigabitEthernet0/8/0',
  'if GigabitEthernet0/8/0 up mtu 9000 addr 192.168.0.1/24',
  'if loop0 tag address/0/10.1.1.1 up mtu 9000 addr 10.1.1.1/24 mac 02:fe:0a:01:01:01',
  'if loop1 tag overlay/10 up mtu 9000 addr 169.254.128.1/32 mac 02:00:00:0a:00:01',
  'if vxlan_tunnel0 tag tunnel/10/n2 up mtu 1450 unnumbered loop1 vxlan 192.168.0.1 -> 192.168.0.2:4789 vni 10 l3 decap ip4-input',
  'if vxlan_tunnel1 tag tunnel/10/n3 up mtu 1450 unnumbered loop1 vxlan 192.168.0.1 -> 192.168.0.3:4789 vni 10 l3 decap ip4-input',
  'nat44 GigabitEthernet0/8/0 outside',
  'nat44 enabled',
  'nat44 identity 192.168.0.1:4789:17/0',
  'nat44 pool 192.168.0.1',
  // The node's Service masquerade address (its block's last host) and the tunnels inside, so a
  // remote backend's reply to an outside client comes back through NAT44-ED.
  'nat44 twice-nat pool 10.1.1.254',
  'nat44 vxlan_tunnel0 inside',
  'nat44 vxlan_tunnel1 inside',
  'neighbor vxlan_tunnel0 169.254.128.2 02:00:00:0a:00:02',
  'neighbor vxlan_tunnel1 169.254.128.3 02:00:00:0a:00:03',
  'proxy-arp 0/10.1.1.1-10.1.1.254',
  'route 4/0 10.1.2.0/24 via vxlan_tunnel0 169.254.128.2',
  'route 4/0 10.1.3.0/24 via vxlan_tunnel1 169.254.128.3',
];
const POD1 = [
  'cnat feature tap0',
  'cnat pod tap0',
  'if tap0 tag pod-interface/default/p1/eth0 up mtu 1450 unnumbered loop0 proxy-arp tap /run/netns/p1:eth0 mtu 1450 mac 0a:58:0a:01:01:0b ip 10.1.1.11/24 gw 10.1.1.1',
  'nat44 tap0 inside',
  'neighbor tap0 10.1.1.11 0a:58:0a:01:01:0b',
  'route 4/0 10.1.1.11/32 via tap0 10.1.1.11',
];
const golden = (...parts: string[][]): string => parts.flat().sort().join('\n');

let lab: DriverLab;
beforeEach(async () => {
  lab = await driverLab();
});
afterEach(async () => {
  await lab.close();
});

describe('vpp driver over the fake VPP: the Linux driver desired-state tests', () => {
  it('wires a node and a pod as VPP should hold them', async () => {
    const rec = await lab.scheduler.commit([...node1(), ...podItems(nodes[0]!, pod(1))]);
    expect(rec.errors).toEqual([]);
    expect(renderState(lab.fake.state)).toBe(golden(NODE, POD1));
    const applied = lab.scheduler
      .appliedItems()
      .find((i) => i.key === podInterfaceKey('default', 'p1', 'eth0'));
    const tap0 = [...lab.fake.state.interfaces.values()].find((i) => i.name === 'tap0')!;
    // The node-side end of a pod interface is VPP's TAP, by its VPP name and MAC.
    expect(applied?.metadata).toEqual({
      swIfIndex: tap0.swIfIndex,
      hostIfName: 'tap0',
      hostMac: Array.from(tap0.mac, (b) => b.toString(16).padStart(2, '0')).join(':'),
      mac: '0a:58:0a:01:01:0b',
      mtu: 1450,
      gateway: '10.1.1.1',
    });
  });

  it('makes no change on a resync when nothing changed (agent restart)', async () => {
    const items = [...node1(), ...[1, 2, 3].flatMap((i) => podItems(nodes[0]!, pod(i)))];
    await lab.scheduler.resync({ desired: items });
    const before = renderState(lab.fake.state);
    const again = lab.restartAgent();
    const rec = await again.resync({ desired: items });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(renderState(lab.fake.state)).toBe(before);
    expect(again.statuses().every((st) => st.state === 'configured')).toBe(true);
  });

  it('repairs interfaces deleted by hand on resync, routes included', async () => {
    await lab.scheduler.resync({ desired: [...node1(), ...podItems(nodes[0]!, pod(1))] });
    const good = renderState(lab.fake.state);
    const state = lab.fake.state;
    for (const itf of [...state.interfaces.values()])
      if (itf.name === 'tap0' || itf.name === 'vxlan_tunnel0') state.removeInterface(itf.swIfIndex);
    expect(renderState(state)).not.toContain('if tap0');
    const rec = await lab.scheduler.resync();
    expect(rec.errors).toEqual([]);
    expect(renderState(state)).toBe(good);
    // Only what was lost: the pod, the tunnel, and the routes through them.
    expect(rec.counts).toEqual({ create: 4, update: 0, delete: 0 });
  });

  it('deletes what netloom left behind and no item wants', async () => {
    await lab.scheduler.resync({
      desired: [...node1(), ...podItems(nodes[0]!, pod(1)), ...podItems(nodes[0]!, pod(2))],
    });
    const again = lab.restartAgent();
    const rec = await again.resync({
      desired: [...node1(nodes.slice(0, 2)), ...podItems(nodes[0]!, pod(1))],
    });
    expect(rec.errors).toEqual([]);
    const dump = renderState(lab.fake.state);
    expect(dump).not.toContain('p2');
    expect(dump).not.toContain('10.1.1.12');
    expect(dump).not.toContain('192.168.0.3');
    expect(dump).not.toContain('10.1.3.0/24');
    expect(rec.counts.delete).toBe(4); // pod 2 + its route, tunnel to n3 + its route
  });

  it('repairs drift: a pod TAP down, a route pointing elsewhere', async () => {
    await lab.scheduler.resync({ desired: [...node1(), ...podItems(nodes[0]!, pod(1))] });
    const good = renderState(lab.fake.state);
    const tap = [...lab.fake.state.interfaces.values()].find((i) => i.name === 'tap0')!;
    tap.flags = 0;
    const route = lab.fake.state.routes.get('4/0')!.get('10.1.2.0/24')!;
    (route['paths'] as { sw_if_index: number }[])[0]!.sw_if_index = tap.swIfIndex;
    const rec = await lab.scheduler.resync();
    expect(rec.errors).toEqual([]);
    expect(renderState(lab.fake.state)).toBe(good);
  });

  it('puts back the VXLAN identity mapping on the outside uplink when it is gone', async () => {
    await lab.scheduler.resync({ desired: node1() });
    const good = renderState(lab.fake.state);
    expect(good).toContain('nat44 identity 192.168.0.1:4789:17/0');
    lab.fake.state.nat.identity.clear();
    const rec = await lab.scheduler.resync();
    expect(rec.errors).toEqual([]);
    expect(rec.counts.create + rec.counts.update).toBe(1);
    expect(renderState(lab.fake.state)).toBe(good);
  });

  it('leaves items retrying while VPP is down, then applies them', async () => {
    await lab.fake.stop();
    await new Promise((r) => setTimeout(r, 20));
    const rec = await lab.scheduler.commit([...node1(), ...podItems(nodes[0]!, pod(1))]);
    expect(rec.errors.length).toBeGreaterThan(0);
    expect(rec.errors.every((e) => e.retriable)).toBe(true);
    const key = podInterfaceKey('default', 'p1', 'eth0');
    expect(lab.scheduler.status(addressKey(0, '10.1.1.1'))?.state).toBe('retrying');
    expect(lab.scheduler.status(key)?.state).toBe('pending');
    const { bootedState } = await import('./testing/driver-lab.ts');
    lab.fake = await lab.lab.start({ state: bootedState() });
    await lab.client.ready(5_000);
    for (let i = 0; i < 5 && lab.scheduler.statuses().some((s) => s.state !== 'configured'); i++)
      await lab.scheduler.retryDue(Date.now() + 600_000);
    expect(lab.scheduler.status(key)?.state).toBe('configured');
    expect(renderState(lab.fake.state)).toBe(golden(NODE, POD1));
  });

  it('marks values VPP cannot take invalid', async () => {
    const [iface] = podItems(nodes[0]!, pod(2));
    const bad = { ...(iface!.value as PodInterface), addresses: ['10.1.1.12/32', 'fd00::12/128'] };
    await lab.scheduler.commit([{ key: iface!.key, value: bad }]);
    expect(lab.scheduler.status(iface!.key)?.state).toBe('invalid');
  });
});

describe('vpp driver: VPP restarts empty', () => {
  it('a resync after the restart rebuilds everything, identical to before', async () => {
    const items = [...node1(), ...podItems(nodes[0]!, pod(1))];
    await lab.scheduler.resync({ desired: items });
    const before = renderState(lab.fake.state);
    await lab.restartVpp();
    expect(renderState(lab.fake.state)).not.toContain('tap0');
    const rec = await lab.scheduler.resync();
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: items.length, update: 0, delete: 0 });
    expect(renderState(lab.fake.state)).toBe(before);
  });
});

describe('vpp driver: VRFs, services', () => {
  it('puts a custom network in its own FIB table', async () => {
    const vrf = 10;
    const gw = { vrf, address: '10.2.1.1/24', role: 'pod-gateway' as const };
    const iface: PodInterface = {
      ...(podItems(nodes[0]!, pod(1))[0]!.value as PodInterface),
      vrf,
      addresses: ['10.2.1.5/32'],
      gateway: '10.2.1.1',
    };
    const rec = await lab.scheduler.commit([
      { key: vrfKey(vrf), value: { id: vrf, network: 'blue', subnets: ['10.2.0.0/16'] } },
      { key: addressKey(vrf, '10.2.1.1'), value: gw },
      { key: podInterfaceKey('default', 'p1', 'eth0'), value: iface },
      {
        key: routeKey(vrf, '10.2.1.5/32'),
        value: {
          vrf,
          dst: '10.2.1.5/32',
          via: { type: 'interface', interface: podInterfaceKey('default', 'p1', 'eth0') },
        },
      },
    ]);
    expect(rec.errors).toEqual([]);
    const dump = renderState(lab.fake.state);
    expect(dump).toContain('table 4/10 netloom:blue');
    expect(dump).toContain('table 6/10 netloom:blue');
    expect(dump).toContain('if loop0 tag vrf/10 up vrf 10 mtu 9000 addr 169.254.1.1/32');
    expect(dump).toContain('if loop1 tag address/10/10.2.1.1 up vrf 10 mtu 9000 addr 10.2.1.1/24');
    expect(dump).toContain('if tap0 tag pod-interface/default/p1/eth0 up vrf 10 mtu 1450 unnumbered loop1');
    expect(dump).toContain('route 4/10 10.2.1.5/32 via tap0 10.2.1.5');
    expect((await lab.restartAgent().resync({ desired: lab.scheduler.desiredItems() })).counts).toEqual({
      create: 0,
      update: 0,
      delete: 0,
    });
  });

  it('maps services to NAT44-ED static mappings, resyncs them, replaces them on change', async () => {
    const lb = serviceKey(0, 'TCP', '10.96.0.10', 80);
    const one = serviceKey(0, 'TCP', '10.96.0.11', 80);
    const np = serviceKey(0, 'TCP', 'node', 30080);
    const none = serviceKey(0, 'TCP', '10.96.0.12', 80);
    const items = [
      {
        key: lb,
        value: service('10.96.0.10', [backend('10.1.1.11', 1), backend('10.1.2.7', 3)], {
          affinitySeconds: 10800,
        }),
      },
      { key: one, value: service('10.96.0.11', [backend('10.1.1.11')]) },
      {
        key: np,
        // externalTrafficPolicy Local: the renderer kept only the local backend.
        value: service('node', [backend('10.1.1.11', 1, true)], {
          kind: 'node-port',
          port: 30080,
          noBackends: 'drop',
          masqueradeOutside: null,
        }),
      },
      { key: none, value: service('10.96.0.12', []) },
    ];
    const rec = await lab.scheduler.commit(items);
    expect(rec.errors).toEqual([]);
    const nat = renderState(lab.fake.state)
      .split('\n')
      .filter((l) => l.startsWith('nat44 lb') || l.startsWith('nat44 static'));
    expect(nat).toEqual([
      'nat44 lb 10.96.0.10:80:6 -> 10.1.1.11:8080*63 10.1.2.7:8080*191 affinity 10800 out2in-only twice-nat tag service/0/tcp/10.96.0.10/80',
      'nat44 static 10.96.0.11:80:6 -> 10.1.1.11:8080 out2in-only twice-nat tag service/0/tcp/10.96.0.11/80',
      'nat44 static 192.168.0.1:30080:6 -> 10.1.1.11:8080 out2in-only self-twice-nat tag service/0/tcp/node/30080',
    ]);
    expect((await lab.restartAgent().resync({ desired: items })).counts).toEqual({
      create: 0,
      update: 0,
      delete: 0,
    });

    await lab.scheduler.commit([
      {
        key: lb,
        value: service('10.96.0.10', [backend('10.1.2.7'), backend('10.1.3.9'), backend('10.1.3.10')]),
      },
      { key: one, value: null },
    ]);
    const after = renderState(lab.fake.state);
    expect(after).toContain(
      'nat44 lb 10.96.0.10:80:6 -> 10.1.2.7:8080*85 10.1.3.9:8080*85 10.1.3.10:8080*85 affinity 0',
    );
    expect(after).not.toContain('10.96.0.11');
  });
});
