// Cost follows the change, not the state: the same single change costs the same driver calls
// and the same graph visits at 1k pods as at 100k pods (each pod: an interface and a route,
// all sharing one gateway address, one VRF).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging.ts';
import { addressKey, podInterfaceKey, routeKey, vrfKey } from '../items/keys.ts';
import type { Address, PodInterface, Route, Vrf } from '../items/values.ts';
import type { Item } from './descriptor.ts';
import { fakeDriver } from '../dataplane/fake/driver.ts';
import { FakeDataPlane } from '../dataplane/fake/plane.ts';
import { KvScheduler } from './scheduler.ts';
import type { TxnRecord } from './txn-log.ts';

const VRF = 1;

function ip(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

function pod(i: number, mtu = 1450): Item[] {
  const ifKey = podInterfaceKey('default', `pod-${i}`, 'eth0');
  const iface: PodInterface = {
    namespace: 'default',
    pod: `pod-${i}`,
    containerId: `c${i}`,
    netns: `/var/run/netns/p${i}`,
    ifname: 'eth0',
    hostIfName: `nl${i}`,
    mtu,
    vrf: VRF,
    addresses: [`${ip(i)}/32`],
    gateway: '10.0.0.1',
    mac: '',
  };
  const route: Route = { vrf: VRF, dst: `${ip(i)}/32`, via: { type: 'interface', interface: ifKey } };
  return [
    { key: ifKey, value: iface },
    { key: routeKey(VRF, route.dst), value: route },
  ];
}

function base(): Item[] {
  const vrf: Vrf = { id: VRF, network: 'blue', subnets: ['10.0.0.0/8'] };
  const gw: Address = { vrf: VRF, address: '10.0.0.1/8', role: 'pod-gateway' };
  return [
    { key: vrfKey(VRF), value: vrf },
    { key: addressKey(VRF, '10.0.0.1'), value: gw },
  ];
}

type Cost = Pick<TxnRecord, 'visited' | 'counts'>;

async function measure(pods: number): Promise<{ add: Cost; change: Cost; remove: Cost; ms: number }> {
  const plane = new FakeDataPlane();
  plane.recordHistory = false;
  const s = new KvScheduler({ driver: fakeDriver(plane), logger: silentLogger(), retry: { auto: false } });
  const items = base();
  for (let i = 0; i < pods; i++) items.push(...pod(i));
  await s.resync({ desired: items, retrieve: false });
  expect(plane.entries.size).toBe(items.length);
  const cost = (r: TxnRecord): Cost => ({ visited: r.visited, counts: r.counts });
  const t0 = performance.now();
  const add = cost(await s.commit(pod(pods).map((i) => ({ key: i.key, value: i.value }))));
  const change = cost(await s.commit(pod(pods, 9000).slice(0, 1)));
  const remove = cost(await s.commit(pod(pods).map((i) => ({ key: i.key, value: undefined }))));
  const ms = performance.now() - t0;
  expect(plane.entries.size).toBe(items.length);
  return { add, change, remove, ms };
}

describe('KvScheduler cost', () => {
  it('one change costs the same at 100k pods as at 1k pods', async () => {
    const small = await measure(1_000);
    const large = await measure(100_000);
    expect(large.add).toEqual(small.add);
    expect(large.change).toEqual(small.change);
    expect(large.remove).toEqual(small.remove);
    // Absolute numbers, for the record: add = 2 creates, change = 1 update, remove = 2 deletes.
    expect(small.add.counts).toEqual({ create: 2, update: 0, delete: 0 });
    expect(small.change.counts).toEqual({ create: 0, update: 1, delete: 0 });
    expect(small.remove.counts).toEqual({ create: 0, update: 0, delete: 2 });
    console.log(
      `visited/driver calls: add ${JSON.stringify(small.add)}, change ${JSON.stringify(small.change)}, remove ${JSON.stringify(small.remove)}`,
    );
    console.log(
      `3 single-pod transactions: ${small.ms.toFixed(2)} ms at 1k pods, ${large.ms.toFixed(2)} ms at 100k pods`,
    );
  }, 120_000);
});
