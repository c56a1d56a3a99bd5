// Extra pod interfaces (multi-net) over the fake kernel: a pod with eth0 in the default network
// and net1 in a custom network, net1's prefixes routed inside the pod, read back on resync (zero
// changes when intact, a re-wire when they drifted), and the values the driver refuses.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/logging.ts';
import { podInterfaceKey } from '../../items/keys.ts';
import type { PodInterface } from '../../items/values.ts';
import type { Item } from '../../scheduler/descriptor.ts';
import { KvScheduler } from '../../scheduler/scheduler.ts';
import { wiredAsDesired } from './descriptors/pod-interface.ts';
import { linuxDriverWith } from './driver.ts';
import { FakeKernel } from './fake/kernel.ts';
import type { HostVeth, PodSide } from './ports.ts';
import {
  extraInterfaceItems,
  isolationItems,
  networkNodeItems,
  nodeItems,
  podItems,
  type TestNetwork,
  type TestNode,
  type TestPod,
} from './test-items.ts';

const nodes: TestNode[] = [
  { name: 'n1', id: 1, underlayIp: '192.168.0.1' },
  { name: 'n2', id: 2, underlayIp: '192.168.0.2' },
];
const A: TestNetwork = { id: 5, name: 'default/a', vni: 20, octet: 2 };
const eth0: TestPod = {
  namespace: 'default',
  name: 'm',
  containerId: 'c-m',
  netns: '/run/netns/m',
  ip: '10.1.1.20',
  hostIfName: 'nlm0',
};
const net1: TestPod = { ...eth0, ip: '10.2.1.20', hostIfName: 'nlm1' };
const net1Key = podInterfaceKey('default', 'm', 'net1');

const desired = (): Item[] => [
  ...nodeItems(nodes[0]!, nodes),
  ...isolationItems([A]),
  ...networkNodeItems(nodes[0]!, nodes, A),
  ...podItems(nodes[0]!, eth0),
  ...extraInterfaceItems(net1, A),
];

function setup() {
  const kernel = new FakeKernel();
  kernel.namespaces.add(eth0.netns);
  const scheduler = () =>
    new KvScheduler({
      driver: linuxDriverWith(kernel.ports),
      logger: silentLogger(),
      retry: { auto: false },
    });
  return { kernel, s: scheduler(), scheduler };
}

const net1Value = (): PodInterface => desired().find((i) => i.key === net1Key)!.value as PodInterface;

describe('extra pod interfaces with routes over the fake kernel', () => {
  it('wires net1 in its VRF with its routes and no default route, eth0 keeping it', async () => {
    const { kernel, s } = setup();
    const rec = await s.resync({ desired: desired() });
    expect(rec.errors).toEqual([]);
    expect(s.statuses().filter((st) => st.state !== 'configured')).toEqual([]);
    const veths = kernel
      .dump()
      .split('\n')
      .filter((l) => l.startsWith('veth nlm'));
    expect(veths).toEqual([
      'veth nlm0 mtu 1450 up alias pod-interface/default/m/eth0 peer /run/netns/m:eth0 mac 0a:58:0a:01:01:14 mtu 1450 addrs 10.1.1.20/32 default',
      'veth nlm1 mtu 1450 up alias pod-interface/default/m/net1 peer /run/netns/m:net1 mac 0a:58:0a:02:01:14 mtu 1450 addrs 10.2.1.20/32 routes 10.2.0.0/16',
    ]);
    // net1's /32 on the node is in A's table, eth0's in main.
    expect(kernel.dump()).toContain('route 1005 unicast 10.2.1.20/32 dev nlm1');
    expect(kernel.dump()).toContain('route main unicast 10.1.1.20/32 dev nlm0');
  });

  it('makes zero changes when a restarted agent resyncs, and re-wires net1 when its route drifted', async () => {
    const { kernel, s, scheduler } = setup();
    await s.resync({ desired: desired() });
    const good = kernel.dump();
    const before = kernel.changes().length;
    const again = scheduler();
    const rec = await again.resync({ desired: desired() });
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(kernel.changes().length).toBe(before);

    // The route deleted inside the pod by hand: only net1 is re-wired (its /32 item with it).
    kernel.veths.get('nlm1')!.peer.routes = [];
    const repair = await again.resync({ retrieve: true });
    expect(repair.errors).toEqual([]);
    expect(kernel.dump()).toBe(good);
    expect(
      kernel
        .changes()
        .slice(before)
        .filter((c) => c.startsWith('wire') || c.startsWith('unwire')),
    ).toEqual(['unwire nlm1', 'wire nlm1']);
  });

  it('re-wires net1 when its desired routes change, and not when only their order does', async () => {
    const { kernel, s } = setup();
    const two = (routes: string[]): Item[] =>
      desired().map((i) => (i.key === net1Key ? { key: i.key, value: { ...net1Value(), routes } } : i));
    await s.resync({ desired: two(['10.2.0.0/16', '10.20.0.0/16']) });
    const wires = () => kernel.calls.filter((c) => c === 'wire nlm1').length;
    expect(wires()).toBe(1);
    await s.resync({ desired: two(['10.20.0.0/16', '10.2.0.0/16']) });
    expect(wires()).toBe(1);
    await s.resync({ desired: two(['10.2.0.0/16']) });
    expect(wires()).toBe(2);
    expect(kernel.dump()).toContain('addrs 10.2.1.20/32 routes 10.2.0.0/16\n');
  });

  it('compares the routes a pod side shows with the wanted ones as a set', () => {
    const v = { ...net1Value(), routes: ['10.2.0.0/16', '10.20.0.0/16'] };
    const host: HostVeth = { hostIfName: 'nlm1', ifindex: 3, mtu: 1450, up: true, mac: '', peerIfIndex: 4 };
    const pod: PodSide = {
      ifname: 'net1',
      ifindex: 4,
      mac: '0a:58:0a:02:01:14',
      mtu: 1450,
      up: true,
      addresses: ['10.2.1.20/32'],
      defaultRoute: false,
      routes: ['10.20.0.0/16', '10.2.0.0/16'],
    };
    expect(wiredAsDesired(v, host, pod)).toBe(true);
    expect(wiredAsDesired(v, host, { ...pod, routes: ['10.2.0.0/16'] })).toBe(false);
    expect(wiredAsDesired(v, host, { ...pod, routes: [...pod.routes, '10.9.0.0/16'] })).toBe(false);
    expect(wiredAsDesired({ ...v, routes: undefined }, host, { ...pod, routes: [] })).toBe(true);
    expect(wiredAsDesired({ ...v, routes: undefined }, host, pod)).toBe(false);
    expect(wiredAsDesired(v, host, { ...pod, defaultRoute: true })).toBe(false);
  });

  it('refuses routes it cannot wire, with the reason', async () => {
    const { s } = setup();
    const bad: [string[], string[], string][] = [
      [['10.2.0.0/16'], ['fd00::5/128'], 'routes need an IPv4 address'],
      [['fd00:1::/64'], ['10.2.1.20/32'], 'IPv6 routes on a pod interface are not implemented'],
      [['10.2.1.0/16'], ['10.2.1.20/32'], 'host bits set (the prefix is 10.2.0.0/16)'],
      [['0.0.0.0/0'], ['10.2.1.20/32'], 'a default route is asked for with gateway'],
      [['10.2.0.0/16', '10.2.0.0/16'], ['10.2.1.20/32'], 'routes repeat'],
      [['nowhere'], ['10.2.1.20/32'], 'route "nowhere" is not a CIDR'],
    ];
    for (const [routes, addresses, why] of bad) {
      await s.commit([{ key: net1Key, value: { ...net1Value(), vrf: 0, routes, addresses } }]);
      const st = s.status(net1Key);
      expect(st?.state, why).toBe('invalid');
      expect(st?.error?.message).toContain(why);
    }
  });
});
