// Custom networks on the vpp driver (issue #15), against the fake VPP over its socket, with the
// items the networks renderer produces (the Linux driver's fixtures): a network is its own FIB
// table pair, its gateway and overlay loopbacks and tunnels bound to it, its pods' TAPs in it,
// its subnets dropped in table 0. Isolation is checked by longest-prefix lookups in the fake's
// tables, VPP's own entries included (the fake adds them as VPP does for tables and addresses).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { podInterfaceKey, routeKey, snatKey, tunnelKey, vrfKey } from '../../items/keys.ts';
import type { PodInterface, SourceNat } from '../../items/values.ts';
import type { Item } from '../../scheduler/descriptor.ts';
import {
  extraInterfaceItems,
  isolationItems,
  networkNodeItems,
  networkPodItems,
  podItems,
  type TestNetwork,
  type TestPod,
} from '../linux/test-items.ts';
import { containsIp, splitCidr } from '../../../lib/cidr.ts';
import type { VppFields } from './api/field-codecs.ts';
import { fromAddress } from './addresses.ts';
import { renderState } from './fake/render.ts';
import type { FakeVppState } from './fake/state.ts';
import { cidrOfHostRange } from './descriptors/route.ts';
import { driverLab, type DriverLab } from './testing/driver-lab.ts';
import { node1, nodes, pod } from './testing/items.ts';

const BLUE: TestNetwork = { id: 5, name: 'default/blue', vni: 4101, octet: 5 };
const GREEN: TestNetwork = { id: 6, name: 'default/green', vni: 4102, octet: 6 };
const self = nodes[0]!;

/** A pod of network `net` on node 1: address 10.<o>.1.(10+i). */
const netPod = (i: number, net: TestNetwork, hostIfName = `nlb${i}`): TestPod => ({
  ...pod(i),
  ip: `10.${net.octet}.1.${10 + i}`,
  hostIfName,
});

/** What node 1 renders with the default network, BLUE and (optionally) GREEN. */
const networkItems = (nets: readonly TestNetwork[] = [BLUE]): Item[] => [
  ...node1(),
  ...nets.flatMap((n) => networkNodeItems(self, nodes, n)),
  ...isolationItems(nets),
];

/** p1: a BLUE pod (eth0 in BLUE); p2: eth0 in the default network and net1 in BLUE. */
const pods = (): Item[] => [
  ...networkPodItems(self, netPod(1, BLUE), BLUE),
  ...podItems(self, pod(2)),
  ...extraInterfaceItems(netPod(2, BLUE, 'nlx2'), BLUE),
];

const BLUE_STATE = [
  'table 4/5 netloom:default/blue',
  'table 6/5 netloom:default/blue',
  // the anchor extra interfaces borrow, and the gateway of node 1's block
  'if loop2 tag vrf/5 up vrf 5 mtu 9000 addr 169.254.1.1/32 mac 02:fd:00:00:00:05',
  'if loop3 tag address/5/10.5.1.1 up vrf 5 mtu 9000 addr 10.5.1.1/24 mac 02:fe:0a:05:01:01',
  'if loop4 tag overlay/4101 up vrf 5 mtu 9000 addr 169.254.128.1/32 mac 02:00:10:05:00:01',
  'if vxlan_tunnel2 tag tunnel/4101/n2 up vrf 5 mtu 1450 unnumbered loop4 vxlan 192.168.0.1 -> 192.168.0.2:4789 vni 4101 l3 decap ip4-input',
  'if vxlan_tunnel3 tag tunnel/4101/n3 up vrf 5 mtu 1450 unnumbered loop4 vxlan 192.168.0.1 -> 192.168.0.3:4789 vni 4101 l3 decap ip4-input',
  'neighbor vxlan_tunnel2 169.254.128.2 02:00:10:05:00:02',
  'neighbor vxlan_tunnel3 169.254.128.3 02:00:10:05:00:03',
  'proxy-arp 5/10.5.0.1-10.5.255.254',
  'proxy-arp 5/10.5.1.1-10.5.1.254',
  // peers' blocks through the tunnels' derived next hops, the default network barred
  'route 4/5 10.5.2.0/24 via vxlan_tunnel2 169.254.128.2',
  'route 4/5 10.5.3.0/24 via vxlan_tunnel3 169.254.128.3',
  'route 4/0 10.5.0.0/16 drop',
];

const POD_STATE = [
  // p1 in BLUE: in table 5, the gateway's /24 and default route, not a NAT44 inside interface
  'if tap0 tag pod-interface/default/p1/eth0 up vrf 5 mtu 1450 unnumbered loop3 proxy-arp tap /run/netns/p1:eth0 mtu 1450 mac 0a:58:0a:05:01:0b ip 10.5.1.11/24 gw 10.5.1.1',
  'neighbor tap0 10.5.1.11 0a:58:0a:05:01:0b',
  'route 4/5 10.5.1.11/32 via tap0 10.5.1.11',
  // p2: eth0 in the default network as ever, net1 in BLUE with the network on-link, no gateway
  'if tap1 tag pod-interface/default/p2/eth0 up mtu 1450 unnumbered loop0 proxy-arp tap /run/netns/p2:eth0 mtu 1450 mac 0a:58:0a:01:01:0c ip 10.1.1.12/24 gw 10.1.1.1',
  'nat44 tap1 inside',
  // cnat (Services from pods) serves table 0 only: the default network's interface, not BLUE's
  'cnat feature tap1',
  'cnat pod tap1',
  'neighbor tap1 10.1.1.12 0a:58:0a:01:01:0c',
  'route 4/0 10.1.1.12/32 via tap1 10.1.1.12',
  'if tap2 tag pod-interface/default/p2/net1 up vrf 5 mtu 1450 unnumbered loop2 proxy-arp tap /run/netns/p2:net1 mtu 1450 mac 0a:58:0a:05:01:0c ip 10.5.1.12/16 gw -',
  'neighbor tap2 10.5.1.12 0a:58:0a:05:01:0c',
  'route 4/5 10.5.1.12/32 via tap2 10.5.1.12',
];

/** Where VPP sends a packet to `ip` in table `vrf`: the longest match's first path, VPP's entries included. */
function lookup(s: FakeVppState, vrf: number, ip: string): string {
  const routes = s.routes.get(`4/${vrf}`);
  if (routes === undefined) return 'no table';
  let best: { len: number; route: VppFields } | undefined;
  for (const [prefix, route] of routes) {
    const len = splitCidr(prefix)!.length;
    if (containsIp(prefix, ip) && (best === undefined || len > best.len)) best = { len, route };
  }
  const path = (best!.route['paths'] as VppFields[])[0]!;
  if (path['type'] === 2) return 'drop';
  if (path['type'] === 1) return 'local';
  const name = s.interfaces.get(path['sw_if_index'] as number)?.name ?? '?';
  const nh = fromAddress({ af: 0, un: (path['nh'] as VppFields | undefined)?.['address'] ?? {} });
  return nh === '0.0.0.0' || nh === '' ? name : `${name} ${nh}`;
}

let lab: DriverLab;
beforeEach(async () => {
  lab = await driverLab();
});
afterEach(async () => {
  await lab.close();
});

describe('vpp driver: custom networks', () => {
  it('renders a network as its own FIB tables, loopbacks and tunnels, its pods in them', async () => {
    const rec = await lab.scheduler.commit([...networkItems(), ...pods()]);
    expect(rec.errors).toEqual([]);
    const notConfigured = lab.scheduler.statuses().filter((st) => st.state !== 'configured');
    expect(notConfigured).toEqual([]);
    const blue = renderState(lab.fake.state)
      .split('\n')
      .filter((l) => /vrf 5|4\/5|6\/5|proxy-arp 5\/|10\.5\.|vxlan_tunnel[23]|tap[012]\b/.test(l));
    expect(blue.sort()).toEqual([...BLUE_STATE, ...POD_STATE].sort());
    // The extra interface's metadata tells the CNI result there is no gateway.
    const net1 = lab.scheduler.appliedItems().find((i) => i.key === podInterfaceKey('default', 'p2', 'net1'));
    expect(net1?.metadata).toMatchObject({ gateway: '', mtu: 1450, hostIfName: 'tap2' });
  });

  it('keeps networks apart: each table routes only its own network, table 0 drops theirs', async () => {
    const items = [
      ...networkItems([BLUE, GREEN]),
      ...pods(),
      ...networkPodItems(self, netPod(3, GREEN), GREEN),
    ];
    expect((await lab.scheduler.commit(items)).errors).toEqual([]);
    const s = lab.fake.state;
    // Inside BLUE: its pods and its peers' blocks, nothing else.
    expect(lookup(s, 5, '10.5.1.11')).toBe('tap0 10.5.1.11');
    expect(lookup(s, 5, '10.5.1.12')).toBe('tap2 10.5.1.12');
    expect(lookup(s, 5, '10.5.2.9')).toBe('vxlan_tunnel2 169.254.128.2');
    for (const outside of [
      '10.1.1.12',
      '10.1.2.7',
      '10.6.1.13',
      '10.6.2.9',
      '10.96.0.10',
      '192.168.0.9',
      '8.8.8.8',
    ])
      expect([outside, lookup(s, 5, outside)]).toEqual([outside, 'drop']);
    // GREEN likewise.
    expect(lookup(s, 6, '10.6.1.13')).toBe('tap3 10.6.1.13');
    for (const outside of ['10.5.1.11', '10.5.2.9', '10.1.1.12', '8.8.8.8'])
      expect([outside, lookup(s, 6, outside)]).toEqual([outside, 'drop']);
    // The default network reaches neither network, while it still routes its own.
    for (const inside of ['10.5.1.11', '10.5.1.12', '10.5.2.9', '10.6.1.13'])
      expect([inside, lookup(s, 0, inside)]).toEqual([inside, 'drop']);
    expect(lookup(s, 0, '10.1.1.12')).toBe('tap1 10.1.1.12');
    expect(lookup(s, 0, '10.1.2.7')).toBe('vxlan_tunnel0 169.254.128.2');
    // Decapsulated traffic lands in the tunnel's table: BLUE's VNI in 5, the default VNI in 0.
    const vrfOf = (name: string): number => [...s.interfaces.values()].find((i) => i.name === name)!.vrf4;
    expect([vrfOf('vxlan_tunnel0'), vrfOf('vxlan_tunnel2'), vrfOf('vxlan_tunnel4')]).toEqual([0, 5, 6]);
    // Only the default network's pods and tunnels are NAT44 inside interfaces (the tunnels for
    // the replies of Service backends on other nodes); BLUE's are not.
    expect(
      renderState(s)
        .split('\n')
        .filter((l) => l.endsWith(' inside')),
    ).toEqual(['nat44 tap1 inside', 'nat44 vxlan_tunnel0 inside', 'nat44 vxlan_tunnel1 inside']);
  });

  it('an agent restart changes nothing: VPP’s own entries are not taken for netloom’s', async () => {
    const items = [...networkItems([BLUE, GREEN]), ...pods()];
    await lab.scheduler.resync({ desired: items });
    const before = renderState(lab.fake.state);
    // VPP's own entries sit in the network's table (special routes, the addresses' routes, and
    // the adjacency /32 of each tunnel's static neighbour, which leaves through a tunnel
    // netloom tagged: only its FIB source says it is not netloom's).
    expect([...lab.fake.state.systemRoutes].filter((r) => r.startsWith('4/5|')).sort()).toEqual(
      [
        '0.0.0.0/0',
        '0.0.0.0/32',
        '10.5.1.0/32',
        '10.5.1.1/24', // the attached prefix, named by the address as VPP's dump does
        '10.5.1.1/32',
        '10.5.1.255/32',
        '169.254.1.1/32',
        '169.254.128.1/32',
        '169.254.128.2/32',
        '169.254.128.3/32',
        '224.0.0.0/4',
        '240.0.0.0/4',
        '255.255.255.255/32',
      ].map((p) => `4/5|${p}`),
    );
    const again = lab.restartAgent();
    const rec = await again.resync({ desired: items });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(renderState(lab.fake.state)).toBe(before);
    expect(again.statuses().every((st) => st.state === 'configured')).toBe(true);
  });

  it('repairs drift: a lost proxy-ARP range, a tunnel decapsulating to l2-input or moved out of its table', async () => {
    const items = [...networkItems(), ...pods()];
    await lab.scheduler.resync({ desired: items });
    const good = renderState(lab.fake.state);
    const s = lab.fake.state;
    s.proxyArp.delete('5/10.5.0.1-10.5.255.254');
    const t2 = [...s.interfaces.values()].find((i) => i.name === 'vxlan_tunnel2')!;
    t2.vxlan = { ...t2.vxlan!, decap_next_index: 1 }; // l2-input: what ~0 gives through the API
    const t3 = [...s.interfaces.values()].find((i) => i.name === 'vxlan_tunnel3')!;
    t3.vrf4 = 0;
    expect(renderState(s)).toContain('vni 4101 l3 decap l2-input');
    const rec = await lab.scheduler.resync();
    expect(rec.errors).toEqual([]);
    // The VRF's range in place; both tunnels (and the routes through them) made again.
    expect(rec.counts).toEqual({ create: 4, update: 1, delete: 4 });
    const after = renderState(s);
    expect(after).toContain('proxy-arp 5/10.5.0.1-10.5.255.254');
    expect(after).not.toContain('decap l2-input');
    expect(after.replace(/vxlan_tunnel\d+/g, 'T')).toBe(good.replace(/vxlan_tunnel\d+/g, 'T'));
  });

  it('removing a network leaves nothing of it and nothing else touched', async () => {
    await lab.scheduler.resync({ desired: [...networkItems(), ...pods()] });
    const rec = await lab.restartAgent().resync({ desired: [...node1(), ...podItems(self, pod(2))] });
    expect(rec.errors).toEqual([]);
    const dump = renderState(lab.fake.state);
    expect(dump).not.toMatch(/10\.5\.|vrf 5|4\/5|6\/5|4101|net1|169\.254\.1\.1/);
    expect(lab.fake.state.tables.has('4/5')).toBe(false);
    // The default network as it was: node, pod p2's eth0, VPP's table 0 entries.
    expect(dump).toContain('route 4/0 10.1.1.12/32 via tap1 10.1.1.12');
    expect(lab.fake.state.routes.get('4/0')!.has('192.168.0.1/24')).toBe(true);
  });
});

describe('vpp driver: what it refuses for networks', () => {
  it('source NAT in a network is invalid, with the reason', async () => {
    const snat: SourceNat = { vrf: 5, source: '10.5.1.0/24', except: ['10.1.0.0/16'], toAddress: '' };
    await lab.scheduler.commit([...networkItems(), { key: snatKey(5, snat.source), value: snat }]);
    const st = lab.scheduler.status(snatKey(5, snat.source));
    expect(st?.state).toBe('invalid');
    expect(JSON.stringify(st)).toMatch(/NAT44-ED/);
    expect(renderState(lab.fake.state)).not.toContain('nat44 tap');
  });

  it('routes tap_create_v3 cannot give a pod side are invalid', async () => {
    const [extra] = extraInterfaceItems(netPod(2, BLUE, 'nlx2'), BLUE);
    const v = extra!.value as PodInterface;
    const bad: [string, PodInterface][] = [
      ['two prefixes', { ...v, routes: ['10.5.0.0/16', '10.96.0.0/12'] }],
      ['a prefix without the address', { ...v, routes: ['10.7.0.0/16'] }],
      ['VRF 0 without a gateway', { ...v, vrf: 0, routes: ['10.1.0.0/16'], addresses: ['10.1.1.12/32'] }],
      ['routes beside a default route', { ...v, gateway: '10.5.1.1', routes: ['10.5.0.0/16'] }],
    ];
    for (const [why, value] of bad) {
      const key = podInterfaceKey('default', 'p2', `net${bad.findIndex(([w]) => w === why) + 1}`);
      await lab.scheduler.commit([{ key, value: { ...value, ifname: key.split('/').pop()! } }]);
      expect([why, lab.scheduler.status(key)?.state]).toEqual([why, 'invalid']);
    }
    expect(renderState(lab.fake.state)).not.toContain('tap');
  });

  it('a VRF value without subnets is invalid', async () => {
    await lab.scheduler.commit([{ key: vrfKey(5), value: { id: 5, network: 'default/blue' } }]);
    expect(lab.scheduler.status(vrfKey(5))?.state).toBe('invalid');
  });
});

describe('fake VPP: what real VPP refuses, so the driver’s order is proven', () => {
  it('no table change once an interface has or borrows an address; unnumbered only within one table', async () => {
    await lab.scheduler.commit([...networkItems()]);
    const s = lab.fake.state;
    const gw = [...s.interfaces.values()].find((i) => i.tag === 'address/5/10.5.1.1')!;
    const tunnel = [...s.interfaces.values()].find((i) => i.tag === tunnelKey(BLUE.vni, 'n2'))!;
    const setTable = (sw: number, vrf: number): Promise<unknown> =>
      lab.client.request('sw_interface_set_table', { sw_if_index: sw, is_ipv6: false, vrf_id: vrf });
    await expect(setTable(gw.swIfIndex, 0)).rejects.toMatchObject({ retval: -114 });
    await expect(setTable(tunnel.swIfIndex, 0)).rejects.toMatchObject({ retval: -114 });
    const loop = await lab.client.request('create_loopback_instance', { mac_address: new Uint8Array(6) });
    await expect(
      lab.client.request('sw_interface_set_unnumbered', {
        sw_if_index: gw.swIfIndex,
        unnumbered_sw_if_index: loop['sw_if_index'],
        is_add: true,
      }),
    ).rejects.toMatchObject({ retval: -74 });
    // The route descriptor's retrieve sees the route through the tunnel as desired.
    expect(lab.scheduler.status(routeKey(5, '10.5.2.0/24'))?.state).toBe('configured');
  });
});

describe('cidrOfHostRange (a VRF subnet read back from its proxy-ARP range)', () => {
  it('inverts hostRange4 for real subnets and refuses anything else', () => {
    expect(cidrOfHostRange('10.5.0.1', '10.5.255.254')).toBe('10.5.0.0/16');
    expect(cidrOfHostRange('10.5.1.1', '10.5.1.254')).toBe('10.5.1.0/24');
    expect(cidrOfHostRange('10.5.1.1', '10.5.1.2')).toBe('10.5.1.0/30');
    expect(cidrOfHostRange('10.5.1.2', '10.5.1.254')).toBeUndefined(); // not from the first host
    expect(cidrOfHostRange('10.5.1.1', '10.5.1.100')).toBeUndefined(); // not a power of two
    expect(cidrOfHostRange('10.5.1.129', '10.5.2.126')).toBeUndefined(); // not aligned
    expect(cidrOfHostRange('10.5.1.7', '10.5.1.7')).toBeUndefined(); // a /32: no hosts range
    expect(cidrOfHostRange('fd00::1', 'fd00::fe')).toBeUndefined();
  });
});
