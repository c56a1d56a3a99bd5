// The agent as users run it (agent/assemble.ts, `--dataplane vpp`) against a REAL VPP (issue 18),
// with real etcd and the bundled CNI shim executed as a runtime executes it. VPP runs in a node
// namespace with its uplink (host-up0) on an underlay bridge; the agent loads the API
// definitions of the VPP it runs against (the build's vppapigen output), and, this kernel
// having no /dev/vhost-net, wires pods as veth pairs whose node end VPP takes by af_packet.
// Real packets: two pods added through the shim ping their gateway (VPP's loopback) and each
// other; an agent restart makes zero VPP changes; DEL removes the pod's interface from VPP and
// releases its address. Skipped loudly where there is no VPP (CI keeps the fake).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../lib/keyspace.ts';
import { silentLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import { sleep } from '../lib/timing.ts';
import type { Agent } from '../agent/agent.ts';
import { assembleAgent } from '../agent/assemble.ts';
import { agentConfigSchema, type AgentConfig } from '../agent/config.ts';
import { loadV25Definitions } from '../agent/dataplane/vpp/testing/definitions.ts';
import { run } from '../cli/lab/exec.ts';
import { addNetns, delNetns } from '../cli/lab/netns.ts';
import { buildCni } from '../scripts/build-cni.ts';
import { runShim } from './harness/cni-shim.ts';
import { allOf, etcdAvailable, netnsAvailable, skipUnless, vppAvailable } from './harness/availability.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import {
  runTag,
  startRealVppNode,
  startUnderlay,
  vppBuild,
  type RealVppNode,
  type Underlay,
} from './vpp-real-support.ts';

const skip = skipUnless(
  'agent on a real VPP through the CNI shim',
  allOf(etcdAvailable(), netnsAvailable(), vppAvailable()),
);

const ping = async (netns: string, ip: string): Promise<boolean> => {
  for (let i = 0; i < 5; i++) {
    const r = await run('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '2', ip]);
    if (r.code === 0) return true;
  }
  return false;
};

describe.skipIf(skip)('agent with --dataplane vpp on a real VPP, CNI through the real shim', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'netloom-vpp-real-agent-'));
  const socketPath = join(tmp, 'cni.sock');
  const ks = new Keyspace('vppreal');
  const pods = [1, 2].map((i) => ({ netns: `nra${runTag}${i}`, id: `c0ffee0${i}`, name: `web-${i}` }));
  let etcd: EtcdHandle;
  let underlay: Underlay;
  let node: RealVppNode;
  let config: AgentConfig;
  let agent: Agent | undefined;
  let shim: string;
  const conf = { cniVersion: '1.1.0', name: 'netloom', type: 'netloom', agentSocket: socketPath };
  const envOf = (p: (typeof pods)[number]): Record<string, string> => ({
    CNI_CONTAINERID: p.id,
    CNI_NETNS: `/run/netns/${p.netns}`,
    CNI_IFNAME: 'eth0',
    CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${p.name};K8S_POD_INFRA_CONTAINER_ID=${p.id}`,
  });
  const ips: string[] = [];

  const startAgent = async (): Promise<Agent> => {
    const a = await assembleAgent(config, '192.168.0.1', {
      store: etcd.store(),
      logger: silentLogger(),
      registry: createRegistry('agent', { processMetrics: false }),
    });
    const deadline = Date.now() + 30_000;
    while (a.readiness() !== null && Date.now() < deadline) await sleep(50);
    return a;
  };

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'vpp-real-agent' });
    underlay = await startUnderlay();
    node = await startRealVppNode({
      definitions: await loadV25Definitions(),
      address: '192.168.0.1',
      underlay,
    });
    for (const p of pods) await addNetns(p.netns);
    config = agentConfigSchema.parse({
      nodeName: 'vpp-real-node',
      cluster: 'vppreal',
      stateDir: join(tmp, 'state'),
      dataplane: 'vpp',
      vppSocket: node.vpp.paths.apiSocket,
      // The definitions of the VPP it runs against, as vppapigen wrote them for its build.
      vppApiDir: vppBuild().apiDir,
      vppUplinkInterface: node.uplink.interface,
      vppUplinkAddress: node.uplink.address,
      vppPodInterface: 'veth',
      // The veths' node ends live where VPP does.
      linuxNetns: node.netns,
      cniSocket: socketPath,
      managementIp: '192.168.0.1',
      idSettleMs: 0,
      resyncIntervalSeconds: 0,
      ipamGcIntervalSeconds: 0,
    });
    agent = await startAgent();
    shim = await buildCni(join(tmp, 'bin', 'netloom'));
  }, 120_000);

  afterAll(async () => {
    await agent?.close().catch(() => undefined);
    await node?.close();
    for (const p of pods) await delNetns(p.netns).catch(() => undefined);
    await underlay?.close();
    await etcd?.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('is ready once its node items are programmed in the real VPP', async () => {
    expect(agent!.readiness()).toBeNull();
    const itf = await node.vpp.vppctl('show', 'interface');
    expect(itf).toMatch(/loop0/);
    expect(itf).toMatch(/loop1/);
  });

  it('ADD through the shim: a valid result, and the pods reach their gateway and each other', async () => {
    for (const p of pods) {
      const add = await runShim(shim, 'ADD', envOf(p), conf);
      expect(add.code, JSON.stringify(add.out)).toBe(0);
      const result = add.out as {
        ips: { address: string; gateway: string }[];
        interfaces: { name: string }[];
      };
      expect(result.interfaces.map((i) => i.name)).toContain('eth0');
      ips.push(result.ips[0]!.address.split('/')[0]!);
    }
    const gateway = agent!.node.gateway;
    expect(await ping(pods[0]!.netns, gateway)).toBe(true);
    expect(await ping(pods[0]!.netns, ips[1]!)).toBe(true);
    expect(await ping(pods[1]!.netns, ips[0]!)).toBe(true);
    const itf = await node.vpp.vppctl('show', 'interface');
    expect(itf.match(/host-\S+/g)?.length).toBeGreaterThanOrEqual(3); // uplink + two pods
  }, 60_000);

  it('an agent restart makes no change in VPP, and the pods keep working', async () => {
    const before = await node.vpp.vppctl('show', 'interface', 'addr');
    const fibBefore = await node.vpp.vppctl('show', 'ip', 'fib', 'table', '0');
    await agent!.close();
    agent = await startAgent();
    expect(agent.readiness()).toBeNull();
    expect(await node.vpp.vppctl('show', 'interface', 'addr')).toBe(before);
    // The FIB's counters move with traffic; its entries must not.
    const entries = (fib: string): string[] =>
      fib.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(l));
    expect(entries(await node.vpp.vppctl('show', 'ip', 'fib', 'table', '0'))).toEqual(entries(fibBefore));
    expect(await ping(pods[0]!.netns, ips[1]!)).toBe(true);
  }, 90_000);

  it('DEL removes the pod from VPP and releases its address; a second DEL succeeds', async () => {
    const p = pods[1]!;
    const hostIfs = async (): Promise<number> =>
      (await node.vpp.vppctl('show', 'interface')).match(/host-\S+/g)?.length ?? 0;
    const before = await hostIfs();
    expect((await runShim(shim, 'DEL', envOf(p), conf)).code).toBe(0);
    const ipam = await etcd.store().list(ks.prefix('ipam', 'vpp-real-node'));
    expect(ipam.kvs.map((kv) => kv.key.slice(kv.key.lastIndexOf('/') + 1))).toEqual([ips[0]]);
    expect(await hostIfs()).toBe(before - 1);
    const once = await run('ip', ['netns', 'exec', pods[0]!.netns, 'ping', '-c', '1', '-W', '1', ips[1]!]);
    expect(once.code).not.toBe(0);
    expect((await runShim(shim, 'DEL', envOf(p), conf)).code).toBe(0);
  }, 60_000);
});
