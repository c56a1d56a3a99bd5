// The linux driver's custom networks against the real kernel, beyond one interface per pod:
// a pod with eth0 in the default network and net1 in network A (multi-net), reaching A across
// nodes through net1 while eth0 keeps its default route; and source NAT in A's VRF: A's pods
// reach an "outside" host on the underlay, seen there as their node's address, while A stays
// cut off from the default network and from B, and B (no source NAT) cannot get out. The
// namespaces run without reverse-path filtering (the kernel's default in a new namespace): with
// it on a pod's host veth, the first packet out of a custom network fails the check (see
// agent/dataplane/linux/README.md). Then zero changes on resync, repair of what is deleted by hand, nothing left after delete.
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logging.ts';
import { createLinuxDriver } from '../agent/dataplane/linux/driver.ts';
import { countingRunner, spawnRunner } from '../agent/dataplane/linux/exec.ts';
import { DEFAULT_NAMES, type LinuxNames } from '../agent/dataplane/linux/naming.ts';
import {
  POD_CIDR,
  extraInterfaceItems,
  isolationItems,
  networkBlock,
  networkCidr,
  networkNodeItems,
  networkPodItems,
  nodeItems,
  podItems,
  type TestNetwork,
  type TestNode,
  type TestPod,
} from '../agent/dataplane/linux/test-items.ts';
import { snatKey } from '../agent/items/keys.ts';
import type { SourceNat } from '../agent/items/values.ts';
import type { Item } from '../agent/scheduler/descriptor.ts';
import { KvScheduler } from '../agent/scheduler/scheduler.ts';
import { echoOnce, startEchoServer } from './lab/echo.ts';
import { Lab } from './lab/netns.ts';
import { allOf, netnsAvailable, nftablesAvailable, skipUnless } from './harness/availability.ts';

const skip = skipUnless(
  'linux VRF extras in network namespaces',
  allOf(netnsAvailable(), nftablesAvailable()),
);
const lab = new Lab();
const names: LinuxNames = {
  ...DEFAULT_NAMES,
  vrfTableBase: 2000 + randomInt(1000) * 10,
  vrfRulePref: 500 + randomInt(200) * 4,
};
const A: TestNetwork = { id: 5, name: 'default/a', vni: 20, octet: 2 };
const B: TestNetwork = { id: 6, name: 'default/b', vni: 21, octet: 3 };
const OUTSIDE_IP = '192.168.77.200';
const WHOAMI_PORT = 7008;
const nodes: (TestNode & { netns: string })[] = [];
type LabPod = TestPod & { node: string; net: TestNetwork | undefined };
const pods: LabPod[] = [];
/** Pod m's second interface: net1 in A, in m's namespace. */
let mNet1: TestPod;
let outside = '';
const schedulers = new Map<string, KvScheduler>();

const snatItem = (n: TestNode, net: TestNetwork): Item<SourceNat> => {
  const value: SourceNat = {
    vrf: net.id,
    source: networkBlock(net, n.id),
    except: [POD_CIDR, '10.96.0.0/12', networkCidr(A), networkCidr(B)],
    toAddress: '',
  };
  return { key: snatKey(value.vrf, value.source), value };
};

const desired = (n: TestNode & { netns: string }): Item[] => [
  ...nodeItems(n, nodes),
  ...isolationItems([A, B]),
  ...networkNodeItems(n, nodes, A),
  ...networkNodeItems(n, nodes, B),
  snatItem(n, A),
  ...pods
    .filter((p) => p.node === n.name)
    .flatMap((p) => (p.net ? networkPodItems(n, p, p.net) : podItems(n, p))),
  ...(n.name === 'n1' ? extraInterfaceItems(mNet1, A) : []),
];

const pod = (name: string): LabPod => {
  const p = pods.find((x) => x.name === name);
  if (!p) throw new Error(`no pod ${name}`);
  return p;
};

/** From pod `from`, one TCP echo to each address: address → 'ok' or the error. */
async function reachIps(from: string, ips: readonly string[]): Promise<Record<string, string>> {
  return echoOnce(lab, pod(from), ips);
}

// A server on the outside host that answers each connection with the address it sees.
const WHOAMI_SERVER = `
const server = require('node:net').createServer((c) => { c.on('error', () => c.destroy()); c.end(c.remoteAddress + '\\n'); });
server.listen(Number(process.argv[1]), '0.0.0.0', () => process.stdout.write('ready\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();`;
const WHOAMI_CLIENT = `
let got = '', done = false;
const finish = (r) => { if (!done) { done = true; process.stdout.write(JSON.stringify(r) + '\\n'); c.destroy(); } };
const c = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]), timeout: 3000 });
c.on('data', (d) => (got += d));
c.on('end', () => finish(got.trim()));
c.on('timeout', () => finish('timeout'));
c.on('error', (e) => finish(e.code ?? e.message));`;

/** What the outside host saw as the source of a connection from pod `from` (or the error). */
async function whoami(from: string): Promise<string> {
  const out = await lab.exec(pod(from).netns, process.execPath, [
    '-e',
    WHOAMI_CLIENT,
    OUTSIDE_IP,
    String(WHOAMI_PORT),
  ]);
  return JSON.parse(out) as string;
}

/** What netloom owns in a node namespace: its rules, routes, VXLAN devices, veths, nft rules. */
async function netloomObjects(netns: string): Promise<string[]> {
  const rules = JSON.parse(await lab.ip(netns, ['-j', 'rule', 'show'])) as { protocol?: string }[];
  const routes = await lab.ip(netns, ['route', 'show', 'table', 'all', 'proto', String(names.routeProto)]);
  const links = await lab.ip(netns, ['-o', 'link', 'show']);
  const nft = await lab.exec(netns, 'nft', ['list', 'table', 'inet', names.natTable]).catch(() => '');
  return [
    ...rules.filter((r) => r.protocol === String(names.routeProto)).map((r) => `rule ${JSON.stringify(r)}`),
    ...routes.split('\n').filter((l) => l.trim() !== ''),
    ...links.split('\n').filter((l) => /nlvx|veth/.test(l)),
    ...nft.split('\n').filter((l) => l.includes('comment')),
  ];
}

async function resyncAll(): Promise<void> {
  for (const n of nodes) {
    const rec = await schedulers.get(n.name)!.resync({ retrieve: true });
    expect(rec.errors).toEqual([]);
  }
}

beforeAll(async () => {
  const ul = await lab.underlay([await lab.netns('n1'), await lab.netns('n2')]);
  for (const [i, u] of ul.entries())
    nodes.push({ name: `n${i + 1}`, id: i + 1, underlayIp: u.ip, netns: u.netns });
  // The outside host: on the underlay's bridge, outside every cluster prefix.
  outside = await lab.netns('out');
  const ulNs = `${lab.prefix}-ul`;
  await lab.ip(ulNs, ['link', 'add', 'pout', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside]);
  await lab.ip(ulNs, ['link', 'set', 'pout', 'master', 'br0', 'up']);
  await lab.ip(outside, ['addr', 'add', `${OUTSIDE_IP}/24`, 'dev', 'eth0']);
  await lab.ip(outside, ['link', 'set', 'eth0', 'up']);
  await lab.start(outside, process.execPath, ['-e', WHOAMI_SERVER, String(WHOAMI_PORT)]);

  const layout: [string, number, TestNetwork | undefined, number][] = [
    ['d1', 1, undefined, 11],
    ['m', 1, undefined, 20],
    ['a1', 1, A, 11],
    ['b1', 1, B, 11],
    ['a3', 2, A, 13],
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
  mNet1 = { ...pod('m'), ip: '10.2.1.20', hostIfName: `${lab.prefix}m1` };
});

afterAll(async () => {
  for (const s of schedulers.values()) await s.close();
  await lab.destroy();
  expect(lab.leftovers()).toEqual([]);
});

describe.skipIf(skip)('linux driver: extra interfaces and source NAT in custom networks', () => {
  it('wires both nodes: a pod with eth0 and net1, A with source NAT, B without', async () => {
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
    const m = pod('m').netns;
    // eth0 keeps the default route and the gateway's host route; net1 routes A onlink.
    expect(await lab.ip(m, ['route', 'show'])).toBe(
      [
        'default via 169.254.1.1 dev eth0 ',
        '10.2.0.0/16 via 169.254.1.1 dev net1 onlink ',
        '169.254.1.1 dev eth0 scope link ',
        '',
      ].join('\n'),
    );
    expect(await lab.ip(m, ['route', 'get', pod('a3').ip])).toContain('dev net1 src 10.2.1.20');
  });

  it('the pod reaches A across nodes through net1 and the default network through eth0', async () => {
    expect(await reachIps('m', [pod('a3').ip, pod('a1').ip, pod('d1').ip])).toEqual({
      [pod('a3').ip]: 'ok',
      [pod('a1').ip]: 'ok',
      [pod('d1').ip]: 'ok',
    });
    // A's pods reach m by its net1 address, not by its eth0 one.
    const fromA = await reachIps('a3', ['10.2.1.20', pod('m').ip]);
    expect(fromA['10.2.1.20']).toBe('ok');
    expect(fromA[pod('m').ip]).not.toBe('ok');
  });

  it("A's pods get out, seen as their node's address; A stays cut off from the default network and B", async () => {
    expect(await whoami('a1')).toBe(nodes[0]!.underlayIp);
    expect(await whoami('a3')).toBe(nodes[1]!.underlayIp);
    expect(await whoami('d1')).toBe(nodes[0]!.underlayIp); // VRF 0's source NAT, as before
    expect(await whoami('b1')).toMatch(/E(HOST|NET)UNREACH|timeout/);
    const res = await reachIps('a1', [pod('d1').ip, pod('b1').ip, '10.96.0.10', '10.3.2.5']);
    for (const [ip, r] of Object.entries(res)) expect(r, `a1 → ${ip}`).toMatch(/E(HOST|NET)UNREACH|timeout/);
    expect(await reachIps('a1', [pod('a3').ip])).toEqual({ [pod('a3').ip]: 'ok' });
  });

  it('a resync makes zero changes, and a restarted agent runs nothing but reads', async () => {
    for (const n of nodes) {
      const rec = await schedulers.get(n.name)!.resync({ retrieve: true });
      expect(rec.errors).toEqual([]);
      expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
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
  });

  it("repairs net1's route and source NAT's rules and restore rule deleted by hand", async () => {
    const n1 = nodes[0]!;
    await lab.ip(pod('m').netns, ['route', 'del', networkCidr(A)]);
    expect((await reachIps('m', [pod('a3').ip]))[pod('a3').ip]).not.toBe('ok');
    await lab.ip(n1.netns, [
      'rule',
      'del',
      'from',
      networkBlock(A, 1),
      'lookup',
      'main',
      'pref',
      String(names.vrfRulePref),
    ]);
    await lab.exec(n1.netns, 'nft', ['flush', 'chain', 'inet', names.natTable, 'prerouting']);
    expect(await whoami('a1')).not.toBe(n1.underlayIp);
    await resyncAll();
    expect(await reachIps('m', [pod('a3').ip])).toEqual({ [pod('a3').ip]: 'ok' });
    expect(await whoami('a1')).toBe(n1.underlayIp);
    expect((await reachIps('a1', [pod('d1').ip]))[pod('d1').ip]).not.toBe('ok');
    const rec = await schedulers.get('n1')!.resync({ retrieve: true });
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
  });

  it('without its source NAT item A cannot get out again, and nothing of it is left', async () => {
    const n1 = nodes[0]!;
    const without = desired(n1).filter((i) => !i.key.startsWith('snat/5/'));
    const rec = await schedulers.get('n1')!.resync({ desired: without });
    expect(rec.errors).toEqual([]);
    expect(await whoami('a1')).toMatch(/E(HOST|NET)UNREACH|timeout/);
    const left = await netloomObjects(n1.netns);
    expect(left.filter((l) => /snat\/5|fwmark|"table":"main"/.test(l))).toEqual([]);
  });

  it('deleting everything leaves no rule, route, device, veth or nft rule of netloom', async () => {
    for (const n of nodes) {
      const rec = await schedulers.get(n.name)!.resync({ desired: [] });
      expect(rec.errors).toEqual([]);
      expect(await netloomObjects(n.netns)).toEqual([]);
    }
  });
});
