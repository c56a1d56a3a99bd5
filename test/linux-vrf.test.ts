// Custom-network VRFs on the linux driver against the real kernel, which here has no VRF
// devices: two node namespaces on an underlay bridge, the default network and two custom
// networks (A, B: a VRF, a VNI and a /16 each), the KV scheduler and driver per node. Real TCP
// between pods: a network reaches itself on the node and across nodes over its own VXLAN, and
// nothing else (the default network included, both ways); the node reaches its pods of every
// network. Then zero changes on a resync, others' rules left alone, and nothing of netloom's left
// after everything is deleted.
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logging.ts';
import { createLinuxDriver } from '../agent/dataplane/linux/driver.ts';
import { countingRunner, spawnRunner } from '../agent/dataplane/linux/exec.ts';
import { DEFAULT_NAMES, type LinuxNames } from '../agent/dataplane/linux/naming.ts';
import {
  isolationItems,
  networkNodeItems,
  networkPodItems,
  nodeItems,
  podItems,
  type TestNetwork,
  type TestNode,
  type TestPod,
} from '../agent/dataplane/linux/test-items.ts';
import type { Item } from '../agent/scheduler/descriptor.ts';
import { KvScheduler } from '../agent/scheduler/scheduler.ts';
import { echoOnce, startEchoServer } from './lab/echo.ts';
import { Lab } from './lab/netns.ts';
import { allOf, netnsAvailable, nftablesAvailable, skipUnless } from './harness/availability.ts';

const skip = skipUnless('linux VRFs in network namespaces', allOf(netnsAvailable(), nftablesAvailable()));
const lab = new Lab();
// Unique per run, like every other name the tests give the driver.
const names: LinuxNames = {
  ...DEFAULT_NAMES,
  vrfTableBase: 2000 + randomInt(1000) * 10,
  vrfRulePref: 500 + randomInt(200) * 2,
};
const A: TestNetwork = { id: 5, name: 'default/a', vni: 20, octet: 2 };
const B: TestNetwork = { id: 6, name: 'default/b', vni: 21, octet: 3 };
const nodes: (TestNode & { netns: string })[] = [];
type LabPod = TestPod & { node: string; net: TestNetwork | undefined };
const pods: LabPod[] = [];
const schedulers = new Map<string, KvScheduler>();

const desired = (n: TestNode & { netns: string }): Item[] => [
  ...nodeItems(n, nodes),
  ...isolationItems([A, B]),
  ...networkNodeItems(n, nodes, A),
  ...networkNodeItems(n, nodes, B),
  ...pods
    .filter((p) => p.node === n.name)
    .flatMap((p) => (p.net ? networkPodItems(n, p, p.net) : podItems(n, p))),
];

const pod = (name: string): LabPod => {
  const p = pods.find((x) => x.name === name);
  if (!p) throw new Error(`no pod ${name}`);
  return p;
};

/** From pod `from`, one TCP echo to each named pod: name → 'ok' or the error. */
async function reach(from: string, to: readonly string[]): Promise<Record<string, string>> {
  const res = await echoOnce(
    lab,
    pod(from),
    to.map((t) => pod(t).ip),
  );
  return Object.fromEntries(to.map((t) => [t, res[pod(t).ip] ?? 'no answer']));
}

/** What netloom owns in a node namespace: rules and routes with its protocol, VXLAN devices, veths. */
async function netloomObjects(netns: string): Promise<string[]> {
  const rules = JSON.parse(await lab.ip(netns, ['-j', 'rule', 'show'])) as { protocol?: string }[];
  const routes = await lab.ip(netns, ['route', 'show', 'table', 'all', 'proto', String(names.routeProto)]);
  const links = await lab.ip(netns, ['-o', 'link', 'show']);
  return [
    ...rules.filter((r) => r.protocol === String(names.routeProto)).map((r) => `rule ${JSON.stringify(r)}`),
    ...routes.split('\n').filter((l) => l.trim() !== ''),
    ...links.split('\n').filter((l) => /nlvx|veth/.test(l)),
  ];
}

beforeAll(async () => {
  const ul = await lab.underlay([await lab.netns('n1'), await lab.netns('n2')]);
  for (const [i, u] of ul.entries())
    nodes.push({ name: `n${i + 1}`, id: i + 1, underlayIp: u.ip, netns: u.netns });
  // n1: two pods of each network; n2: one of A and one of B.
  const layout: [string, number, TestNetwork | undefined, number][] = [
    ['d1', 1, undefined, 11],
    ['d2', 1, undefined, 12],
    ['a1', 1, A, 11],
    ['a2', 1, A, 12],
    ['b1', 1, B, 11],
    ['b2', 1, B, 12],
    ['a3', 2, A, 13],
    ['b3', 2, B, 13],
  ];
  for (const [name, id, net, host] of layout) {
    pods.push({
      node: `n${id}`,
      net,
      namespace: 'default',
      name,
      containerId: `c-${name}`,
      netns: await lab.netns(name),
      ip: `10.${net?.octet ?? 1}.${id}.${host}`,
      hostIfName: `${lab.prefix}${name}`,
    });
  }
});

afterAll(async () => {
  for (const s of schedulers.values()) await s.close();
  await lab.destroy();
  expect(lab.leftovers()).toEqual([]);
});

describe.skipIf(skip)('linux driver: custom-network VRFs in network namespaces', () => {
  it('wires two networks and the default one on two nodes', async () => {
    for (const n of nodes) {
      const s = new KvScheduler({
        driver: createLinuxDriver({ hostNetns: n.netns, names }),
        logger: silentLogger(),
        retry: { initialMs: 50 },
      });
      schedulers.set(n.name, s);
      const rec = await s.resync({ desired: desired(n) });
      expect(rec.errors).toEqual([]);
      expect(s.statuses().filter((st) => st.state !== 'configured')).toEqual([]);
    }
    for (const p of pods) await startEchoServer(lab, p);
    const n1 = nodes[0]!.netns;
    const tA = names.vrfTableBase + A.id;
    expect(await lab.ip(n1, ['rule', 'show', 'pref', String(names.vrfRulePref)])).toContain(
      `from 10.2.0.0/16 lookup ${tA} proto 78`,
    );
    expect(await lab.ip(n1, ['route', 'show', 'table', String(tA)])).toContain(
      `10.2.2.0/24 via 169.254.128.2 dev nlvx20 proto 78 onlink`,
    );
  });

  it('a network reaches itself, on the node and across nodes over its VXLAN', async () => {
    expect(await reach('a1', ['a2', 'a3'])).toEqual({ a2: 'ok', a3: 'ok' });
    expect(await reach('a3', ['a1', 'a2'])).toEqual({ a1: 'ok', a2: 'ok' });
    expect(await reach('b1', ['b2', 'b3'])).toEqual({ b2: 'ok', b3: 'ok' });
    expect(await reach('b3', ['b1'])).toEqual({ b1: 'ok' });
    expect(await reach('d1', ['d2'])).toEqual({ d2: 'ok' });
  });

  it('nothing crosses networks, the default one included, and senders get an ICMP error', async () => {
    const cases: [string, string[]][] = [
      ['a1', ['b1', 'b3', 'd1']],
      ['a3', ['b3', 'b1', 'd1']],
      ['b1', ['a1', 'a3', 'd2']],
      ['b3', ['a3', 'a1']],
      ['d1', ['a1', 'a3', 'b1', 'b3']],
    ];
    for (const [from, to] of cases) {
      const res = await reach(from, to);
      for (const t of to) expect(res[t], `${from} → ${t}`).toMatch(/E(HOST|NET)UNREACH|timeout/);
      // Refused by the VRF's guard rule (or main's unreachable route) with an ICMP error, not
      // dropped silently. The kernel rate-limits those errors per sender (ip_error and
      // icmp_send share one token bucket: about two at once, then one a second), so the
      // sender's later attempts may be left to time out instead.
      expect(Object.values(res).filter((r) => /E(HOST|NET)UNREACH/.test(r)).length, from).toBeGreaterThan(0);
    }
  });

  it("the node reaches its pods of every network (its own traffic is routed in the pod's VRF)", async () => {
    for (const name of ['d1', 'a1', 'b1']) {
      const out = await lab.exec(nodes[0]!.netns, 'ping', ['-c', '1', '-W', '2', pod(name).ip]);
      expect(out).toContain('1 received');
    }
  });

  it('a resync after the commit makes zero changes, and leaves rules of others alone', async () => {
    const n1 = nodes[0]!;
    const tA = names.vrfTableBase + A.id;
    // Someone else's rules: another priority for netloom's table, another table at netloom's.
    const theirs = [
      ['from', '10.2.0.0/16', 'lookup', String(tA), 'pref', String(names.vrfRulePref + 500)],
      ['from', '10.77.0.0/16', 'lookup', '300', 'pref', String(names.vrfRulePref)],
      ['from', '10.2.0.0/16', 'lookup', String(tA), 'pref', String(names.vrfRulePref)], // no protocol
    ];
    for (const r of theirs) await lab.ip(n1.netns, ['rule', 'add', ...r]);
    const before = await lab.ip(n1.netns, ['rule', 'show']);
    for (const n of nodes) {
      const s = schedulers.get(n.name)!;
      const rec = await s.resync({ retrieve: true });
      expect(rec.errors).toEqual([]);
      expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
      // A restarted agent: a fresh driver over the same kernel runs nothing but reads.
      const runner = countingRunner(spawnRunner());
      const fresh = new KvScheduler({
        driver: createLinuxDriver({ hostNetns: n.netns, names, runner }),
        logger: silentLogger(),
      });
      const again = await fresh.resync({ desired: desired(n) });
      await fresh.close();
      expect(again.errors).toEqual([]);
      expect(again.counts).toEqual({ create: 0, update: 0, delete: 0 });
      expect(runner.commands.filter((c) => !/ (show|list)\b|-batch -$/.test(c))).toEqual([]);
    }
    expect(await lab.ip(n1.netns, ['rule', 'show'])).toBe(before);
    expect(await reach('a1', ['a3', 'b1'])).toMatchObject({ a3: 'ok' });
  });

  it('repairs a guard rule and a VRF route deleted by hand', async () => {
    const n1 = nodes[0]!;
    const tA = names.vrfTableBase + A.id;
    await lab.ip(n1.netns, ['rule', 'del', 'from', '10.2.0.0/16', 'pref', String(names.vrfRulePref + 1)]);
    await lab.ip(n1.netns, ['route', 'del', '10.2.2.0/24', 'table', String(tA)]);
    expect((await reach('a1', ['a3']))['a3']).not.toBe('ok');
    const rec = await schedulers.get('n1')!.resync({ retrieve: true });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 1, update: 1, delete: 0 });
    expect(await reach('a1', ['a3'])).toEqual({ a3: 'ok' });
    expect((await reach('a1', ['d1']))['d1']).not.toBe('ok');
  });

  it('deleting everything leaves no rule, table route, VXLAN device or veth of netloom', async () => {
    for (const n of nodes) {
      const rec = await schedulers.get(n.name)!.resync({ desired: [] });
      expect(rec.errors).toEqual([]);
      expect(await netloomObjects(n.netns)).toEqual([]);
    }
    // Others' rules are still there.
    expect(await lab.ip(nodes[0]!.netns, ['rule', 'show'])).toContain('10.77.0.0/16 lookup 300');
  });
});
