// The vpp driver's veth form (agent/dataplane/vpp/descriptors/pod-veth.ts) with REAL network
// namespaces: a node namespace standing in for VPP's (the host ends of the veths) and a pod
// namespace, both made by this test, the pairs wired by the Linux driver's iproute2 pod links,
// and the fake VPP server as VPP. What the pod sees is read with `ip` inside its namespace:
// its address, the default route via 169.254.1.1, the permanent neighbour for it naming VPP's
// af_packet MAC; the node's end of the veth has another MAC. A restarted agent reads all of it
// back as desired (zero changes), and a delete leaves nothing on either side.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelPorts } from '../agent/dataplane/linux/driver.ts';
import { podItems } from '../agent/dataplane/linux/test-items.ts';
import { renderState } from '../agent/dataplane/vpp/fake/render.ts';
import { AF_PACKET_MAC, hostVethMac } from '../agent/dataplane/vpp/naming.ts';
import { driverLab, type DriverLab } from '../agent/dataplane/vpp/testing/driver-lab.ts';
import { node1, nodes, pod } from '../agent/dataplane/vpp/testing/items.ts';
import type { Item } from '../agent/scheduler/descriptor.ts';
import { netnsAvailable, skipUnless } from './harness/availability.ts';
import { Lab } from './lab/netns.ts';

const skip = skipUnless('vpp driver veth form in network namespaces', netnsAvailable());

interface IpLink {
  ifname: string;
  address: string;
  ifalias?: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
}
interface IpNeigh {
  dst: string;
  lladdr: string;
  state: string[];
}

describe.skipIf(skip)('vpp driver, veth + af_packet pod interfaces in real namespaces', () => {
  const lab = new Lab();
  let vpp: DriverLab;
  let nodeNs: string;
  let podNs: string;
  let items: Item[];
  let key: string;
  let host: string;
  const json = async <T>(netns: string, args: string[]): Promise<T[]> =>
    JSON.parse((await lab.ip(netns, ['-j', ...args])) || '[]') as T[];

  beforeAll(async () => {
    nodeNs = await lab.netns('vppnode');
    podNs = await lab.netns('pod1');
    host = `${lab.prefix}p1`;
    vpp = await driverLab({
      podInterface: 'veth',
      podLinks: kernelPorts({ hostNetns: nodeNs }).links,
    });
    const [eth0, route] = podItems(nodes[0]!, { ...pod(1), netns: podNs, hostIfName: host });
    key = eth0!.key;
    items = [...node1(), eth0!, route!];
  }, 30_000);

  afterAll(async () => {
    try {
      await vpp?.close();
    } finally {
      await lab.destroy();
    }
  });

  it('wires the pod side in its namespace, VPP’s MAC as the gateway’s, another MAC on the node end', async () => {
    const rec = await vpp.scheduler.commit(items);
    expect(rec.errors).toEqual([]);
    expect(vpp.scheduler.status(key)?.state).toBe('configured');

    const [eth0] = await json<IpLink>(podNs, ['addr', 'show', 'dev', 'eth0']);
    expect(eth0?.address).toBe('0a:58:0a:01:01:0b');
    expect(
      eth0?.addr_info?.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
    ).toEqual(['10.1.1.11/32']);
    const routes = await json<IpRoute>(podNs, ['route', 'show', 'dev', 'eth0']);
    expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '169.254.1.1' }));
    const neigh = await json<IpNeigh>(podNs, ['neigh', 'show', '169.254.1.1', 'dev', 'eth0']);
    expect(neigh.map((n) => [n.lladdr, n.state])).toEqual([[AF_PACKET_MAC, ['PERMANENT']]]);

    const [nodeEnd] = await json<IpLink>(nodeNs, ['-d', 'link', 'show', 'dev', host]);
    expect(nodeEnd?.address).toBe(hostVethMac(key));
    expect(nodeEnd?.address).not.toBe(AF_PACKET_MAC);
    expect(nodeEnd?.ifalias).toBe(`netloom:${key}`);
    // VPP reads and writes that end; no route in the node's kernel (VPP routes the pod).
    expect(renderState(vpp.fake.state)).toContain(`if host-${host} tag ${key} up mtu 1450 unnumbered loop0`);
    expect(await json<IpRoute>(nodeNs, ['route', 'show', 'dev', host])).toEqual([]);
  });

  it('reads both sides back as desired after an agent restart: zero changes', async () => {
    const rec = await vpp.restartAgent().resync({ desired: items });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
  });

  it('repairs a pod that lost its default route, then deletes both sides', async () => {
    await lab.ip(podNs, ['route', 'del', 'default']);
    const s = vpp.restartAgent();
    const rec = await s.resync({ desired: items });
    expect(rec.errors).toEqual([]);
    expect(await json<IpRoute>(podNs, ['route', 'show', 'dev', 'eth0'])).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: '169.254.1.1' }),
    );
    const del = await s.commit([{ key, value: null }]);
    expect(del.errors).toEqual([]);
    expect(await json<IpLink>(nodeNs, ['link', 'show', 'type', 'veth'])).toEqual([]);
    expect(await json<IpLink>(podNs, ['link', 'show', 'type', 'veth'])).toEqual([]);
    expect(renderState(vpp.fake.state)).not.toContain(`host-${host}`);
  });
});
