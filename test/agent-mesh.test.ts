// `netloom agent --mesh` with the linux data plane, without Kubernetes: two clusters ("east",
// pods in 10.1.0.0/16, and "west", 10.2.0.0/16) on one etcd, one node each, in network namespaces
// on one underlay bridge; pods wired by the bundled shim. Without the mesh a pod of east cannot
// reach a pod of west; once both agents run with --mesh it reaches it, and the answer names the
// pod's own address (no source NAT across clusters). A third cluster whose pod CIDR overlaps
// east's is refused at start with --mesh (exit 2, one line) and only warned about without it.
// The full lab version (two API servers, two KSRs) is test/lab-multicluster.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedKeyspace } from '../lib/keyspace.ts';
import type { Store } from '../lib/etcd/store.ts';
import { buildCni } from '../scripts/build-cni.ts';
import { CniRunner, k8sArgs, type ConfList } from '../cli/lab/kubelet/cni-runner.ts';
import { AgentProcess, FAST, until } from './agent-support.ts';
import { etcdFlags, startEtcd, type EtcdHandle } from './harness/etcd.ts';
import { Lab } from './lab/netns.ts';
import { linuxLabAvailable, skipUnless } from './harness/availability.ts';

const skip = skipUnless('agent --mesh across two clusters (linux data plane)', linuxLabAvailable());
const ECHO = join(import.meta.dirname, '..', 'cli', 'lab', 'echo-server.ts');
const lab = new Lab();
const tmp = mkdtempSync(join(tmpdir(), 'netloom-mesh-'));
let etcd: EtcdHandle;
let store: Store;

const CLUSTERS = {
  east: ['--pod-cidr', '10.1.0.0/16', '--service-cidr', '10.96.0.0/12'],
  west: ['--pod-cidr', '10.2.0.0/16', '--service-cidr', '10.112.0.0/12'],
} as const;
type ClusterName = keyof typeof CLUSTERS;

interface Node {
  cluster: ClusterName;
  name: string;
  netns: string;
  ip: string;
  dir: string;
  socket: string;
  agent?: AgentProcess;
  runner: CniRunner;
  conflist: ConfList;
}
const nodes: Node[] = [];
const pods: { node: Node; netns: string; ip: string }[] = [];

const deployed = JSON.parse(
  readFileSync(new URL('../deploy/netloom.conflist', import.meta.url), 'utf8'),
) as ConfList;

function agentFor(n: Node, mesh: boolean): AgentProcess {
  return new AgentProcess({
    etcd: etcd.configFor('agent'),
    node: n.name,
    cluster: n.cluster,
    stateDir: n.dir,
    args: [
      ...FAST,
      ...CLUSTERS[n.cluster],
      '--mesh',
      String(mesh),
      '--dataplane',
      'linux',
      '--linux-netns',
      `/run/netns/${n.netns}`,
      '--cni-socket',
      n.socket,
      '--management-ip',
      n.ip,
      '--resync-interval-seconds',
      '0',
      '--ipam-gc-interval-seconds',
      '0',
      '--id-settle-ms',
      '0',
    ],
  });
}

async function restartAll(mesh: boolean): Promise<void> {
  for (const n of nodes) await n.agent?.stop();
  for (const n of nodes) {
    n.agent = agentFor(n, mesh);
    await n.agent.start();
  }
  for (const n of nodes) await n.agent!.waitReady(60_000);
}

/** An HTTP GET from inside a pod to the echo server of another: its answer names who it saw. */
function curl(from: { netns: string }, ip: string): { ok: boolean; out: string } {
  const r = spawnSync(
    'nsenter',
    [`--net=${from.netns}`, 'curl', '-s', '--max-time', '2', `http://${ip}:8080/`],
    {
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

beforeAll(async () => {
  if (skip) return;
  etcd = await startEtcd({ name: 'mesh' });
  store = etcd.store();
  const names = [await lab.netns('east1'), await lab.netns('west1')];
  const underlay = await lab.underlay(names);
  const bin = join(tmp, 'bin');
  await buildCni(join(bin, 'netloom'));
  for (const [i, u] of underlay.entries()) {
    const cluster: ClusterName = i === 0 ? 'east' : 'west';
    const dir = join(tmp, `${cluster}1`);
    mkdirSync(dir, { recursive: true });
    const socket = join(dir, 'cni.sock');
    const plugins = deployed.plugins.map((p) =>
      p['type'] === 'netloom' ? { ...p, agentSocket: socket, logFile: join(dir, 'cni.log') } : p,
    );
    nodes.push({
      cluster,
      name: `${cluster}-node1`,
      netns: u.netns,
      ip: u.ip,
      dir,
      socket,
      runner: new CniRunner({ cniPath: [bin, '/usr/lib/cni'], netns: u.netns }),
      conflist: { ...deployed, plugins },
    });
  }
  await restartAll(false);
  for (const [i, n] of nodes.entries()) {
    const netns = `/run/netns/${await lab.netns(`${n.cluster}p`)}`;
    const result = await n.runner.add(n.conflist, {
      containerId: `mesh${i}`,
      netns,
      ifname: 'eth0',
      args: k8sArgs({ namespace: 'lab', name: `p-${n.cluster}`, uid: `u-${i}` }, `mesh${i}`),
      capabilityArgs: { portMappings: [] },
    });
    const ip = (result['ips'] as { address: string }[])[0]!.address.split('/')[0]!;
    pods.push({ node: n, netns, ip });
    // The lab's pod process prints nothing when it listens: the shell says "ready" for it.
    await lab.start(netns, 'sh', ['-c', `echo ready; exec ${process.execPath} ${ECHO} 8080`]);
  }
}, 180_000);

afterAll(async () => {
  for (const n of nodes) await n.agent?.stop().catch(() => undefined);
  await lab.destroy();
  await etcd?.destroy();
  rmSync(tmp, { recursive: true, force: true });
  expect(lab.leftovers()).toEqual([]);
});

describe.skipIf(skip)('agent --mesh: two clusters on one etcd, real packets', () => {
  it('gives the two clusters distinct node IDs, registers both plans, and routes nothing across without the mesh', async () => {
    const [east, west] = pods;
    expect(east!.ip).toMatch(/^10\.1\./);
    expect(west!.ip).toMatch(/^10\.2\./);
    const shared = new SharedKeyspace();
    const ids = (await store.list(shared.prefix('sharedNodeId'))).kvs.map((kv) => kv.value).sort();
    expect(ids).toEqual(['east/east-node1', 'west/west-node1']);
    const plans = (await store.list(shared.prefix('cluster'))).kvs.map((kv) => [
      shared.tryParse(kv.key),
      JSON.parse(kv.value) as { podCidr: string; mesh: boolean },
    ]);
    expect(
      plans.map(([ref, p]) => [(ref as { cluster: string }).cluster, (p as { podCidr: string }).podCidr]),
    ).toEqual([
      ['east', '10.1.0.0/16'],
      ['west', '10.2.0.0/16'],
    ]);
    // Each pod reaches itself through its own echo server; the other cluster's not at all.
    for (const p of pods) await until(() => curl(p, p.ip).out.includes(`you are ${p.ip}`), 10_000);
    expect(curl(east!, west!.ip).ok).toBe(false);
    expect(curl(west!, east!.ip).ok).toBe(false);
  });

  it('with --mesh on both agents, each pod reaches the other cluster through the tunnel', async () => {
    await restartAll(true);
    const [east, west] = pods;
    let answer = '';
    await until(() => {
      const r = curl(east!, west!.ip);
      answer = r.out;
      return r.ok;
    }, 20_000);
    expect(answer).toMatch(/you are /);
    expect(curl(west!, east!.ip).ok).toBe(true);
    // The routes are the mesh's items, as the agent reports them.
    const items = await nodes[0]!.agent!.api<{ key: string; value: unknown }[]>('/api/v1/items/applied');
    const keys = items.map((i) => i.key);
    expect(keys).toContain('tunnel/10/west-node1@west');
    expect(keys).toContain(`route/0/${west!.ip.split('.').slice(0, 3).join('.')}.0/24`);
  }, 120_000);

  // The except-list grows by the meshed pod CIDRs (an interval set once prefixes are adjacent):
  // the driver swaps the rule by delete + add, as nft 1.0.6 aborts on `replace rule … handle`.
  it('keeps the source address across clusters (the source NAT leaves meshed pod CIDRs alone)', async () => {
    const [east, west] = pods;
    const status = await nodes[0]!.agent!.api<{ key: string; state: string; error?: unknown }[]>(
      '/api/v1/items/status?prefix=snat/',
    );
    expect(
      status.map((s) => s.state),
      JSON.stringify(status),
    ).toEqual(['configured']);
    expect(curl(east!, west!.ip).out).toContain(`you are ${east!.ip}`);
    expect(curl(west!, east!.ip).out).toContain(`you are ${west!.ip}`);
  });

  it('refuses a --mesh agent whose pod CIDR overlaps a registered cluster, with one line', () => {
    const dir = join(tmp, 'dup');
    mkdirSync(dir, { recursive: true });
    const run = (mesh: boolean): { status: number | null; stderr: string } =>
      spawnSync(
        process.execPath,
        [
          join(import.meta.dirname, '..', 'cli', 'netloom.ts'),
          'agent',
          '--node-name',
          'dup-node1',
          '--cluster',
          'dup',
          ...etcdFlags(etcd.configFor('agent')),
          '--state-dir',
          dir,
          '--dataplane',
          'fake',
          '--management-ip',
          '192.168.77.99',
          '--metrics-addr',
          '127.0.0.1:0',
          '--pod-cidr',
          '10.1.128.0/17',
          '--service-cidr',
          '10.200.0.0/16',
          '--mesh',
          String(mesh),
        ],
        { encoding: 'utf8', timeout: 20_000 },
      );
    const refused = run(true);
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim().split('\n')).toEqual([
      "netloom agent: configuration error: mesh: cluster dup cannot join the mesh: our pod CIDR 10.1.128.0/17 overlaps cluster east's pod CIDR 10.1.0.0/16 (clusters sharing netloom's etcd with --mesh need disjoint pod and service CIDRs)",
    ]);
  });
});
