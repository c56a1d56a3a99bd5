// Services on the linux driver with real packets: one node namespace (the driver through a KV
// scheduler), four pods on it running whoami servers, and an "outside" namespace on the node's
// underlay. Proves: a cluster IP spreads over every backend, a node port answers on the node's
// address, ClientIP affinity sticks, a removed backend gets no new connections (and UDP flows to
// it are forgotten), no backends rejects at once (or drops), a pod reaches itself through its
// Service (hairpin), masquerade exactly where asked, zero changes after a restart, repair of a
// chain deleted by hand; and measures applying 1000 frontends.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logging.ts';
import { createLinuxDriver } from '../agent/dataplane/linux/driver.ts';
import { countingRunner, spawnRunner } from '../agent/dataplane/linux/exec.ts';
import {
  nodeItems,
  POD_CIDR,
  podItems,
  serviceItem,
  type TestNode,
  type TestPod,
} from '../agent/dataplane/linux/test-items.ts';
import type { Service } from '../agent/items/values.ts';
import type { Item } from '../agent/scheduler/descriptor.ts';
import { KvScheduler } from '../agent/scheduler/scheduler.ts';
import { sleep } from '../lib/timing.ts';
import { Lab } from './lab/netns.ts';
import { allOf, netnsAvailable, nftablesAvailable, skipUnless } from './harness/availability.ts';

const skip = skipUnless('linux services in network namespaces', allOf(netnsAvailable(), nftablesAvailable()));
const WHOAMI = new URL('./lab/whoami.ts', import.meta.url).pathname;
const TCP = 8080;
const UDP = 8053;

const lab = new Lab();
let node: TestNode & { netns: string };
let outside: { netns: string; ip: string };
const pods: TestPod[] = [];
let s: KvScheduler;

const be = (...i: number[]): { ip: string; port: number }[] => i.map((n) => ({ ip: pods[n]!.ip, port: TCP }));
const udpBe = (...i: number[]): { ip: string; port: number }[] =>
  i.map((n) => ({ ip: pods[n]!.ip, port: UDP }));

// Pods 0-2 are backends, pod 3 the client.
const services = (): Record<string, Item<Service>> => ({
  cluster: serviceItem('10.96.0.10', 'TCP', TCP, be(0, 1, 2)),
  nodePort: serviceItem('node', 'TCP', 30080, be(0, 1, 2), { masqueradeOutside: [] }),
  reject: serviceItem('10.96.0.11', 'TCP', TCP, []),
  drop: serviceItem('10.96.0.12', 'TCP', TCP, [], { noBackends: 'drop' }),
  hairpin: serviceItem('10.96.0.20', 'TCP', TCP, be(0)),
  affinity: serviceItem('10.96.0.30', 'TCP', TCP, be(0, 1, 2), { affinitySeconds: 60 }),
  keepSource: serviceItem('10.96.0.40', 'TCP', TCP, be(0, 1, 2), { masqueradeOutside: null }),
  udp: serviceItem('10.96.0.53', 'UDP', UDP, udpBe(0, 1, 2)),
  // externalTrafficPolicy: Local as the renderer writes it: p0 is "this node's" backend.
  local: serviceItem('10.96.0.70', 'TCP', TCP, be(0), {
    ...LOCAL,
    inCluster: { sources: [POD_CIDR], backends: be(0, 1, 2) },
  }),
  localNone: serviceItem('10.96.0.71', 'TCP', TCP, [], {
    ...LOCAL,
    inCluster: { sources: [POD_CIDR], backends: be(1, 2) },
  }),
  localAffinity: serviceItem('10.96.0.72', 'TCP', TCP, be(0), {
    ...LOCAL,
    affinitySeconds: 60,
    inCluster: { sources: [POD_CIDR], backends: be(0, 1, 2) },
  }),
  lbOpen: serviceItem('10.96.0.80', 'TCP', TCP, be(0, 1, 2), {
    kind: 'load-balancer',
    masqueradeOutside: [],
    sourceRanges: [`${outside.ip}/32`, '192.0.2.0/24'],
  }),
  lbClosed: serviceItem('10.96.0.81', 'TCP', TCP, be(0, 1, 2), {
    kind: 'load-balancer',
    masqueradeOutside: [],
    sourceRanges: ['192.0.2.0/24'],
  }),
});
const LOCAL = { kind: 'external-ip', masqueradeOutside: null, noBackends: 'drop' } as const;
let svc = {} as Record<string, Item<Service>>;

const desired = (): Item[] => [
  ...nodeItems(node, [node]),
  ...pods.flatMap((p) => podItems(node, p)),
  ...Object.values(svc),
];

type Answer = { reply?: string; error?: string; ms?: number };
async function ask(
  from: string,
  proto: 'tcp' | 'udp',
  ip: string,
  port: number,
  n: number,
): Promise<Answer[]> {
  return JSON.parse(
    await lab.exec(from, process.execPath, [WHOAMI, proto, ip, String(port), String(n)]),
  ) as Answer[];
}
/** Replies by server name; the client address each server saw. */
function tally(answers: Answer[]): { by: Map<string, number>; seen: Set<string>; errors: string[] } {
  const by = new Map<string, number>();
  const seen = new Set<string>();
  const errors: string[] = [];
  for (const a of answers) {
    if (a.reply === undefined) {
      errors.push(a.error ?? '?');
      continue;
    }
    const [server = '', client = ''] = a.reply.split(' ');
    by.set(server, (by.get(server) ?? 0) + 1);
    seen.add(client);
  }
  return { by, seen, errors };
}

beforeAll(async () => {
  const [n1, out] = [await lab.netns('n1'), await lab.netns('out')];
  const [ul, ext] = await lab.underlay([n1, out]);
  node = { name: 'n1', id: 1, underlayIp: ul!.ip, netns: n1 };
  outside = { netns: out, ip: ext!.ip };
  // A real node routes the service range somewhere (its default route): without any route a
  // connection from the node itself fails before the output hook could DNAT it.
  await lab.ip(n1, ['route', 'add', '10.96.0.0/12', 'dev', 'ul0']);
  await lab.ip(out, ['route', 'add', '10.96.0.0/12', 'via', ul!.ip]);
  for (let i = 0; i < 4; i++) {
    pods.push({
      namespace: 'default',
      name: `p${i}`,
      containerId: `c${i}`,
      netns: `/run/netns/${await lab.netns(`p${i}`)}`,
      ip: `10.1.1.${11 + i}`,
      hostIfName: `${lab.prefix}${i}`,
    });
  }
  svc = services();
  s = new KvScheduler({
    driver: createLinuxDriver({ hostNetns: n1 }),
    logger: silentLogger(),
    retry: { initialMs: 50 },
  });
  const rec = await s.resync({ desired: desired() });
  expect(rec.errors).toEqual([]);
  for (const [i, p] of pods.slice(0, 3).entries())
    await lab.start(p.netns, process.execPath, [WHOAMI, 'serve', `p${i}`, String(TCP), String(UDP)]);
});

afterAll(async () => {
  await s?.close();
  await lab.destroy();
  expect(lab.leftovers()).toEqual([]);
});

describe.skipIf(skip)('linux services in network namespaces', () => {
  const client = (): string => pods[3]!.netns;

  it('spreads a cluster IP over every backend, keeping the pod client address', async () => {
    const t = tally(await ask(client(), 'tcp', '10.96.0.10', TCP, 60));
    expect(t.errors).toEqual([]);
    expect([...t.by.keys()].sort()).toEqual(['p0', 'p1', 'p2']);
    // Equal shares: 20 each on average; 5 is far below any plausible random dip.
    for (const n of t.by.values()) expect(n).toBeGreaterThanOrEqual(5);
    expect([...t.seen]).toEqual([pods[3]!.ip]);
    console.log(
      `services: cluster IP spread over 60 connections: ${JSON.stringify(Object.fromEntries(t.by))}`,
    );
  });

  it('answers a node port on the node address from outside, masqueraded', async () => {
    const t = tally(await ask(outside.netns, 'tcp', node.underlayIp, 30080, 30));
    expect(t.errors).toEqual([]);
    expect(t.by.size).toBe(3);
    expect(t.seen.has(outside.ip)).toBe(false);
  });

  it('masquerades exactly where asked', async () => {
    // From outside the pod CIDR: masqueraded by the cluster IP, kept by masqueradeOutside null.
    const masq = tally(await ask(outside.netns, 'tcp', '10.96.0.10', TCP, 5));
    expect(masq.errors).toEqual([]);
    expect(masq.seen.has(outside.ip)).toBe(false);
    const kept = tally(await ask(outside.netns, 'tcp', '10.96.0.40', TCP, 5));
    expect(kept.errors).toEqual([]);
    expect([...kept.seen]).toEqual([outside.ip]);
    // The node itself reaches a cluster IP (output hook), from an address outside the pod CIDR.
    const fromNode = tally(await ask(node.netns, 'tcp', '10.96.0.10', TCP, 5));
    expect(fromNode.errors).toEqual([]);
  });

  it('keeps a client on one backend with ClientIP affinity', async () => {
    const t = tally(await ask(client(), 'tcp', '10.96.0.30', TCP, 20));
    expect(t.errors).toEqual([]);
    expect(t.by.size).toBe(1);
  });

  it('refuses a connection to a frontend without backends at once, or drops it', async () => {
    const [refused] = await ask(client(), 'tcp', '10.96.0.11', TCP, 1);
    expect(refused?.error).toBe('ECONNREFUSED');
    expect(refused?.ms).toBeLessThan(500);
    const [dropped] = await ask(client(), 'tcp', '10.96.0.12', TCP, 1);
    expect(dropped?.error).toBe('timeout');
    const [udp] = await ask(client(), 'udp', '10.96.0.11', TCP, 1);
    expect(udp?.error).toBe('timeout'); // no such UDP frontend: the datagram goes unanswered
  });

  it('lets a pod reach itself through its Service (hairpin, masqueraded)', async () => {
    const t = tally(await ask(pods[0]!.netns, 'tcp', '10.96.0.20', TCP, 3));
    expect(t.errors).toEqual([]);
    expect([...t.by.keys()]).toEqual(['p0']);
    expect(t.seen.has(pods[0]!.ip)).toBe(false);
  });

  it('spreads UDP, and forgets flows to a removed UDP backend', async () => {
    const t = tally(await ask(client(), 'udp', '10.96.0.53', UDP, 30));
    expect(t.errors).toEqual([]);
    expect(t.by.size).toBe(3);
    // One socket keeps its conntrack entry, so its backend, until that backend is removed.
    const stream = await lab.start(client(), process.execPath, [
      WHOAMI,
      'udp-stream',
      '10.96.0.53',
      String(UDP),
    ]);
    let out = '';
    stream.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const replies = (): { at: number; server: string }[] =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { at: number; reply: string })
        .map((r) => ({ at: r.at, server: r.reply.split(' ')[0]! }));
    await sleep(500);
    const before = replies();
    expect(before.length).toBeGreaterThan(3);
    expect(new Set(before.map((r) => r.server)).size).toBe(1);
    const gone = Number(before[0]!.server.slice(1));
    svc.udp = serviceItem('10.96.0.53', 'UDP', UDP, udpBe(...[0, 1, 2].filter((i) => i !== gone)));
    expect((await s.commit([svc.udp])).errors).toEqual([]);
    const removedAt = Date.now();
    await sleep(500);
    const closed = new Promise((resolve) => stream.on('exit', resolve));
    stream.stdin!.end();
    await closed;
    // The backend still runs: only the deleted conntrack entry moves the socket elsewhere.
    const after = replies().filter((r) => r.at > removedAt + 100);
    expect(after.length).toBeGreaterThan(3);
    expect(after.map((r) => r.server)).not.toContain(`p${gone}`);
  });

  it('Local policy: the outside world meets only local backends and keeps its address; pods and the node meet all', async () => {
    const out = tally(await ask(outside.netns, 'tcp', '10.96.0.70', TCP, 10));
    expect(out.errors).toEqual([]);
    expect([...out.by.keys()]).toEqual(['p0']);
    expect([...out.seen]).toEqual([outside.ip]);
    const pod = tally(await ask(client(), 'tcp', '10.96.0.70', TCP, 40));
    expect(pod.errors).toEqual([]);
    expect([...pod.by.keys()].sort()).toEqual(['p0', 'p1', 'p2']);
    expect([...pod.seen]).toEqual([pods[3]!.ip]);
    const fromNode = tally(await ask(node.netns, 'tcp', '10.96.0.70', TCP, 40));
    expect(fromNode.errors).toEqual([]);
    expect([...fromNode.by.keys()].sort()).toEqual(['p0', 'p1', 'p2']);
    // No backend here: the outside world is dropped, pods are still served by the others.
    const [none] = await ask(outside.netns, 'tcp', '10.96.0.71', TCP, 1);
    expect(none?.error).toBe('timeout');
    const podNone = tally(await ask(client(), 'tcp', '10.96.0.71', TCP, 20));
    expect(podNone.errors).toEqual([]);
    expect([...podNone.by.keys()].sort()).toEqual(['p1', 'p2']);
    // With affinity: the outside world still meets p0 only; a pod sticks to one of the three.
    expect([...tally(await ask(outside.netns, 'tcp', '10.96.0.72', TCP, 5)).by.keys()]).toEqual(['p0']);
    const sticky = tally(await ask(client(), 'tcp', '10.96.0.72', TCP, 10));
    expect(sticky.errors).toEqual([]);
    expect(sticky.by.size).toBe(1);
    console.log(
      `services: Local policy, from a pod ${JSON.stringify(Object.fromEntries(pod.by))}, ` +
        `from the node ${JSON.stringify(Object.fromEntries(fromNode.by))}, from outside ${JSON.stringify(Object.fromEntries(out.by))}`,
    );
  });

  it('admits only the source ranges to a load-balancer IP', async () => {
    const open = tally(await ask(outside.netns, 'tcp', '10.96.0.80', TCP, 5));
    expect(open.errors).toEqual([]);
    const [closed] = await ask(outside.netns, 'tcp', '10.96.0.81', TCP, 1);
    expect(closed?.error).toBe('timeout');
    const [fromPod] = await ask(client(), 'tcp', '10.96.0.81', TCP, 1);
    expect(fromPod?.error).toBe('timeout');
  });

  it('sends no new connection to a removed backend', async () => {
    svc.cluster = serviceItem('10.96.0.10', 'TCP', TCP, be(1, 2));
    expect((await s.commit([svc.cluster])).errors).toEqual([]);
    const t = tally(await ask(client(), 'tcp', '10.96.0.10', TCP, 30));
    expect(t.errors).toEqual([]);
    expect([...t.by.keys()].sort()).toEqual(['p1', 'p2']);
  });

  it('makes zero changes when a restarted agent resyncs, and repairs elements deleted by hand', async () => {
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

    const nft = (args: string[]): string =>
      execFileSync('ip', ['netns', 'exec', node.netns, 'nft', ...args], { encoding: 'utf8' });
    nft(['delete', 'element', 'ip', 'netloom-svc', 'service-ips', '{ 10.96.0.10 . tcp . 8080 }']);
    nft(['delete', 'element', 'ip', 'netloom-svc', 'service-backends', '{ 10.96.0.10 . tcp . 8080 . 0 }']);
    const broken = await ask(client(), 'tcp', '10.96.0.10', TCP, 1);
    expect(broken[0]?.reply).toBeUndefined();
    const repair = await s.resync();
    expect(repair.errors).toEqual([]);
    expect(repair.counts.update + repair.counts.create).toBe(1);
    expect(tally(await ask(client(), 'tcp', '10.96.0.10', TCP, 10)).errors).toEqual([]);
  });

  it('applies 1000 frontends in a few nft processes', async () => {
    // A namespace of its own: a resync there must see nothing of the node above.
    const benchNs = await lab.netns('bench');
    const runner = countingRunner(spawnRunner());
    const many = new KvScheduler({
      driver: createLinuxDriver({ hostNetns: benchNs, runner }),
      logger: silentLogger(),
    });
    const items = Array.from({ length: 1000 }, (_, i) =>
      serviceItem(`10.97.${i >> 8}.${i & 255}`, 'TCP', 80, be(0, 1, 2)),
    );
    const t0 = performance.now();
    const rec = await many.commit(items);
    const ms = performance.now() - t0;
    expect(rec.errors).toEqual([]);
    const nftRuns = runner.commands.filter((c) => / nft -f/.test(c) || c.startsWith('nft -f')).length;
    const t1 = performance.now();
    const again = await many.resync();
    const msResync = performance.now() - t1;
    expect(again.counts).toEqual({ create: 0, update: 0, delete: 0 });
    const t2 = performance.now();
    const one = await many.commit([{ ...items[500]!, value: { ...items[500]!.value, backends: be(1) } }]);
    const msOne = performance.now() - t2;
    expect(one.errors).toEqual([]);
    console.log(
      `services: 1000 frontends × 3 backends applied in ${ms.toFixed(0)} ms with ${nftRuns} nft process(es); ` +
        `resync (retrieve) ${msResync.toFixed(0)} ms; one update at 1000 ${msOne.toFixed(1)} ms`,
    );
    expect(nftRuns).toBeLessThanOrEqual(10);
    const gone = await many.commit(items.map((i) => ({ key: i.key, value: undefined })));
    expect(gone.errors).toEqual([]);
    // The shared draw chain and the hairpin elements went with their last frontend.
    const listing = execFileSync(
      'ip',
      ['netns', 'exec', benchNs, 'nft', 'list', 'table', 'ip', 'netloom-svc'],
      {
        encoding: 'utf8',
      },
    );
    expect(listing).not.toMatch(/chain pick-/);
    expect(/set hairpin \{[^}]*elements/.test(listing)).toBe(false);
    await many.close();
  });
});
