// Custom-network VRFs over the fake kernel: the whole node as text, zero changes on an
// unchanged resync, repair of rules and flags changed by hand, and nothing left after removal.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/logging.ts';
import { addressKey, snatKey, vrfKey } from '../../items/keys.ts';
import type { Item } from '../../scheduler/descriptor.ts';
import { KvScheduler } from '../../scheduler/scheduler.ts';
import { linuxDriverWith } from './driver.ts';
import { FakeKernel } from './fake/kernel.ts';
import { ruleLine } from './kernel/rules.ts';
import {
  isolationItems,
  networkNodeItems,
  networkPodItems,
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
const B: TestNetwork = { id: 6, name: 'default/b', vni: 21, octet: 3 };
const pod = (name: string, ip: string, host: string): TestPod => ({
  namespace: 'default',
  name,
  containerId: `c-${name}`,
  netns: `/run/netns/${name}`,
  ip,
  hostIfName: host,
});
const p0 = pod('p0', '10.1.1.11', 'nlp0');
const pa = pod('pa', '10.2.1.11', 'nlpa');
const pb = pod('pb', '10.3.1.11', 'nlpb');

const desired = (): Item[] => [
  ...nodeItems(nodes[0]!, nodes),
  ...isolationItems([A, B]),
  ...networkNodeItems(nodes[0]!, nodes, A),
  ...networkNodeItems(nodes[0]!, nodes, B),
  ...podItems(nodes[0]!, p0),
  ...networkPodItems(nodes[0]!, pa, A),
  ...networkPodItems(nodes[0]!, pb, B),
];

function setup() {
  const kernel = new FakeKernel();
  for (const p of [p0, pa, pb]) kernel.namespaces.add(p.netns);
  const scheduler = () =>
    new KvScheduler({
      driver: linuxDriverWith(kernel.ports),
      logger: silentLogger(),
      retry: { auto: false },
    });
  return { kernel, s: scheduler(), scheduler };
}

describe('custom-network VRFs over the fake kernel', () => {
  it("puts each network in its table, selected by rules, with its gateway off main's routes", async () => {
    const { kernel, s } = setup();
    const rec = await s.resync({ desired: desired() });
    expect(rec.errors).toEqual([]);
    expect(s.statuses().every((st) => st.state === 'configured')).toBe(true);
    const lines = kernel.dump().split('\n');
    const vrfLines = lines.filter((l) => /1005|1006|10\.[23]\.|nlvx2[01]/.test(l));
    expect(vrfLines).toEqual(
      [
        'addr 10.2.1.1/24 noprefixroute metric 5',
        'addr 10.3.1.1/24 noprefixroute metric 6',
        'fdb nlvx20 02:00:00:14:00:02 dst 192.168.0.2',
        'fdb nlvx21 02:00:00:15:00:02 dst 192.168.0.2',
        'neigh nlvx20 169.254.128.2 02:00:00:14:00:02',
        'neigh nlvx21 169.254.128.2 02:00:00:15:00:02',
        'route 1005 unicast 10.2.1.11/32 dev nlpa',
        'route 1005 unicast 10.2.2.0/24 via 169.254.128.2 dev nlvx20 onlink',
        'route 1006 unicast 10.3.1.11/32 dev nlpb',
        'route 1006 unicast 10.3.2.0/24 via 169.254.128.2 dev nlvx21 onlink',
        'route main unreachable 10.2.0.0/16',
        'route main unreachable 10.3.0.0/16',
        'rule from 10.2.0.0/16 lookup 1005 pref 1000',
        'rule from 10.2.0.0/16 table 1005 unreachable pref 1001',
        'rule from 10.3.0.0/16 lookup 1006 pref 1000',
        'rule from 10.3.0.0/16 table 1006 unreachable pref 1001',
        'rule iif nlvx20 lookup 1005 pref 1000',
        'rule iif nlvx21 lookup 1006 pref 1000',
        'rule to 10.2.0.0/16 iif lo lookup 1005 pref 1000',
        'rule to 10.3.0.0/16 iif lo lookup 1006 pref 1000',
        'veth nlpa mtu 1450 up alias pod-interface/default/pa/eth0 peer /run/netns/pa:eth0 mac 0a:58:0a:02:01:0b mtu 1450 addrs 10.2.1.11/32 default',
        'veth nlpb mtu 1450 up alias pod-interface/default/pb/eth0 peer /run/netns/pb:eth0 mac 0a:58:0a:03:01:0b mtu 1450 addrs 10.3.1.11/32 default',
        'vxlan nlvx20 id 20 local 192.168.0.1 port 4789 mtu 1450 mac 02:00:00:14:00:01',
        'vxlan nlvx21 id 21 local 192.168.0.1 port 4789 mtu 1450 mac 02:00:00:15:00:01',
      ].sort(),
    );
    // VRF 0 is as before: its pod's /32 in main, its gateway with its prefix route.
    expect(lines).toContain('route main unicast 10.1.1.11/32 dev nlp0');
    expect(lines).toContain('addr 10.1.1.1/24');
    // The wired /32 of a VRF's pod was claimed by its route item: no second route call.
    expect(kernel.calls.filter((c) => c.startsWith('route replace 10.2.1.11'))).toEqual([]);
  });

  it('makes zero changes when a restarted agent resyncs an unchanged node', async () => {
    const { kernel, s, scheduler } = setup();
    await s.resync({ desired: desired() });
    const before = kernel.changes().length;
    const again = scheduler();
    const rec = await again.resync({ desired: desired() });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(kernel.changes().length).toBe(before);
  });

  it('repairs a rule, a table route and a gateway flag changed by hand, and nothing else', async () => {
    const { kernel, s } = setup();
    await s.resync({ desired: desired() });
    const good = kernel.dump();
    const guard = [...kernel.rules.keys()].find((k) => k.includes('unreachable') && k.includes('1005'))!;
    kernel.rules.delete(guard);
    kernel.routes.delete('1006|10.3.1.11/32');
    kernel.addresses.set('10.2.1.1/24', { cidr: '10.2.1.1/24', noprefixroute: false, metric: 5 });
    // A stray rule of netloom's shape for a VRF nobody wants.
    const stray = { pref: 1000, action: 'lookup' as const, table: 1042, from: '10.42.0.0/16' };
    kernel.rules.set(ruleLine('add', stray, 0), stray);
    const rec = await s.resync();
    expect(rec.errors).toEqual([]);
    expect(kernel.dump()).toBe(good);
    // vrf/5 and the address updated in place (no re-wired pods), the route re-made, the stray
    // VRF deleted.
    expect(rec.counts).toEqual({ create: 1, update: 2, delete: 1 });
  });

  it('removes every rule, table route, VXLAN device and veth with the items', async () => {
    const { kernel, s } = setup();
    await s.resync({ desired: desired() });
    const rec = await s.resync({ desired: [...nodeItems(nodes[0]!, nodes), ...podItems(nodes[0]!, p0)] });
    expect(rec.errors).toEqual([]);
    const dump = kernel.dump();
    expect(dump).not.toMatch(/rule |100[56]|10\.[23]\.|nlvx2|nlp[ab]/);
  });

  it('refuses what this driver cannot do in a VRF with a clear reason', async () => {
    const { s } = setup();
    await s.commit([
      {
        key: snatKey(5, '10.2.1.0/24'),
        value: { vrf: 5, source: '10.2.1.0/24', except: [], toAddress: '' },
      },
      { key: vrfKey(7), value: { id: 7, network: 'x', subnets: [] } },
      { key: vrfKey(8), value: { id: 8, network: 'y', subnets: ['fd00:8::/64'] } },
      { key: vrfKey(9), value: { id: 9, network: 'z', subnets: ['10.9.1.0/16'] } },
      {
        key: addressKey(5, 'fd00::1'),
        value: { vrf: 5, address: 'fd00::1/64', role: 'pod-gateway' },
      },
    ]);
    const why = (key: string) => {
      const st = s.status(key);
      expect(st?.state).toBe('invalid');
      return JSON.stringify(st);
    };
    expect(why(snatKey(5, '10.2.1.0/24'))).toContain('except is empty: in a custom network');
    expect(why(vrfKey(7))).toContain('no subnets');
    expect(why(vrfKey(8))).toContain('IPv6 in a custom network');
    expect(why(vrfKey(9))).toContain('host bits set (the network is 10.9.0.0/16)');
    expect(why(addressKey(5, 'fd00::1'))).toContain('IPv6 in a custom network');
  });
});
