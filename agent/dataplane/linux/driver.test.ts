import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/logging.ts';
import { podInterfaceKey, routeKey, snatKey, tunnelKey, vrfKey } from '../../items/keys.ts';
import { KvScheduler } from '../../scheduler/scheduler.ts';
import { linuxDriverWith } from './driver.ts';
import { FakeKernel } from './fake/kernel.ts';
import { nodeItems, podItems, type TestNode, type TestPod } from './test-items.ts';

const nodes: TestNode[] = [
  { name: 'n1', id: 1, underlayIp: '192.168.0.1' },
  { name: 'n2', id: 2, underlayIp: '192.168.0.2' },
  { name: 'n3', id: 3, underlayIp: '192.168.0.3' },
];
const pod = (i: number): TestPod => ({
  namespace: 'default',
  name: `p${i}`,
  containerId: `c${i}`,
  netns: `/run/netns/p${i}`,
  ip: `10.1.1.${10 + i}`,
  hostIfName: `nlp${i}`,
});

function setup() {
  const kernel = new FakeKernel();
  const s = new KvScheduler({
    driver: linuxDriverWith(kernel.ports),
    logger: silentLogger(),
    retry: { auto: false },
  });
  return { kernel, s };
}

const NODE_DUMP = [
  'addr 10.1.1.1/24',
  'fdb nlvx10 02:00:00:0a:00:02 dst 192.168.0.2',
  'fdb nlvx10 02:00:00:0a:00:03 dst 192.168.0.3',
  'forwarding on',
  'nat snat/0/10.1.1.0/24 10.1.1.0/24 except 10.1.0.0/16,10.96.0.0/12 masquerade',
  'neigh nlvx10 169.254.128.2 02:00:00:0a:00:02',
  'neigh nlvx10 169.254.128.3 02:00:00:0a:00:03',
  'route main unicast 10.1.2.0/24 via 169.254.128.2 dev nlvx10 onlink',
  'route main unicast 10.1.3.0/24 via 169.254.128.3 dev nlvx10 onlink',
  'vxlan nlvx10 id 10 local 192.168.0.1 port 4789 mtu 1450 mac 02:00:00:0a:00:01',
];

describe('linux driver over the fake kernel', () => {
  it('wires a node and a pod as the kernel should hold them', async () => {
    const { kernel, s } = setup();
    kernel.namespaces.add(pod(1).netns);
    const rec = await s.commit(
      [...nodeItems(nodes[0]!, nodes), ...podItems(nodes[0]!, pod(1))].map((i) => ({
        key: i.key,
        value: i.value,
      })),
    );
    expect(rec.errors).toEqual([]);
    expect(kernel.dump()).toBe(
      [
        ...NODE_DUMP,
        'route main unicast 10.1.1.11/32 dev nlp1',
        'veth nlp1 mtu 1450 up alias pod-interface/default/p1/eth0 peer /run/netns/p1:eth0 mac 0a:58:0a:01:01:0b mtu 1450 addrs 10.1.1.11/32 default',
      ]
        .sort()
        .join('\n'),
    );
    // The pod's /32 came with its wiring: the route item found it in place (no call of its own).
    expect(kernel.calls.filter((c) => c.startsWith('route replace 10.1.1.11'))).toEqual([]);
    // The pod's metadata is what the CNI result is built from.
    const applied = s.appliedItems().find((i) => i.key === podInterfaceKey('default', 'p1', 'eth0'));
    expect(applied?.metadata).toEqual({
      hostRoutes: ['10.1.1.11/32'],
      hostIfName: 'nlp1',
      hostMac: 'ee:ee:ee:ee:ee:ee',
      mac: '0a:58:0a:01:01:0b',
      mtu: 1450,
      routeDevice: 'nlp1',
      gateway: '169.254.1.1',
    });
  });

  it('makes no change on a resync when nothing changed', async () => {
    const { kernel, s } = setup();
    for (let i = 1; i <= 5; i++) kernel.namespaces.add(pod(i).netns);
    const items = [
      ...nodeItems(nodes[0]!, nodes),
      ...[1, 2, 3, 4, 5].flatMap((i) => podItems(nodes[0]!, pod(i))),
    ];
    await s.resync({ desired: items });
    const before = kernel.changes().length;
    // A restarted agent: a fresh scheduler and driver over the same kernel.
    const again = new KvScheduler({
      driver: linuxDriverWith(kernel.ports),
      logger: silentLogger(),
      retry: { auto: false },
    });
    const rec = await again.resync({ desired: items });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(kernel.changes().length).toBe(before);
    expect(again.statuses().every((st) => st.state === 'configured')).toBe(true);
  });

  it('repairs links deleted by hand on resync, routes included', async () => {
    const { kernel, s } = setup();
    kernel.namespaces.add(pod(1).netns);
    const items = [...nodeItems(nodes[0]!, nodes), ...podItems(nodes[0]!, pod(1))];
    await s.resync({ desired: items });
    const good = kernel.dump();
    kernel.deleteLink('nlvx10');
    kernel.deleteLink('nlp1');
    expect(kernel.dump()).not.toContain('nlp1');
    const rec = await s.resync();
    expect(rec.errors).toEqual([]);
    expect(kernel.dump()).toBe(good);
    // Only what was lost: overlay, 2 tunnels, 2 peer routes, the pod and its route.
    expect(rec.counts).toEqual({ create: 7, update: 0, delete: 0 });
  });

  it("repairs a pod's route deleted by hand alone (the wiring's route is claimed only once)", async () => {
    const { kernel, s } = setup();
    kernel.namespaces.add(pod(1).netns);
    await s.resync({ desired: [...nodeItems(nodes[0]!, nodes), ...podItems(nodes[0]!, pod(1))] });
    const good = kernel.dump();
    kernel.routes.delete('main|10.1.1.11/32');
    expect(kernel.dump()).not.toBe(good);
    const rec = await s.resync();
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 1, update: 0, delete: 0 });
    expect(kernel.dump()).toBe(good);
  });

  it('deletes what netloom left behind and no item wants', async () => {
    const { kernel, s } = setup();
    for (const i of [1, 2]) kernel.namespaces.add(pod(i).netns);
    await s.resync({
      desired: [
        ...nodeItems(nodes[0]!, nodes),
        ...podItems(nodes[0]!, pod(1)),
        ...podItems(nodes[0]!, pod(2)),
      ],
    });
    // Restart with pod 2 and node 3 gone from the desired state.
    const again = new KvScheduler({
      driver: linuxDriverWith(kernel.ports),
      logger: silentLogger(),
      retry: { auto: false },
    });
    const rec = await again.resync({
      desired: [...nodeItems(nodes[0]!, nodes.slice(0, 2)), ...podItems(nodes[0]!, pod(1))],
    });
    expect(rec.errors).toEqual([]);
    const dump = kernel.dump();
    expect(dump).not.toContain('nlp2');
    expect(dump).not.toContain('10.1.1.12');
    expect(dump).not.toContain('192.168.0.3');
    expect(dump).not.toContain('10.1.3.0/24');
    expect(rec.counts.delete).toBe(4); // pod 2 + its route, tunnel to n3 + its route
  });

  it('repairs drift inside the pod and a changed peer address', async () => {
    const { kernel, s } = setup();
    kernel.namespaces.add(pod(1).netns);
    const items = [...nodeItems(nodes[0]!, nodes), ...podItems(nodes[0]!, pod(1))];
    await s.resync({ desired: items });
    const good = kernel.dump();
    kernel.veths.get('nlp1')!.peer.addresses = [];
    kernel.fdb.get('nlvx10|02:00:00:0a:00:02')!.dst = '192.168.0.99';
    const rec = await s.resync();
    expect(rec.errors).toEqual([]);
    expect(kernel.dump()).toBe(good);
  });

  it('leaves an item retrying on a busy kernel, then applies it', async () => {
    const { kernel, s } = setup();
    kernel.namespaces.add(pod(1).netns);
    kernel.failNext('wire nlp1', 'busy');
    await s.commit([...nodeItems(nodes[0]!, nodes), ...podItems(nodes[0]!, pod(1))]);
    const key = podInterfaceKey('default', 'p1', 'eth0');
    expect(s.status(key)?.state).toBe('retrying');
    expect(s.status(routeKey(0, '10.1.1.11/32'))?.state).toBe('pending');
    await s.retryDue(Date.now() + 60_000);
    expect(s.status(key)?.state).toBe('configured');
    expect(s.status(routeKey(0, '10.1.1.11/32'))?.state).toBe('configured');
  });

  it('fails a pod whose namespace is gone without retrying, and marks bad values invalid', async () => {
    const { s } = setup();
    await s.commit([...nodeItems(nodes[0]!, nodes), ...podItems(nodes[0]!, pod(1))]);
    expect(s.status(podInterfaceKey('default', 'p1', 'eth0'))?.state).toBe('failed');
    const bad = {
      ...(podItems(nodes[0]!, pod(2))[0]!.value as object),
      hostIfName: 'much-too-long-for-linux',
      vrf: 3,
    };
    await s.commit([{ key: podInterfaceKey('default', 'p2', 'eth0'), value: bad }]);
    const st = s.status(podInterfaceKey('default', 'p2', 'eth0'));
    expect(st?.state).toBe('invalid');
  });

  it('routes a peer subnet via the derived overlay next hop even when the route names the peer gateway', async () => {
    const { kernel, s } = setup();
    await s.commit(nodeItems(nodes[0]!, nodes));
    await s.commit([
      {
        key: routeKey(0, '10.1.2.0/24'),
        value: {
          vrf: 0,
          dst: '10.1.2.0/24',
          via: { type: 'interface', interface: tunnelKey(10, 'n2'), gateway: '10.1.2.1' },
        },
      },
    ]);
    expect(kernel.dump()).toContain('route main unicast 10.1.2.0/24 via 169.254.128.2 dev nlvx10 onlink');
  });

  it('updates a NAT rule in place and a tunnel whose peer moved', async () => {
    const { kernel, s } = setup();
    await s.commit(nodeItems(nodes[0]!, nodes));
    const snat = snatKey(0, '10.1.1.0/24');
    await s.commit([
      {
        key: snat,
        value: { vrf: 0, source: '10.1.1.0/24', except: ['10.1.0.0/16'], toAddress: '192.168.0.1' },
      },
      {
        key: tunnelKey(10, 'n2'),
        value: {
          vni: 10,
          vrf: 0,
          peer: 'n2',
          peerId: 2,
          remoteIp: '192.168.0.22',
          localIp: '192.168.0.1',
          port: 4789,
        },
      },
    ]);
    const dump = kernel.dump();
    expect(dump).toContain('nat snat/0/10.1.1.0/24 10.1.1.0/24 except 10.1.0.0/16 snat 192.168.0.1');
    expect(dump).toContain('fdb nlvx10 02:00:00:0a:00:02 dst 192.168.0.22');
    expect(kernel.calls.filter((c) => c.startsWith('nat add'))).toHaveLength(1);
    expect(s.status(vrfKey(1))).toBeUndefined();
  });
});
