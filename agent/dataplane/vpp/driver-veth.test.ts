// The veth + af_packet form of pod interfaces (descriptors/pod-veth.ts) under the KV scheduler,
// against the fake VPP over its socket and the Linux driver's fake kernel for the veth pairs:
// both sides as desired after create, zero changes on a restart, drift on either side repaired,
// nothing left anywhere by a failure midway, both sides gone on delete, and the routes a TAP
// cannot give a pod side.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/logging.ts';
import { podInterfaceKey } from '../../items/keys.ts';
import type { PodInterface } from '../../items/values.ts';
import type { Item } from '../../scheduler/descriptor.ts';
import { KvScheduler } from '../../scheduler/scheduler.ts';
import { FakeKernel } from '../linux/fake/kernel.ts';
import { extraInterfaceItems, networkNodeItems, podItems, type TestNetwork } from '../linux/test-items.ts';
import { VppApiError } from './api/errors.ts';
import { vppDriverWith } from './driver.ts';
import { renderState } from './fake/render.ts';
import { AF_PACKET_MAC, hostVethMac } from './naming.ts';
import { UPLINK, driverLab, type DriverLab } from './testing/driver-lab.ts';
import { node1, nodes, pod } from './testing/items.ts';
import type { VppApi } from './vpp-api.ts';

const KEY1 = podInterfaceKey('default', 'p1', 'eth0');
const MAC1 = hostVethMac(KEY1);
const POD1_VPP = [
  `if host-nlp1 tag ${KEY1} up mtu 1450 unnumbered loop0 proxy-arp af-packet nlp1 mac ${AF_PACKET_MAC}`,
  'nat44 host-nlp1 inside',
  'cnat feature host-nlp1',
  'cnat pod host-nlp1',
  'neighbor host-nlp1 10.1.1.11 0a:58:0a:01:01:0b',
  'route 4/0 10.1.1.11/32 via host-nlp1 10.1.1.11',
];
const POD1_KERNEL = `veth nlp1 mtu 1450 up alias ${KEY1} peer /run/netns/p1:eth0 mac 0a:58:0a:01:01:0b mtu 1450 addrs 10.1.1.11/32 default hostmac ${MAC1} gwmac ${AF_PACKET_MAC}`;
const BLUE: TestNetwork = { id: 5, name: 'default/blue', vni: 4101, octet: 5 };

const vppLines = (lab: DriverLab, what: string): string[] =>
  renderState(lab.fake.state)
    .split('\n')
    .filter((l) => l.includes(what));

let kernel: FakeKernel;
let lab: DriverLab;
beforeEach(async () => {
  kernel = new FakeKernel();
  for (const i of [1, 2, 3]) kernel.namespaces.add(pod(i).netns);
  lab = await driverLab({ podInterface: 'veth', podLinks: kernel.ports.links });
});
afterEach(async () => {
  await lab.close();
});

describe('vpp driver, pod interfaces as veth + af_packet', () => {
  it('wires the pod side like Linux and gives VPP the host end, configured like a TAP', async () => {
    const rec = await lab.scheduler.commit([...node1(), ...podItems(nodes[0]!, pod(1))]);
    expect(rec.errors).toEqual([]);
    expect(vppLines(lab, 'host-nlp1')).toEqual([...POD1_VPP].sort());
    expect(kernel.dump()).toBe(POD1_KERNEL);
    expect(kernel.routes.size).toBe(0); // VPP routes the pod, not the node's kernel
    const applied = lab.scheduler.appliedItems().find((i) => i.key === KEY1);
    const itf = [...lab.fake.state.interfaces.values()].find((i) => i.name === 'host-nlp1')!;
    expect(applied?.metadata).toEqual({
      swIfIndex: itf.swIfIndex,
      hostIfName: 'host-nlp1',
      hostMac: AF_PACKET_MAC,
      mac: '0a:58:0a:01:01:0b',
      mtu: 1450,
      gateway: '169.254.1.1',
    });
  });

  it('makes no change on either side when an agent restart finds everything as desired', async () => {
    const items = [...node1(), ...[1, 2, 3].flatMap((i) => podItems(nodes[0]!, pod(i)))];
    await lab.scheduler.resync({ desired: items });
    const [vpp, host] = [renderState(lab.fake.state), kernel.dump()];
    kernel.calls.length = 0;
    const again = lab.restartAgent();
    const rec = await again.resync({ desired: items });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(kernel.changes()).toEqual([]);
    expect([renderState(lab.fake.state), kernel.dump()]).toEqual([vpp, host]);
    expect(again.statuses().every((st) => st.state === 'configured')).toBe(true);
  });

  it.each([
    [
      'VPP lost the af_packet interface',
      (s: { lab: DriverLab; kernel: FakeKernel }): void => {
        const itf = [...s.lab.fake.state.interfaces.values()].find((i) => i.name === 'host-nlp1')!;
        s.lab.fake.state.removeInterface(itf.swIfIndex);
      },
    ],
    [
      'the pod lost its default route',
      (s: { lab: DriverLab; kernel: FakeKernel }): void => {
        s.kernel.veths.get('nlp1')!.peer.defaultRoute = false;
      },
    ],
    [
      'the pod lost its address',
      (s: { lab: DriverLab; kernel: FakeKernel }): void => {
        s.kernel.veths.get('nlp1')!.peer.addresses = [];
      },
    ],
    [
      'the host veth was deleted',
      (s: { lab: DriverLab; kernel: FakeKernel }): void => {
        s.kernel.deleteLink('nlp1');
      },
    ],
    [
      'VPP’s side went down',
      (s: { lab: DriverLab; kernel: FakeKernel }): void => {
        [...s.lab.fake.state.interfaces.values()].find((i) => i.name === 'host-nlp1')!.flags = 0;
      },
    ],
  ])('repairs drift on resync: %s', async (_why, drift) => {
    await lab.scheduler.resync({ desired: [...node1(), ...podItems(nodes[0]!, pod(1))] });
    const [vpp, host] = [renderState(lab.fake.state), kernel.dump()];
    drift({ lab, kernel });
    const rec = await lab.scheduler.resync();
    expect(rec.errors).toEqual([]);
    expect([renderState(lab.fake.state), kernel.dump()]).toEqual([vpp, host]);
    expect(lab.scheduler.status(KEY1)?.state).toBe('configured');
  });

  it('rewires every pod after VPP restarts empty (its veths are found without af_packet and redone)', async () => {
    const items = [...node1(), ...podItems(nodes[0]!, pod(1))];
    await lab.scheduler.resync({ desired: items });
    const [vpp, host] = [renderState(lab.fake.state), kernel.dump()];
    await lab.restartVpp();
    const rec = await lab.scheduler.resync();
    expect(rec.errors).toEqual([]);
    expect([renderState(lab.fake.state), kernel.dump()]).toEqual([vpp, host]);
  });

  it('deletes the af_packet interface and the veth pair, and removes a veth no item wants', async () => {
    await lab.scheduler.resync({
      desired: [...node1(), ...[1, 2].flatMap((i) => podItems(nodes[0]!, pod(i)))],
    });
    await lab.scheduler.commit(podItems(nodes[0]!, pod(1)).map((i) => ({ key: i.key, value: null })));
    expect(renderState(lab.fake.state)).not.toContain('nlp1');
    expect(kernel.veths.has('nlp1')).toBe(false);
    // p2 deleted while the agent was down, and VPP restarted: only the veth is left.
    await lab.restartVpp();
    const again = lab.restartAgent();
    const rec = await again.resync({ desired: node1() });
    expect(rec.errors).toEqual([]);
    expect(kernel.veths.size).toBe(0);
    expect(renderState(lab.fake.state)).not.toContain('host-');
  });

  it('leaves nothing in VPP nor in the kernel when a VPP step fails midway, then applies on retry', async () => {
    let failMtu = false;
    const sent: string[] = [];
    const failing: VppApi = {
      request: (name, fields) => {
        sent.push(name);
        if (name === 'sw_interface_set_mtu' && failMtu) {
          failMtu = false;
          return Promise.reject(new VppApiError(name, -165));
        }
        return lab.client.request(name, fields);
      },
      dump: (name, fields) => lab.client.dump(name, fields),
    };
    const s = new KvScheduler({
      driver: vppDriverWith(failing, { uplink: UPLINK, podInterface: 'veth', podLinks: kernel.ports.links }),
      logger: silentLogger(),
      retry: { auto: false },
    });
    await s.commit(node1());
    failMtu = true; // the pod's MTU: after the veth and the af_packet interface are made
    await s.commit(podItems(nodes[0]!, pod(1)));
    expect(s.status(KEY1)?.state).toBe('retrying');
    // Both sides were made before the failure, and undone after it.
    expect(sent.filter((n) => n.startsWith('af_packet_'))).toEqual([
      'af_packet_create_v3',
      'af_packet_delete',
    ]);
    expect(kernel.calls.filter((c) => c.endsWith(' nlp1'))).toEqual(['wire nlp1', 'unwire nlp1']);
    expect([...lab.fake.state.interfaces.values()].some((i) => i.afPacket !== undefined)).toBe(false);
    expect(renderState(lab.fake.state)).not.toContain('nlp1');
    expect(kernel.veths.size).toBe(0);
    await s.retryDue(Date.now() + 60_000);
    expect(s.status(KEY1)?.state).toBe('configured');
    expect(kernel.dump()).toBe(POD1_KERNEL);
  });

  it('makes nothing in VPP when the veth cannot be wired', async () => {
    kernel.failNext('wire nlp1', 'busy');
    await lab.scheduler.commit([...node1(), ...podItems(nodes[0]!, pod(1))]);
    expect(lab.scheduler.status(KEY1)?.state).toBe('retrying');
    expect(lab.requests).not.toContain('af_packet_create_v3');
    expect(kernel.veths.size).toBe(0);
  });

  it('gives the pod side several routes and routes beside a default route (what a TAP cannot)', async () => {
    const net: Item[] = [...node1(), ...networkNodeItems(nodes[0]!, nodes, BLUE)];
    const [extra] = extraInterfaceItems({ ...pod(2), ip: '10.5.1.12', hostIfName: 'nlx2' }, BLUE);
    const wide = { ...(extra!.value as PodInterface), routes: ['10.5.0.0/16', '10.96.0.0/12'] };
    const [eth0] = podItems(nodes[0]!, pod(3));
    const both = { ...(eth0!.value as PodInterface), routes: ['10.20.0.0/16'] };
    const rec = await lab.scheduler.commit([
      ...net,
      { key: extra!.key, value: wide },
      { key: eth0!.key, value: both },
    ]);
    expect(rec.errors).toEqual([]);
    expect(lab.scheduler.status(extra!.key)?.state).toBe('configured');
    expect(lab.scheduler.status(eth0!.key)?.state).toBe('configured');
    expect(kernel.dump()).toContain(
      'peer /run/netns/p2:net1 mac 0a:58:0a:05:01:0c mtu 1450 addrs 10.5.1.12/32 routes 10.5.0.0/16,10.96.0.0/12',
    );
    expect(kernel.dump()).toContain(
      'peer /run/netns/p3:eth0 mac 0a:58:0a:01:01:0d mtu 1450 addrs 10.1.1.13/32 default routes 10.20.0.0/16',
    );
    // The extra borrows BLUE's anchor (loop2), in BLUE's table, and is no NAT44 inside interface.
    expect(vppLines(lab, 'host-nlx2')).toEqual([
      `if host-nlx2 tag ${extra!.key} up vrf 5 mtu 1450 unnumbered loop2 proxy-arp af-packet nlx2 mac ${AF_PACKET_MAC}`,
      'neighbor host-nlx2 10.5.1.12 0a:58:0a:05:01:0c',
    ]);
    const restarted = await lab.restartAgent().resync({
      desired: [...net, { key: extra!.key, value: wide }, { key: eth0!.key, value: both }],
    });
    expect(restarted.counts).toEqual({ create: 0, update: 0, delete: 0 });
  });

  it('refuses what VPP’s side cannot borrow an address for, and bad routes', async () => {
    const [eth0] = podItems(nodes[0]!, pod(1));
    const v = eth0!.value as PodInterface;
    const bad: [string, PodInterface][] = [
      ['VRF 0 without a gateway', { ...v, gateway: '', routes: ['10.1.0.0/16'] }],
      ['a route with host bits', { ...v, routes: ['10.1.1.0/16'] }],
      ['an IPv6 route', { ...v, routes: ['fd00::/64'] }],
      ['a host interface name Linux refuses', { ...v, hostIfName: 'much-too-long-for-linux' }],
    ];
    for (const [why, value] of bad) {
      await lab.scheduler.commit([...node1(), { key: KEY1, value }]);
      expect([why, lab.scheduler.status(KEY1)?.state]).toEqual([why, 'invalid']);
    }
    expect(kernel.veths.size).toBe(0);
  });

  it('refuses the veth form without a PodLinkPort when the driver is made', () => {
    expect(() => vppDriverWith(lab.client, { podInterface: 'veth' })).toThrow(/PodLinkPort/);
    expect(() => vppDriverWith(lab.client, { podInterface: 'tap' })).not.toThrow();
  });
});

describe('fake VPP af_packet, as VPP answers', () => {
  it('names the interface host-<name>, refuses a second one on the name, and a delete of none', async () => {
    const create = (name: string): Promise<Record<string, unknown>> =>
      lab.client.request('af_packet_create_v3', {
        mode: 1,
        hw_addr: Uint8Array.of(2, 0x6e, 0x6c, 0, 0, 1),
        host_if_name: name,
      });
    const r = await create('veth9');
    const itf = lab.fake.state.interfaces.get(r['sw_if_index'] as number)!;
    expect([itf.name, itf.devType]).toEqual(['host-veth9', 'af-packet']);
    await expect(create('veth9')).rejects.toMatchObject({ retval: -79 });
    await expect(
      lab.client.request('af_packet_create_v3', { mode: 0, host_if_name: 'veth8' }),
    ).rejects.toMatchObject({ retval: -7 });
    expect(await lab.client.dump('af_packet_dump')).toEqual([
      expect.objectContaining({ sw_if_index: itf.swIfIndex, host_if_name: 'veth9' }),
    ]);
    await lab.client.request('af_packet_delete', { host_if_name: 'veth9' });
    await expect(lab.client.request('af_packet_delete', { host_if_name: 'veth9' })).rejects.toMatchObject({
      retval: -11,
    });
    expect(await lab.client.dump('af_packet_dump')).toEqual([]);
  });
});
