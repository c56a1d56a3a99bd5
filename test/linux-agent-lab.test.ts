// The real `netloom agent` processes with the linux data plane: three node namespaces on an
// underlay bridge, one agent process per node (node IDs claimed in etcd, peers found through
// nodes/info, its CNI server on its own socket, the driver in the node's namespace via
// --linux-netns), pods wired by the bundled shim from deploy/netloom.conflist. Agents are
// killed with SIGKILL under traffic and restarted; a node's data plane wiped by hand is
// repaired by the agent's own periodic resync.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../lib/keyspace.ts';
import type { Store } from '../lib/etcd/store.ts';
import type { TxnRecord } from '../agent/scheduler/txn-log.ts';
import { buildCni } from '../scripts/build-cni.ts';
import { AgentProcess, FAST } from './agent-support.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import {
  CniPluginError,
  CniRunner,
  k8sArgs,
  type ConfList,
  type RuntimeConf,
} from '../cli/lab/kubelet/cni-runner.ts';
import { echoMesh, startEchoServer, startStream, type EchoPod } from './lab/echo.ts';
import { Lab } from './lab/netns.ts';
import { linuxLabAvailable, skipUnless } from './harness/availability.ts';

const skip = skipUnless('netloom agent processes with the linux data plane', linuxLabAvailable());
const CLUSTER = 'linuxlab';
const lab = new Lab();
const tmp = mkdtempSync(join(tmpdir(), 'netloom-agentlab-'));
const keyspace = new Keyspace(CLUSTER);
let etcd: EtcdHandle;
let store: Store;

interface Node {
  name: string;
  netns: string;
  ip: string;
  dir: string;
  socket: string;
  agent: AgentProcess;
  runner: CniRunner;
  conflist: ConfList;
}
const nodes: Node[] = [];
const pods: (EchoPod & { node: Node; rt: RuntimeConf })[] = [];

const deployed = JSON.parse(
  readFileSync(new URL('../deploy/netloom.conflist', import.meta.url), 'utf8'),
) as ConfList;

function agentFor(n: Omit<Node, 'agent' | 'runner' | 'conflist'>): AgentProcess {
  return new AgentProcess({
    etcd: etcd.configFor('agent'),
    node: n.name,
    cluster: CLUSTER,
    stateDir: n.dir,
    args: [
      ...FAST,
      '--dataplane',
      'linux',
      '--linux-netns',
      `/run/netns/${n.netns}`,
      '--cni-socket',
      n.socket,
      '--management-ip',
      n.ip,
      '--resync-interval-seconds',
      '2',
      '--ipam-gc-interval-seconds',
      '0',
      '--id-settle-ms',
      '0',
      '--owner-wait-ms',
      '8000',
    ],
  });
}

const rt = (i: number, netns: string): RuntimeConf => ({
  containerId: `feed${String(i).padStart(4, '0')}`,
  netns,
  ifname: 'eth0',
  args: k8sArgs({ namespace: 'lab', name: `p-${i}`, uid: `u-${i}` }, `feed${i}`),
  capabilityArgs: { portMappings: [] },
});

beforeAll(async () => {
  etcd = await startEtcd();
  store = etcd.store();
  const names = [await lab.netns('a1'), await lab.netns('a2'), await lab.netns('a3')];
  const underlay = await lab.underlay(names);
  const bin = join(tmp, 'bin');
  await buildCni(join(bin, 'netloom'));
  for (const [i, u] of underlay.entries()) {
    const base = {
      name: `agent-node-${i + 1}`,
      netns: u.netns,
      ip: u.ip,
      dir: join(tmp, `n${i + 1}`),
      socket: join(tmp, `n${i + 1}`, 'cni.sock'),
    };
    mkdirSync(base.dir, { recursive: true });
    const plugins = deployed.plugins.map((p) =>
      p['type'] === 'netloom'
        ? { ...p, agentSocket: base.socket, logFile: join(tmp, `n${i + 1}-cni.log`) }
        : p,
    );
    nodes.push({
      ...base,
      agent: agentFor(base),
      runner: new CniRunner({ cniPath: [bin, '/usr/lib/cni'], netns: u.netns }),
      conflist: { ...deployed, plugins },
    });
  }
  // The Kubernetes Node objects, as the reflector mirrors them: a peer whose agent is down
  // (its nodes/info lease expired) stays a peer while its Node exists.
  for (const n of nodes) {
    await store.put(
      keyspace.key({ kind: 'node', name: n.name }),
      JSON.stringify({ name: n.name, addresses: [{ type: 'InternalIP', address: n.ip }] }),
    );
  }
  for (const n of nodes) await n.agent.start();
  for (const n of nodes) await n.agent.waitReady(60_000);
});

afterAll(async () => {
  for (const n of nodes) await n.agent.stop().catch(() => undefined);
  await lab.destroy();
  await etcd?.destroy();
  rmSync(tmp, { recursive: true, force: true });
  expect(lab.leftovers()).toEqual([]);
});

describe.skipIf(skip)('netloom agent processes with the linux data plane', () => {
  it('wire pods through the shim; every pod reaches every other across nodes', async () => {
    for (let i = 0; i < 9; i++) {
      const n = nodes[i % 3]!;
      const netns =
        i % 3 === 2 ? await lab.pidNetns() : `/run/netns/${await lab.netns(`a${(i % 3) + 1}p${i}`)}`;
      const r = rt(i, netns);
      const result = await n.runner.add(n.conflist, r);
      const ip = (result['ips'] as { address: string }[])[0]!.address.split('/')[0]!;
      pods.push({ node: n, netns, ip, rt: r });
    }
    for (const p of pods) await startEchoServer(lab, p);
    const mesh = await echoMesh(lab, pods);
    expect(mesh.failures).toEqual([]);
    expect(mesh.pairs).toBe(72);
    // What etcd holds is what the pods have.
    for (const n of nodes) {
      const { kvs } = await store.list(keyspace.prefix('ipam', n.name));
      const ips = kvs.map((kv) => keyspace.parse(kv.key)).map((r) => (r.kind === 'ipam' ? r.ip : ''));
      expect(ips.sort()).toEqual(
        pods
          .filter((p) => p.node === n)
          .map((p) => p.ip)
          .sort(),
      );
    }
  });

  it('agents killed with SIGKILL under traffic: no pod loses connectivity; the restarted agents change nothing', async () => {
    const streams = [
      await startStream(lab, pods[0]!, pods[1]!.ip),
      await startStream(lab, pods[1]!, pods[2]!.ip),
      await startStream(lab, pods[2]!, pods[0]!.ip),
    ];
    await new Promise((r) => setTimeout(r, 300));
    for (const n of nodes) n.agent.signal('SIGKILL');
    for (const n of nodes) await n.agent.exited();
    const down = await nodes[0]!.runner
      .add(nodes[0]!.conflist, rt(50, `/run/netns/${await lab.netns('adown')}`))
      .catch((e: unknown) => e);
    expect((down as CniPluginError).cniCode).toBe(11);
    for (const n of nodes) {
      n.agent = agentFor(n);
      await n.agent.start();
    }
    for (const n of nodes) {
      await n.agent.waitReady(60_000);
      const txns = await n.agent.api<TxnRecord[]>('/api/v1/transactions');
      const first = txns.find((t) => t.kind === 'resync');
      expect(first?.errors).toEqual([]);
      expect(first?.counts).toEqual({ create: 0, update: 0, delete: 0 });
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const s of streams) {
      const stats = await s.stop();
      expect(stats.error).toBe('');
      expect(stats.echoed).toBe(stats.sent);
      expect(stats.maxGapMs).toBeLessThan(500);
    }
    expect((await echoMesh(lab, pods)).failures).toEqual([]);
  });

  it("repairs a node's data plane wiped by hand through the agent's periodic resync", async () => {
    const n = nodes[2]!;
    await lab.ip(n.netns, ['link', 'del', 'nlvx10']);
    const veths = JSON.parse(await lab.ip(n.netns, ['-json', 'link', 'show', 'type', 'veth'])) as {
      ifname: string;
    }[];
    for (const v of veths) if (v.ifname !== 'ul0') await lab.ip(n.netns, ['link', 'del', v.ifname]);
    await lab.exec(n.netns, 'nft', ['delete', 'table', 'inet', 'netloom']);
    const deadline = Date.now() + 20_000;
    let mesh = await echoMesh(lab, pods);
    while (mesh.failures.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      mesh = await echoMesh(lab, pods);
    }
    expect(mesh.failures).toEqual([]);
  });

  it('DEL of every pod leaves no address, attachment or interface; SIGTERM removes the socket', async () => {
    for (const p of pods) await p.node.runner.del(p.node.conflist, p.rt);
    for (const n of nodes) {
      expect((await store.list(keyspace.prefix('ipam', n.name))).kvs).toEqual([]);
      const veths = JSON.parse(await lab.ip(n.netns, ['-json', 'link', 'show', 'type', 'veth'])) as {
        ifname: string;
      }[];
      expect(veths.map((v) => v.ifname)).toEqual(['ul0']);
      await n.agent.stop();
      expect(existsSync(n.socket)).toBe(false);
    }
  });
});
