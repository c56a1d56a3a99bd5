// NetworkPolicy on the linux driver with real packets: one node namespace (the driver through a
// KV scheduler), four pods on it running whoami servers, and a second "node" on the underlay
// that routes to the first node's pods. Proves: default deny, allow from a peer set, a member
// added/removed changes only set elements (nft's ruleset diff), ipBlock with except, port
// ranges, UDP, egress isolation, replies of allowed connections both ways, the node's own
// probes reaching an isolated pod while another node's address gets no free pass, viaService
// (through a Service VIP only), a new pod judged from its first packet when its policy comes in
// the same transaction as its interface, zero changes after a restart, repair of a chain
// deleted by hand; and measures 1000 pod policies over 100 sets of 100 addresses.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKernel } from '../agent/dataplane/linux/fake/kernel.ts';
import { createLinuxDriver, kernelPorts, linuxDriverWith } from '../agent/dataplane/linux/driver.ts';
import { countingRunner, spawnRunner } from '../agent/dataplane/linux/exec.ts';
import { podChain } from '../agent/dataplane/linux/policy-plan.ts';
import {
  allow,
  nodeItems,
  peerSetItem,
  podItems,
  policyItem,
  serviceItem,
  testPod,
  type TestNode,
  type TestPod,
} from '../agent/dataplane/linux/test-items.ts';
import type { PolicyRule } from '../agent/items/values.ts';
import type { Item } from '../agent/scheduler/descriptor.ts';
import { KvScheduler } from '../agent/scheduler/scheduler.ts';
import { silentLogger } from '../lib/logging.ts';
import { Lab } from './lab/netns.ts';
import { allOf, netnsAvailable, nftablesAvailable, skipUnless } from './harness/availability.ts';

const skip = skipUnless('linux policies in network namespaces', allOf(netnsAvailable(), nftablesAvailable()));
const WHOAMI = new URL('./lab/whoami.ts', import.meta.url).pathname;
const TCP = 8080;
const UDP = 8053;
/** A second server on pod 0, for port ranges. */
const TCP2 = 9090;

const lab = new Lab();
let node: TestNode & { netns: string };
let other: { netns: string; ip: string };
const pods: TestPod[] = [];
let s: KvScheduler;
/** Items beyond the node's and the pods' own: sets, policies, services; by key. */
const extra = new Map<string, Item>();

const desired = (): Item[] => [
  ...nodeItems(node, [node]),
  ...pods.flatMap((p) => podItems(node, p)),
  ...extra.values(),
];

async function commit(...items: Item[]): Promise<void> {
  for (const i of items) {
    if (i.value === undefined) extra.delete(i.key);
    else extra.set(i.key, i);
  }
  const rec = await s.commit(items);
  expect(rec.errors).toEqual([]);
}

/** Isolates pod `i` (a direction left out stays open). */
const isolate = (i: number, dirs: { ingress?: PolicyRule[]; egress?: PolicyRule[] }): Promise<void> =>
  commit(policyItem(pods[i]!, dirs));

/** Whether one connection (or datagram) from `from` to ip:port gets its answer. */
async function reaches(from: string, ip: string, port = TCP, proto: 'tcp' | 'udp' = 'tcp'): Promise<boolean> {
  const out = await lab.exec(from, process.execPath, [WHOAMI, proto, ip, String(port), '1']);
  const [a] = JSON.parse(out) as { reply?: string }[];
  return a?.reply !== undefined;
}

const nft = (args: string[]): string =>
  execFileSync('ip', ['netns', 'exec', node.netns, 'nft', ...args], { encoding: 'utf8' });
const ip = (i: number): string => pods[i]!.ip;
const ns = (i: number): string => pods[i]!.netns;

describe.skipIf(skip)('linux policies in network namespaces', () => {
  beforeAll(async () => {
    const [n1, n2] = [await lab.netns('n1'), await lab.netns('n2')];
    const [ul1, ul2] = await lab.underlay([n1, n2]);
    node = { name: 'n1', id: 1, underlayIp: ul1!.ip, netns: n1 };
    other = { netns: n2, ip: ul2!.ip };
    // The other node reaches this node's pods by plain routing (no overlay needed for that).
    await lab.ip(n2, ['route', 'add', '10.1.1.0/24', 'via', ul1!.ip]);
    for (let i = 0; i < 4; i++) pods.push(testPod(i, `/run/netns/${await lab.netns(`p${i}`)}`, lab.prefix));
    s = new KvScheduler({
      driver: createLinuxDriver({ hostNetns: n1 }),
      logger: silentLogger(),
      retry: { initialMs: 50 },
    });
    const rec = await s.resync({ desired: desired() });
    expect(rec.errors).toEqual([]);
    for (const [i, p] of pods.entries())
      await lab.start(p.netns, process.execPath, [WHOAMI, 'serve', `p${i}`, String(TCP), String(UDP)]);
    await lab.start(pods[0]!.netns, process.execPath, [WHOAMI, 'serve', 'p0b', String(TCP2), '9053']);
  });

  afterAll(async () => {
    await s?.close();
    await lab.destroy();
    expect(lab.leftovers()).toEqual([]);
  });

  it('denies every new connection to a pod isolated for ingress, except from its own node', async () => {
    expect(await reaches(ns(3), ip(0))).toBe(true);
    expect(await reaches(other.netns, ip(0))).toBe(true);
    await isolate(0, { ingress: [] });
    expect(await reaches(ns(3), ip(0))).toBe(false);
    expect(await reaches(ns(3), ip(0), UDP, 'udp')).toBe(false);
    // kubelet-style probes from the node's own namespace leave through output: allowed.
    expect(await reaches(node.netns, ip(0))).toBe(true);
    // Another node's address is forwarded and judged: no free pass.
    expect(await reaches(other.netns, ip(0))).toBe(false);
    expect(await reaches(other.netns, ip(3))).toBe(true);
    // Egress is not isolated: the pod still opens connections, and their replies come back.
    expect(await reaches(ns(0), ip(3))).toBe(true);
  });

  it('allows a peer set on one port, and follows its members without touching a chain', async () => {
    await commit(peerSetItem('clients', [ip(1)]));
    await isolate(0, { ingress: [allow(['clients'], ['tcp/8080'])] });
    expect(await reaches(ns(1), ip(0))).toBe(true);
    expect(await reaches(ns(3), ip(0))).toBe(false);
    expect(await reaches(ns(1), ip(0), TCP2)).toBe(false);
    expect(await reaches(ns(1), ip(0), UDP, 'udp')).toBe(false);

    const before = nft(['list', 'ruleset']).split('\n');
    await commit(peerSetItem('clients', [ip(1), ip(3)]));
    const after = nft(['list', 'ruleset']).split('\n');
    // One line differs: the set's elements. Every chain is as it was.
    expect(after.filter((l) => !before.includes(l)).map((l) => l.trim())).toEqual([
      `elements = { ${ip(1)}, ${ip(3)} }`,
    ]);
    expect(before.filter((l) => !after.includes(l)).map((l) => l.trim())).toEqual([
      `elements = { ${ip(1)} }`,
    ]);
    expect(await reaches(ns(3), ip(0))).toBe(true);

    await commit(peerSetItem('clients', [ip(3)]));
    expect(await reaches(ns(1), ip(0))).toBe(false);
    expect(await reaches(ns(3), ip(0))).toBe(true);
  });

  it('allows an ipBlock minus its except, other nodes included when the block says so', async () => {
    await isolate(0, {
      ingress: [allow(['10.1.1.0/24^10.1.1.13/32']), allow(['192.168.77.0/24'], ['tcp/8080'])],
    });
    expect(await reaches(ns(1), ip(0))).toBe(true);
    expect(await reaches(ns(2), ip(0))).toBe(false);
    expect(await reaches(other.netns, ip(0))).toBe(true);
    expect(await reaches(other.netns, ip(0), UDP, 'udp')).toBe(false);
  });

  it('allows port ranges per protocol, UDP included', async () => {
    await isolate(0, { ingress: [allow([], ['tcp/9000-9100', 'udp/8000-8100'])] });
    expect(await reaches(ns(3), ip(0), TCP2)).toBe(true);
    expect(await reaches(ns(3), ip(0), TCP)).toBe(false);
    expect(await reaches(ns(3), ip(0), UDP, 'udp')).toBe(true);
  });

  it('isolates egress, and lets replies through both ways', async () => {
    await isolate(0, { ingress: [allow([ip(1) + '/32'])], egress: [allow([ip(2) + '/32'], ['tcp/8080'])] });
    // Pod 0 may open connections to pod 2 only; pod 2 (not isolated) answers.
    expect(await reaches(ns(0), ip(2))).toBe(true);
    expect(await reaches(ns(0), ip(3))).toBe(false);
    expect(await reaches(ns(0), ip(2), UDP, 'udp')).toBe(false);
    // Pod 1 may connect to pod 0, whose replies pass its egress isolation.
    expect(await reaches(ns(1), ip(0))).toBe(true);
    expect(await reaches(ns(1), ip(0), UDP, 'udp')).toBe(true);
    // Between two pods of the node both ends judge: pod 3's ingress is open, pod 0's egress not.
    expect(await reaches(ns(3), ip(0))).toBe(false);
  });

  it('allows viaService connections only through the Service', async () => {
    await commit(serviceItem('10.96.0.50', 'TCP', 80, [{ ip: ip(0), port: TCP }]));
    await isolate(0, { ingress: [allow([], [], true)] });
    expect(await reaches(ns(3), '10.96.0.50', 80)).toBe(true);
    expect(await reaches(ns(3), ip(0))).toBe(false);
  });

  it('judges a new pod from its first packet when its policy comes with its interface', async () => {
    const pod = testPod(4, `/run/netns/${await lab.netns('p4')}`, lab.prefix);
    await lab.start(pod.netns, process.execPath, [WHOAMI, 'serve', 'p4', String(TCP), String(UDP)]);
    // One transaction, as a CNI ADD would commit it: the interface, its route and its policy.
    await commit(...podItems(node, pod), policyItem(pod, { ingress: [] }));
    expect(await reaches(ns(3), pod.ip)).toBe(false);
    expect(await reaches(node.netns, pod.ip)).toBe(true);
    pods.push(pod);
  });

  it('makes zero changes when a restarted agent resyncs, and repairs a chain deleted by hand', async () => {
    await isolate(0, { ingress: [allow(['clients'], ['tcp/8080'])] });
    await s.close();
    const runner = countingRunner(spawnRunner());
    s = new KvScheduler({
      driver: createLinuxDriver({ hostNetns: node.netns, runner }),
      logger: silentLogger(),
    });
    const rec = await s.resync({ desired: desired() });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(runner.commands.filter((c) => !/ (show|list)\b|-batch -$/.test(c))).toEqual([]);

    expect(await reaches(ns(1), ip(0))).toBe(false);
    const key = policyItem(pods[0]!, {}).key;
    nft(['delete', 'element', 'inet', 'netloom-policy', 'pod-ingress', `{ "${pods[0]!.hostIfName}" }`]);
    nft(['delete', 'chain', 'inet', 'netloom-policy', podChain(key, 'ingress')]);
    expect(await reaches(ns(1), ip(0))).toBe(true); // open while the chain is gone
    const repair = await s.resync();
    expect(repair.errors).toEqual([]);
    expect(repair.counts.update + repair.counts.create).toBe(1);
    expect(await reaches(ns(1), ip(0))).toBe(false);
    expect(await reaches(ns(3), ip(0))).toBe(true);
  });

  it('applies 1000 pod policies over 100 sets of 100 addresses, and one member change', async () => {
    // Real nft in a namespace of its own; the pod interfaces the policies depend on are the fake
    // kernel's (1000 veths would measure iproute2, not the policies).
    const benchNs = await lab.netns('bench');
    // Each nft -f's own duration, to tell the process's cost from the agent's.
    const nftMs: number[] = [];
    const spawn = spawnRunner();
    const runner = countingRunner({
      async run(cmd, args, opts) {
        const t = performance.now();
        const r = await spawn.run(cmd, args, opts);
        if (/\bnft -f\b/.test([cmd, ...args].join(' '))) nftMs.push(performance.now() - t);
        return r;
      },
    });
    const fake = new FakeKernel();
    const real = kernelPorts({ hostNetns: benchNs, runner });
    const many = new KvScheduler({
      driver: linuxDriverWith({ ...real, links: fake.ports.links, node: fake.ports.node }),
      logger: silentLogger(),
    });
    const sets = Array.from({ length: 100 }, (_, i) =>
      peerSetItem(
        `set${i}`,
        Array.from({ length: 100 }, (_, j) => `10.${100 + (i >> 4)}.${(i & 15) * 16 + (j >> 6)}.${j & 63}`),
      ),
    );
    const benchPods: TestPod[] = Array.from({ length: 1000 }, (_, i) => ({
      namespace: 'bench',
      name: `b${i}`,
      containerId: `b${i}`,
      netns: `/run/netns/b${i}`,
      ip: `10.2.${i >> 8}.${i & 255}`,
      hostIfName: `b${i}`,
    }));
    for (const p of benchPods) fake.namespaces.add(p.netns);
    const ifaces = benchPods.flatMap((p) => podItems(node, p).slice(0, 1));
    const gateway = nodeItems(node, [node]).slice(0, 1);
    expect((await many.commit([...gateway, ...ifaces])).errors).toEqual([]);
    const policies = benchPods.map((p, i) =>
      policyItem(p, {
        ingress: [
          allow([`set${i % 100}`, `set${(i + 1) % 100}`], ['tcp/8080']),
          allow(['10.0.0.0/8^10.3.0.0/16']),
        ],
        egress: [allow([`set${(i + 7) % 100}`], ['udp/53', 'tcp/443'])],
      }),
    );
    const nftRuns = (): number => runner.commands.filter((c) => /\bnft -f\b/.test(c)).length;

    const t0 = performance.now();
    const rec = await many.commit([...sets, ...policies]);
    const ms = performance.now() - t0;
    expect(rec.errors).toEqual([]);
    const processes = nftRuns();

    const t1 = performance.now();
    const again = await many.resync();
    const msResync = performance.now() - t1;
    expect(again.counts).toEqual({ create: 0, update: 0, delete: 0 });

    // A member added, then removed, five times: the median, and one nft process each.
    const times: number[] = [];
    const runsBefore = nftRuns();
    for (let n = 0; n < 5; n++) {
      const v = sets[50]!.value;
      const addresses = n % 2 === 0 ? [...v.addresses, '10.99.0.1'] : v.addresses;
      const t2 = performance.now();
      const one = await many.commit([{ key: sets[50]!.key, value: { ...v, addresses } }]);
      times.push(performance.now() - t2);
      expect(one.errors).toEqual([]);
      expect(one.counts).toEqual({ create: 0, update: 1, delete: 0 });
    }
    expect(nftRuns() - runsBefore).toBe(5);
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const msOne = median(times);
    const msOneNft = median(nftMs.slice(-5));
    // Sets and policies are each coalesced (sets are made before anything names them).
    expect(processes).toBeLessThanOrEqual(10);
    console.log(
      `policies: 100 sets × 100 addresses + 1000 pod policies applied in ${ms.toFixed(0)} ms with ${processes} nft ` +
        `process(es); resync (retrieve) ${msResync.toFixed(0)} ms; ` +
        `one set member added or removed at that scale ${msOne.toFixed(1)} ms (median of 5; its nft -f process ` +
        `${msOneNft.toFixed(1)} ms)`,
    );
    await many.close();
  });
});
