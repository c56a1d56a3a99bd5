// Pods wired through a real VPP (issue 18): two nodes, each a network namespace with its own VPP
// and the vpp driver under the KV scheduler, their uplinks on one underlay bridge. Pods are
// veth pairs given to VPP by af_packet (this kernel has no vhost-net for TAPs). Real packets:
// pods on one node and across nodes (L3 VXLAN between the VPPs) reach each other, and a pod
// reaches the underlay through VPP's source NAT; a new agent's resync makes zero changes; VPP
// killed and started empty is put back by a resync and the pods reach each other again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../cli/lab/exec.ts';
import { addNetns, delNetns } from '../cli/lab/netns.ts';
import { KvScheduler } from '../agent/scheduler/scheduler.ts';
import type { Item } from '../agent/scheduler/descriptor.ts';
import { nodeItems, podItems, type TestPod } from '../agent/dataplane/linux/test-items.ts';
import { loadV25Definitions } from '../agent/dataplane/vpp/testing/definitions.ts';
import { nodes } from '../agent/dataplane/vpp/testing/items.ts';
import { allOf, netnsAvailable, skipUnless, vppAvailable } from './harness/availability.ts';
import {
  runTag,
  startRealVppNode,
  startUnderlay,
  vethScheduler,
  type RealVppNode,
  type Underlay,
} from './vpp-real-support.ts';

const skip = skipUnless('pods through a real VPP', allOf(netnsAvailable(), vppAvailable()));

const pair = nodes.slice(0, 2);

interface Node {
  vpp: RealVppNode;
  scheduler: KvScheduler;
  items: Item[];
  pods: TestPod[];
  newScheduler(): KvScheduler;
}

/** Pod `i` of node `id` (10.1.<id>.<10+i>), in its own namespace. */
const podOf = (id: number, i: number): TestPod => ({
  namespace: 'default',
  name: `p${id}x${i}`,
  containerId: `c${id}x${i}`,
  netns: `/run/netns/np${runTag}${id}${i}`,
  ip: `10.1.${id}.${10 + i}`,
  hostIfName: `v${runTag}${id}${i}`,
});

const nsName = (p: TestPod): string => p.netns.slice('/run/netns/'.length);

async function ping(from: TestPod, to: string): Promise<boolean> {
  const r = await run('ip', ['netns', 'exec', nsName(from), 'ping', '-c', '1', '-W', '2', to]);
  return r.code === 0;
}

/** Pings until one answers (ARP and the first packets through a fresh VPP may be lost). */
async function reaches(from: TestPod, to: string, tries = 5): Promise<boolean> {
  for (let i = 0; i < tries; i++) if (await ping(from, to)) return true;
  return false;
}

describe.skipIf(skip)('pods through a real VPP (veth + af_packet)', () => {
  let underlay: Underlay;
  const built: Node[] = [];
  const podNs: string[] = [];

  beforeAll(async () => {
    const definitions = await loadV25Definitions();
    underlay = await startUnderlay();
    for (const self of pair) {
      const vpp = await startRealVppNode({ definitions, address: self.underlayIp, underlay });
      const pods = [1, 2].map((i) => podOf(self.id, i));
      for (const p of pods) {
        await addNetns(nsName(p));
        podNs.push(nsName(p));
      }
      const newScheduler = (): KvScheduler => vethScheduler(vpp.client, vpp.uplink, vpp.netns);
      const items = [...nodeItems(self, pair), ...pods.flatMap((p) => podItems(self, p))];
      built.push({ vpp, scheduler: newScheduler(), items, pods, newScheduler });
    }
    // The underlay "outside" host: an address on the bridge for the source-NAT check.
    await run('ip', ['-n', underlay.netns, 'addr', 'add', '192.168.0.100/24', 'dev', 'br0']);
  }, 120_000);

  afterAll(async () => {
    for (const n of built) await n.vpp.close();
    for (const ns of podNs) await delNetns(ns).catch(() => undefined);
    await underlay?.close();
  });

  it('wires every pod, and pods reach each other on one node and across nodes', async () => {
    for (const n of built) {
      const rec = await n.scheduler.resync({ desired: n.items });
      expect(rec.errors).toEqual([]);
    }
    const [a, b] = built as [Node, Node];
    const [a1, a2] = a.pods as [TestPod, TestPod];
    const [b1] = b.pods as [TestPod];
    expect(await reaches(a1, a2.ip)).toBe(true);
    expect(await reaches(a1, b1.ip)).toBe(true);
    expect(await reaches(b1, a2.ip)).toBe(true);
    // The evidence an operator reads.
    const itf = await a.vpp.vpp.vppctl('show', 'interface');
    const fib = await a.vpp.vpp.vppctl('show', 'ip', 'fib', 'table', '0');
    process.stderr.write(`vpp-real-pods: node n1 show interface:\n${itf}\nshow ip fib:\n${fib}\n`);
    expect(itf).toContain(`host-${a1.hostIfName}`);
    expect(fib).toContain(`${b1.ip.split('.').slice(0, 3).join('.')}.0/24`);
  }, 60_000);

  it('a pod reaches the underlay through source NAT, seen there as the node address', async () => {
    const [a] = built as [Node];
    const a1 = a.pods[0]!;
    // The underlay namespace has no route to any pod subnet: an answer proves the translation.
    const routes = await run('ip', ['-n', underlay.netns, 'route', 'show']);
    expect(routes.stdout).not.toContain('10.1.');
    expect(await reaches(a1, '192.168.0.100')).toBe(true);
  }, 30_000);

  it('an agent restart (a new scheduler resyncing) makes zero changes', async () => {
    for (const n of built) {
      const rec = await n.newScheduler().resync({ desired: n.items });
      expect(rec.errors).toEqual([]);
      expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    }
  }, 60_000);

  it('VPP killed and started empty: a resync puts every pod back and they reach each other again', async () => {
    const [a, b] = built as [Node, Node];
    await a.vpp.restartVpp();
    const rec = await a.scheduler.resync({ desired: a.items });
    expect(rec.errors).toEqual([]);
    expect(rec.counts.create).toBeGreaterThan(0);
    expect(await reaches(a.pods[0]!, b.pods[0]!.ip)).toBe(true);
    expect(await reaches(b.pods[1]!, a.pods[1]!.ip)).toBe(true);
    const quiet = await a.scheduler.resync({ desired: a.items });
    expect(quiet.counts).toEqual({ create: 0, update: 0, delete: 0 });
  }, 90_000);
});
