// The KV scheduler's cost against its own state size: full sync of N pods (2 items each, over
// the in-memory fake data plane), a restart-style resync (retrieve, nothing to change), and the
// latency of one pod added, changed and removed — at 1k and at 100k pods, with the ratio.
// There is no outside peer for this one: the peer is the same change at a smaller size.
// Usage: node bench/scheduler.ts [--large 100000] [--small 1000] [--repeat 200]
import { silentLogger } from '../lib/logging.ts';
import { addressKey, podInterfaceKey, routeKey } from '../agent/items/keys.ts';
import type { Item } from '../agent/scheduler/descriptor.ts';
import { fakeDriver } from '../agent/dataplane/fake/driver.ts';
import { FakeDataPlane } from '../agent/dataplane/fake/plane.ts';
import { KvScheduler } from '../agent/scheduler/scheduler.ts';

const arg = (name: string, dflt: number): number =>
  Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) || dflt;
const LARGE = arg('large', 100_000);
const SMALL = arg('small', 1_000);
const REPEAT = arg('repeat', 200);

const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

function pod(i: number, mtu = 1450): Item[] {
  const key = podInterfaceKey('bench', `pod-${i}`, 'eth0');
  return [
    {
      key,
      value: {
        namespace: 'bench',
        pod: `pod-${i}`,
        containerId: `c${i}`,
        netns: `/n/${i}`,
        ifname: 'eth0',
        hostIfName: `nl${i}`,
        mtu,
        vrf: 0,
        addresses: [`${ip(i)}/32`],
        gateway: '10.0.0.1',
        mac: '',
      },
    },
    {
      key: routeKey(0, `${ip(i)}/32`),
      value: { vrf: 0, dst: `${ip(i)}/32`, via: { type: 'interface', interface: key } },
    },
  ];
}

async function measure(
  pods: number,
): Promise<{ syncMs: number; resyncMs: number; changeUs: number; heapMiB: number }> {
  const plane = new FakeDataPlane();
  plane.recordHistory = false;
  const s = new KvScheduler({
    driver: fakeDriver(plane),
    logger: silentLogger(),
    retry: { auto: false },
    logSize: 10,
    maxOperations: 10,
  });
  const items: Item[] = [
    { key: addressKey(0, '10.0.0.1'), value: { vrf: 0, address: '10.0.0.1/8', role: 'pod-gateway' } },
  ];
  for (let i = 0; i < pods; i++) items.push(...pod(i));
  let t = performance.now();
  await s.resync({ desired: items, retrieve: false });
  const syncMs = performance.now() - t;
  const s2 = new KvScheduler({
    driver: fakeDriver(plane),
    logger: silentLogger(),
    retry: { auto: false },
    logSize: 10,
    maxOperations: 10,
  });
  t = performance.now();
  const rec = await s2.resync({ desired: items });
  const resyncMs = performance.now() - t;
  if (rec.counts.create + rec.counts.update + rec.counts.delete !== 0)
    throw new Error('restart resync changed something');
  t = performance.now();
  for (let r = 0; r < REPEAT; r++) {
    const p = pod(pods + 1 + r);
    await s2.commit(p);
    await s2.commit([{ key: p[0]!.key, value: pod(pods + 1 + r, 9000)[0]!.value }]);
    await s2.commit(p.map((i) => ({ key: i.key, value: undefined })));
  }
  const changeUs = ((performance.now() - t) / (REPEAT * 3)) * 1000;
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  return { syncMs, resyncMs, changeUs, heapMiB };
}

const small = await measure(SMALL);
const large = await measure(LARGE);
const rate = (n: number, ms: number): string =>
  `${Math.round(((2 * n) / ms) * 1000).toLocaleString('en')} items/s`;
console.log(
  `KV scheduler over the fake data plane, ${SMALL.toLocaleString('en')} vs ${LARGE.toLocaleString('en')} pods (2 items each)`,
);
console.log(
  `  full sync            ${small.syncMs.toFixed(0)} ms (${rate(SMALL, small.syncMs)})   ${large.syncMs.toFixed(0)} ms (${rate(LARGE, large.syncMs)})`,
);
console.log(`  restart resync (0 Δ) ${small.resyncMs.toFixed(0)} ms   ${large.resyncMs.toFixed(0)} ms`);
console.log(
  `  one pod add/change/remove, mean per transaction: ${small.changeUs.toFixed(1)} µs at ${SMALL}, ${large.changeUs.toFixed(1)} µs at ${LARGE}: ratio ${(large.changeUs / small.changeUs).toFixed(2)}×`,
);
console.log(`  heap after the large run: ${large.heapMiB.toFixed(0)} MiB`);
