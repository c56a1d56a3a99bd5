// The linux driver against the real kernel: two node namespaces on an underlay bridge, the KV
// scheduler and driver per node (no etcd, no CNI: the items a node's agent would compute),
// pods in namespaces by name and by /proc/<pid>/ns/net. Proves pod-to-pod TCP within and across
// nodes over VXLAN, masquerade to the outside, zero changes on an unchanged resync, repair of
// links deleted by hand, and what wiring one pod costs in processes and time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logging.ts';
import { createLinuxDriver, kernelPorts } from '../agent/dataplane/linux/driver.ts';
import { countingRunner, spawnRunner } from '../agent/dataplane/linux/exec.ts';
import { nodeItems, podItems, type TestNode, type TestPod } from '../agent/dataplane/linux/test-items.ts';
import type { Item } from '../agent/scheduler/descriptor.ts';
import { KvScheduler } from '../agent/scheduler/scheduler.ts';
import { IpSession } from '../lib/iproute.ts';
import { echoMesh, echoOnce, startEchoServer, ECHO_PORT } from './lab/echo.ts';
import { twoNodesTwoPods } from './lab/linux-nodes.ts';
import { Lab } from './lab/netns.ts';
import { allOf, netnsAvailable, nftablesAvailable, skipUnless } from './harness/availability.ts';

const skip = skipUnless('linux driver in network namespaces', allOf(netnsAvailable(), nftablesAvailable()));
const lab = new Lab();
const nodes: (TestNode & { netns: string })[] = [];
const pods = new Map<string, (TestPod & { node: string })[]>();
const schedulers = new Map<string, KvScheduler>();

const desired = (n: TestNode & { netns: string }): Item[] => [
  ...nodeItems(n, nodes),
  ...(pods.get(n.name) ?? []).flatMap((p) => podItems(n, p)),
];

function agent(n: TestNode & { netns: string }): KvScheduler {
  const s = new KvScheduler({
    driver: createLinuxDriver({ hostNetns: n.netns }),
    logger: silentLogger(),
    retry: { initialMs: 50 },
  });
  schedulers.set(n.name, s);
  return s;
}

const allPods = (): (TestPod & { node: string })[] => [...pods.values()].flat();

beforeAll(async () => {
  const made = await twoNodesTwoPods(lab);
  nodes.push(...made.nodes);
  for (const [k, v] of made.pods) pods.set(k, v);
});

afterAll(async () => {
  for (const s of schedulers.values()) await s.close();
  await lab.destroy();
  expect(lab.leftovers()).toEqual([]);
});

describe.skipIf(skip)('linux driver in network namespaces', () => {
  it('wires nodes and pods; every pod reaches every other pod over TCP, across nodes via VXLAN', async () => {
    for (const n of nodes) {
      const rec = await agent(n).resync({ desired: desired(n) });
      expect(rec.errors).toEqual([]);
    }
    for (const p of allPods()) await startEchoServer(lab, p);
    const mesh = await echoMesh(lab, allPods());
    expect(mesh.failures).toEqual([]);
    expect(mesh.pairs).toBe(12);
    // Inside a pod: its address, the link-local gateway, the default route through it.
    const p = pods.get('n1')![0]!;
    const addr = JSON.parse(await lab.exec(p.netns, 'ip', ['-json', 'addr', 'show', 'dev', 'eth0'])) as {
      mtu: number;
      addr_info: { local: string; scope: string }[];
    }[];
    expect(addr[0]?.mtu).toBe(1450);
    expect(addr[0]?.addr_info.filter((a) => a.scope === 'global').map((a) => a.local)).toEqual([p.ip]);
    expect(await lab.exec(p.netns, 'ip', ['route', 'show', 'default'])).toContain('via 169.254.1.1 dev eth0');
  });

  it('masquerades pod traffic leaving the cluster', async () => {
    // "Outside": an address on the underlay bridge, with no route back to pod subnets.
    const ul = `${lab.prefix}-ul`;
    await lab.ip(ul, ['addr', 'add', '192.168.77.254/24', 'dev', 'br0']);
    await startEchoServer(lab, { netns: ul, ip: '192.168.77.254' });
    const p = pods.get('n2')![1]!;
    expect(await echoOnce(lab, p, ['192.168.77.254'])).toEqual({ '192.168.77.254': 'ok' });
    const nft = await lab.exec(nodes[1]!.netns, 'nft', ['list', 'table', 'inet', 'netloom']);
    expect(nft).toMatch(
      /ip saddr 10\.1\.2\.0\/24 ip daddr != \{ 10\.1\.0\.0\/16, 10\.96\.0\.0\/12 \} counter packets [1-9]\d* .*masquerade/,
    );
  });

  it('makes zero data-plane changes when a restarted agent resyncs an unchanged node', async () => {
    for (const n of nodes) {
      await schedulers.get(n.name)!.close();
      const runner = countingRunner(spawnRunner());
      const s = new KvScheduler({
        driver: createLinuxDriver({ hostNetns: n.netns, runner }),
        logger: silentLogger(),
      });
      schedulers.set(n.name, s);
      const rec = await s.resync({ desired: desired(n) });
      expect(rec.errors).toEqual([]);
      expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
      // Only reads: link/route/addr/neigh/fdb listings, nft list, one read per pod.
      expect(runner.commands.filter((c) => !/ (show|list)\b|-batch -$/.test(c))).toEqual([]);
      expect(s.statuses().every((st) => st.state === 'configured')).toBe(true);
    }
  });

  it('repairs a data plane wiped by hand on resync', async () => {
    const n = nodes[0]!;
    await lab.ip(n.netns, ['link', 'del', 'nlvx10']);
    for (const p of pods.get('n1')!) await lab.ip(n.netns, ['link', 'del', p.hostIfName]);
    await lab.exec(n.netns, 'nft', ['delete', 'table', 'inet', 'netloom']);
    const broken = await echoMesh(lab, allPods());
    expect(broken.failures.length).toBeGreaterThan(0);
    const rec = await schedulers.get('n1')!.resync();
    expect(rec.errors).toEqual([]);
    expect(rec.counts.create).toBeGreaterThanOrEqual(8); // overlay, tunnel + route, 2 pods + routes, snat
    const mesh = await echoMesh(lab, allPods());
    expect(mesh.failures).toEqual([]);
  });

  it('one process per batch: wires one pod in two processes (host side with its route, pod side) and unwires it in two; eight pods in nine', async () => {
    const n = nodes[1]!;
    const netns = await lab.netns('n2-extra');
    const pod: TestPod = {
      namespace: 'default',
      name: 'extra',
      containerId: 'cx',
      netns,
      ip: '10.1.2.99',
      hostIfName: `${lab.prefix}x`,
    };
    const runner = countingRunner(spawnRunner());
    const ports = kernelPorts({ hostNetns: n.netns, runner, session: false });
    await ports.node.ensureForwarding();
    const s = new KvScheduler({
      driver: createLinuxDriver({ hostNetns: n.netns, runner, session: false }),
      logger: silentLogger(),
    });
    await s.resync({ desired: desired(n) });
    const before = runner.count;
    const t0 = performance.now();
    const rec = await s.commit(podItems(n, pod));
    const ms = performance.now() - t0;
    expect(rec.errors).toEqual([]);
    // ensureForwarding ran once in this driver instance (first create); later pods pay 2.
    expect(runner.count - before).toBeLessThanOrEqual(3);
    const second: TestPod = {
      ...pod,
      name: 'extra2',
      containerId: 'cy',
      netns: await lab.netns('n2-extra2'),
      ip: '10.1.2.98',
      hostIfName: `${lab.prefix}y`,
    };
    const b2 = runner.count;
    const t1 = performance.now();
    await s.commit(podItems(n, second));
    const ms2 = performance.now() - t1;
    expect(runner.count - b2).toBe(2);
    expect(await lab.ip(n.netns, ['-4', 'route', 'show', `${second.ip}/32`])).toContain(
      `dev ${second.hostIfName} proto 78 scope link`,
    );
    await startEchoServer(lab, { netns, ip: pod.ip });
    expect(await echoOnce(lab, pods.get('n1')![0]!, [pod.ip])).toEqual({ [pod.ip]: 'ok' });
    const b3 = runner.count;
    await s.commit(podItems(n, second).map((i) => ({ key: i.key, value: undefined })));
    expect(runner.count - b3).toBe(2);
    // Eight pods in one transaction (a kubelet starting pods at once): the node side of all eight
    // is one process, each pod side one; removing them, one process for routes, one for links.
    const eight: TestPod[] = [];
    for (let i = 0; i < 8; i++)
      eight.push({
        ...pod,
        name: `many${i}`,
        containerId: `cm${i}`,
        netns: await lab.netns(`n2-many${i}`),
        ip: `10.1.2.${80 + i}`,
        hostIfName: `${lab.prefix}m${i}`,
      });
    const b4 = runner.count;
    const t2 = performance.now();
    const rec8 = await s.commit(eight.flatMap((p) => podItems(n, p)));
    const ms8 = performance.now() - t2;
    expect(rec8.errors).toEqual([]);
    expect(runner.count - b4).toBe(9);
    for (const p of eight) await startEchoServer(lab, { netns: p.netns, ip: p.ip });
    expect(
      await echoOnce(
        lab,
        pods.get('n1')![0]!,
        eight.map((p) => p.ip),
      ),
    ).toEqual(Object.fromEntries(eight.map((p) => [p.ip, 'ok'])));
    const b5 = runner.count;
    await s.commit(eight.flatMap((p) => podItems(n, p)).map((i) => ({ key: i.key, value: undefined })));
    expect(runner.count - b5).toBe(2);
    expect(await lab.ip(n.netns, ['-o', 'link', 'show', 'type', 'veth'])).not.toContain(`${lab.prefix}m`);
    console.log(
      `linux driver: wire one pod ${ms.toFixed(1)} ms (first), ${ms2.toFixed(1)} ms (next, 2 processes); eight at once ${ms8.toFixed(1)} ms (9 processes)`,
    );
    await s.close();
    void ECHO_PORT;
  });

  it('with the node namespace ip session: one process per pod (its own namespace), the node side none', async () => {
    const n = nodes[1]!;
    const runner = countingRunner(spawnRunner());
    const session = new IpSession({ netns: n.netns });
    const driver = createLinuxDriver({ hostNetns: n.netns, runner, session });
    const s = new KvScheduler({ driver, logger: silentLogger() });
    try {
      await s.resync({ desired: desired(n) });
      const mk = async (i: number): Promise<TestPod> => ({
        namespace: 'default',
        name: `sess${i}`,
        containerId: `cs${i}`,
        netns: await lab.netns(`n2-sess${i}`),
        ip: `10.1.2.${60 + i}`,
        hostIfName: `${lab.prefix}s${i}`,
      });
      const one = await mk(0);
      const [p0, r0] = [runner.count, session.requests];
      expect((await s.commit(podItems(n, one))).errors).toEqual([]);
      // The first pod of a driver also turns forwarding on (one sysctl, once).
      expect([runner.count - p0, session.requests - r0]).toEqual([2, 1]);
      const four = await Promise.all([1, 2, 3, 4].map(mk));
      const [p1, r1] = [runner.count, session.requests];
      expect((await s.commit(four.flatMap((p) => podItems(n, p)))).errors).toEqual([]);
      expect([runner.count - p1, session.requests - r1]).toEqual([4, 1]);
      for (const p of [one, ...four]) await startEchoServer(lab, { netns: p.netns, ip: p.ip });
      const all = [one, ...four].map((p) => p.ip);
      expect(await echoOnce(lab, pods.get('n1')![0]!, all)).toEqual(
        Object.fromEntries(all.map((ip) => [ip, 'ok'])),
      );
      // Removal: routes, then links, each one session request; no process.
      const [p2, r2] = [runner.count, session.requests];
      const gone = [one, ...four]
        .flatMap((p) => podItems(n, p))
        .map((i) => ({ key: i.key, value: undefined }));
      expect((await s.commit(gone)).errors).toEqual([]);
      expect([runner.count - p2, session.requests - r2]).toEqual([0, 2]);
      expect(await lab.ip(n.netns, ['-o', 'link', 'show', 'type', 'veth'])).not.toContain(`${lab.prefix}s`);
      // A resync afterwards finds exactly what it wants: nothing to change.
      const again = await s.resync({ desired: desired(n) });
      expect(again.counts).toEqual({ create: 0, update: 0, delete: 0 });
    } finally {
      await s.close();
      await driver.close?.();
    }
  });
});
