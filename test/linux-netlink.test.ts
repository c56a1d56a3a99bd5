// The linux driver's netlink helper (agent/dataplane/linux/netlink/) against the real kernel:
// every shape of wiring made once by iproute2 (kernel/pod-links.ts) and once by the helper, in
// twin namespaces, then read back with iproute2 — links, addresses, routes in every table,
// neighbours — and compared; the driver on the helper wires two nodes whose pods reach each
// other over TCP, resyncs with zero changes, repairs a pod deleted by hand, and leaves nothing;
// a namespace that is gone, a helper killed, and a link that exists are what the driver expects.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNetlinkHelper } from '../scripts/build-netlink.ts';
import { findBun } from '../lib/bun.ts';
import { silentLogger } from '../lib/logging.ts';
import { createLinuxDriver, kernelPorts } from '../agent/dataplane/linux/driver.ts';
import { isCondition } from '../agent/dataplane/linux/errors.ts';
import { DEFAULT_NAMES } from '../agent/dataplane/linux/naming.ts';
import { NetlinkPodLinks } from '../agent/dataplane/linux/netlink/client.ts';
import { HELPER_SOURCE } from '../agent/dataplane/linux/netlink/locate.ts';
import type { PodWiring } from '../agent/dataplane/linux/ports.ts';
import { nodeItems, podItems, type TestNode, type TestPod } from '../agent/dataplane/linux/test-items.ts';
import type { Item } from '../agent/scheduler/descriptor.ts';
import { KvScheduler } from '../agent/scheduler/scheduler.ts';
import { echoMesh, startEchoServer } from './lab/echo.ts';
import { twoNodesTwoPods } from './lab/linux-nodes.ts';
import { Lab } from './lab/netns.ts';
import {
  allOf,
  bunAvailable,
  netnsAvailable,
  nftablesAvailable,
  skipUnless,
} from './harness/availability.ts';

const bun = findBun();
const skip = skipUnless(
  'linux driver netlink helper in network namespaces',
  allOf(netnsAvailable(), nftablesAvailable(), bunAvailable(bun)),
);
const lab = new Lab();

afterAll(async () => {
  await lab.destroy();
  expect(lab.leftovers()).toEqual([]);
});

/** What iproute2 shows of a namespace: links (no indexes), addresses, routes of every table, neighbours. */
async function view(netns: string): Promise<unknown> {
  const json = async (args: string[]): Promise<Record<string, unknown>[]> =>
    JSON.parse((await lab.ip(netns, ['-j', ...args])) || '[]') as Record<string, unknown>[];
  // Flags as set, not the carrier the kernel reports a moment later (NO-CARRIER, LOWER_UP).
  const operational = new Set(['NO-CARRIER', 'LOWER_UP']);
  const links = (await json(['-d', 'link', 'show'])).map((l) => ({
    ifname: l['ifname'],
    flags: ((l['flags'] as string[] | undefined) ?? []).filter((f) => !operational.has(f)),
    mtu: l['mtu'],
    address: l['address'],
    ifalias: l['ifalias'],
    kind: (l['linkinfo'] as { info_kind?: string } | undefined)?.info_kind,
  }));
  const addrs = (await json(['addr', 'show'])).map((l) => ({
    ifname: l['ifname'],
    addrs: ((l['addr_info'] as Record<string, unknown>[]) ?? [])
      .filter((a) => a['scope'] !== 'link')
      .map((a) => `${a['local'] as string}/${a['prefixlen'] as number} ${a['scope'] as string}`),
  }));
  const routes = [
    ...(await json(['route', 'show', 'table', 'all'])),
    ...(await json(['-6', 'route', 'show', 'table', 'all'])),
  ]
    .filter((r) => r['table'] !== 'local' && !String(r['dst']).startsWith('fe80'))
    .map((r) => ({ ...r, expires: undefined }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const neigh = (await json(['neigh', 'show', 'nud', 'permanent'])).sort((a, b) =>
    JSON.stringify(a).localeCompare(JSON.stringify(b)),
  );
  return { links, addrs, routes, neigh };
}

const WIRINGS: Omit<PodWiring, 'netns' | 'hostIfName'>[] = [
  {
    key: 'pod-interface/default/a/eth0',
    ifname: 'eth0',
    mtu: 1450,
    mac: '0a:58:0a:01:01:0b',
    addresses: ['10.1.1.11/32'],
    defaultRoute: true,
    hostRoutes: ['10.1.1.11/32'],
  },
  {
    key: 'pod-interface/default/dual/eth0',
    ifname: 'eth0',
    mtu: 1400,
    mac: '0a:58:0a:01:01:0c',
    addresses: ['10.1.1.12/24', 'fd00:10:1:1::c/128'],
    defaultRoute: true,
    hostRoutes: ['10.1.1.12/32', 'fd00:10:1:1::c/128'],
  },
  {
    key: 'pod-interface/blue/extra/net1',
    ifname: 'net1',
    mtu: 1450,
    mac: '0a:58:0a:05:01:0d',
    addresses: ['10.5.1.13/32'],
    defaultRoute: false,
    routes: ['10.5.0.0/16', '192.0.2.0/24'],
    hostRoutes: ['10.5.1.13/32'],
    hostTable: 1005,
    hostMac: '02:fe:00:00:00:05',
    gatewayMac: '02:fe:00:00:00:05',
  },
];

describe.skipIf(skip)('netlink helper against iproute2, real namespaces', () => {
  it('leaves the kernel as iproute2 does, for every shape of wiring, and unwires alike', async () => {
    const nodes = { ip: await lab.netns('ipn'), nl: await lab.netns('nln') };
    const ports = kernelPorts({ hostNetns: nodes.ip });
    const netlink = new NetlinkPodLinks({
      command: [bun!, HELPER_SOURCE],
      hostNetns: nodes.nl,
      names: DEFAULT_NAMES,
      reader: kernelPorts({ hostNetns: nodes.nl }).links,
    });
    try {
      for (const [i, w] of WIRINGS.entries()) {
        const pods = { ip: await lab.netns(`ipp${i}`), nl: await lab.netns(`nlp${i}`) };
        const hostIfName = `${lab.prefix}w${i}`;
        await ports.links.wire({ ...w, hostIfName, netns: pods.ip });
        await netlink.wire({ ...w, hostIfName, netns: pods.nl });
        expect(await view(nodes.nl), `${w.key}: node side`).toEqual(await view(nodes.ip));
        expect(await view(pods.nl), `${w.key}: pod side`).toEqual(await view(pods.ip));
        // Read back through the port, as retrieve does: the same answers.
        const strip = <T extends object>(x: T | undefined): unknown =>
          x === undefined ? undefined : { ...x, ifindex: 0, peerIfIndex: 0 };
        expect(strip(await netlink.podSide(pods.nl, w.ifname))).toEqual(
          strip(await ports.links.podSide(pods.ip, w.ifname)),
        );
      }
      expect((await netlink.hostVeths()).map((v) => v.key).sort()).toEqual(WIRINGS.map((w) => w.key).sort());
      for (const i of WIRINGS.keys()) await netlink.unwire(`${lab.prefix}w${i}`);
      await netlink.unwire(`${lab.prefix}w0`); // already gone: fine
      expect(await netlink.hostVeths()).toEqual([]);
      expect(await lab.ip(nodes.nl, ['route', 'show', 'table', 'all', 'proto', '78'])).toBe('');
    } finally {
      await netlink.close();
    }
  });

  it('compiled as images carry it (scripts/build-netlink.ts), wires as the source does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netloom-netlink-build-'));
    try {
      const compiled = await buildNetlinkHelper(join(dir, 'netloom-netlink'), bun);
      const nodes = { ip: await lab.netns('cipn'), nl: await lab.netns('cnln') };
      const pods = { ip: await lab.netns('cipp'), nl: await lab.netns('cnlp') };
      const netlink = new NetlinkPodLinks({
        command: [compiled],
        hostNetns: nodes.nl,
        names: DEFAULT_NAMES,
        reader: kernelPorts({ hostNetns: nodes.nl }).links,
      });
      try {
        const w = { ...WIRINGS[1]!, hostIfName: `${lab.prefix}c0` };
        await kernelPorts({ hostNetns: nodes.ip }).links.wire({ ...w, netns: pods.ip });
        await netlink.wire({ ...w, netns: pods.nl });
        expect(await view(nodes.nl)).toEqual(await view(nodes.ip));
        expect(await view(pods.nl)).toEqual(await view(pods.ip));
      } finally {
        await netlink.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a namespace that is gone, a link that exists, a helper killed: errors the driver knows, and nothing left', async () => {
    const node = await lab.netns('errn');
    const netlink = new NetlinkPodLinks({
      command: [bun!, HELPER_SOURCE],
      hostNetns: node,
      names: DEFAULT_NAMES,
      reader: kernelPorts({ hostNetns: node }).links,
    });
    try {
      const w = { ...WIRINGS[0]!, hostIfName: `${lab.prefix}e0` };
      const gone = await netlink
        .wire({ ...w, netns: '/run/netns/netloom-no-such-ns' })
        .catch((e: unknown) => e);
      expect(isCondition(gone, 'netns'), String(gone)).toBe(true);
      expect(await netlink.hostVeths()).toEqual([]);

      // The pod side fails (its eth0 is taken): the pair goes again.
      const pod = await lab.netns('errp');
      await lab.ip(pod, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
      const taken = await netlink.wire({ ...w, netns: pod }).catch((e: unknown) => e);
      expect(isCondition(taken, 'exists'), String(taken)).toBe(true);
      expect(await netlink.hostVeths()).toEqual([]);
      await lab.ip(pod, ['link', 'del', 'eth0']);

      // Killed: the next request starts another, and works.
      const helper = (netlink as unknown as { child?: { kill(s: string): void; pid?: number } }).child;
      expect(helper?.pid).toBeGreaterThan(0);
      helper!.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      await netlink.wire({ ...w, netns: pod });
      expect((await netlink.hostVeths()).map((v) => v.hostIfName)).toEqual([w.hostIfName]);
      await netlink.unwire(w.hostIfName);
    } finally {
      await netlink.close();
    }
  });
});

describe.skipIf(skip)('the linux driver on the netlink helper', () => {
  const nodes: (TestNode & { netns: string })[] = [];
  const pods = new Map<string, (TestPod & { node: string })[]>();
  const schedulers = new Map<string, KvScheduler>();
  const desired = (n: TestNode & { netns: string }): Item[] => [
    ...nodeItems(n, nodes),
    ...(pods.get(n.name) ?? []).flatMap((p) => podItems(n, p)),
  ];
  const agent = (n: TestNode & { netns: string }): KvScheduler => {
    const s = new KvScheduler({
      driver: createLinuxDriver({ hostNetns: n.netns, netlink: { command: [bun!, HELPER_SOURCE] } }),
      logger: silentLogger(),
      retry: { initialMs: 50 },
    });
    schedulers.set(n.name, s);
    return s;
  };

  beforeAll(async () => {
    const made = await twoNodesTwoPods(lab, 'd');
    nodes.push(...made.nodes);
    for (const [k, v] of made.pods) pods.set(k, v);
  });

  afterAll(async () => {
    for (const s of schedulers.values()) await s.close();
  });

  it('wires two nodes whose pods reach each other over TCP; a resync changes nothing; a pod deleted by hand is repaired', async () => {
    for (const n of nodes) expect((await agent(n).resync({ desired: desired(n) })).errors).toEqual([]);
    const all = [...pods.values()].flat();
    for (const p of all) await startEchoServer(lab, p);
    const mesh = await echoMesh(lab, all);
    expect(mesh.failures).toEqual([]);
    expect(mesh.pairs).toBe(12);
    for (const n of nodes) {
      const again = await schedulers.get(n.name)!.resync({ desired: desired(n) });
      expect(again.counts).toEqual({ create: 0, update: 0, delete: 0 });
    }
    const n1 = nodes[0]!;
    await lab.ip(n1.netns, ['link', 'del', pods.get(n1.name)![0]!.hostIfName]);
    const repaired = await schedulers.get(n1.name)!.resync({ desired: desired(n1) });
    expect(repaired.errors).toEqual([]);
    expect((await echoMesh(lab, all)).failures).toEqual([]);
    for (const n of nodes) {
      const s = schedulers.get(n.name)!;
      const gone = (pods.get(n.name) ?? [])
        .flatMap((p) => podItems(n, p))
        .map((i) => ({ key: i.key, value: undefined }));
      expect((await s.commit(gone)).errors).toEqual([]);
      expect(await lab.ip(n.netns, ['-o', 'link', 'show', 'type', 'veth'])).not.toContain(`${lab.prefix}d`);
    }
  }, 60_000);
});
