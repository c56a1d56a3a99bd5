// The agent as users run it (agent/assemble.ts) with `--dataplane vpp` against the fake VPP
// server, real etcd, and the bundled CNI shim executed as a runtime executes it: ADD answers a
// valid CNI result built from what the VPP driver reported (VPP's TAP as the node-side
// interface, the pod's address and gateway), VPP holds the TAP in the pod's namespace, and DEL
// removes it and releases the address.
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
import { agentConfigSchema } from '../agent/config.ts';
import type { FakeVppServer } from '../agent/dataplane/vpp/fake/server.ts';
import { V25_10_DIR } from '../agent/dataplane/vpp/testing/definitions.ts';
import { UPLINK, bootedState } from '../agent/dataplane/vpp/testing/driver-lab.ts';
import { fakeLab, type FakeLab } from '../agent/dataplane/vpp/testing/fake.ts';
import { buildCni } from '../scripts/build-cni.ts';
import { runShim } from './harness/cni-shim.ts';
import { etcdAvailable, skipUnless } from './harness/availability.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';

const skip = skipUnless('agent on the vpp data plane through the CNI shim', etcdAvailable());

describe.skipIf(skip)('agent with --dataplane vpp (fake VPP), CNI through the real shim', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'netloom-vpp-agent-'));
  const socketPath = join(tmp, 'cni.sock');
  const netns = '/var/run/netns/vpp-pod-1';
  const ks = new Keyspace('vpplab');
  let etcd: EtcdHandle;
  let vpp: FakeLab;
  let server: FakeVppServer;
  let agent: Agent;
  let shim: string;
  const conf = { cniVersion: '1.1.0', name: 'netloom', type: 'netloom', agentSocket: socketPath };
  const podEnv = {
    CNI_CONTAINERID: 'c0ffee01',
    CNI_NETNS: netns,
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=c0ffee01',
  };

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'vpp-agent' });
    vpp = await fakeLab();
    server = await vpp.start({ state: bootedState() });
    const config = agentConfigSchema.parse({
      nodeName: 'vpp-node',
      cluster: 'vpplab',
      stateDir: join(tmp, 'state'),
      dataplane: 'vpp',
      vppSocket: vpp.socketPath,
      vppApiDir: V25_10_DIR,
      vppUplinkInterface: UPLINK.interface,
      vppUplinkAddress: UPLINK.address,
      // The fake VPP plays the TAP's pod side itself; `auto` would pick veth on a node without
      // /dev/vhost-net, whose pod side is real (test/vpp-veth-netns.test.ts).
      vppPodInterface: 'tap',
      cniSocket: socketPath,
      managementIp: UPLINK.address,
      idSettleMs: 0,
      resyncIntervalSeconds: 0,
      ipamGcIntervalSeconds: 0,
    });
    agent = await assembleAgent(config, UPLINK.address, {
      store: etcd.store(),
      logger: silentLogger(),
      registry: createRegistry('agent', { processMetrics: false }),
    });
    const deadline = Date.now() + 20_000;
    while (agent.readiness() !== null && Date.now() < deadline) await sleep(20);
    shim = await buildCni(join(tmp, 'bin', 'netloom'));
  }, 60_000);

  afterAll(async () => {
    await agent?.close();
    await vpp?.cleanup();
    await etcd?.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('is ready once its gateway loopback and VXLAN end are programmed in VPP', () => {
    expect(agent.readiness()).toBeNull();
    const names = [...server.state.interfaces.values()].map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['loop0', 'loop1']));
  });

  it('ADD answers a valid CNI result: VPP TAP, pod interface in its netns, IP and gateway', async () => {
    const add = await runShim(shim, 'ADD', podEnv, conf);
    expect(add.code).toBe(0);
    const tap = [...server.state.interfaces.values()].find((i) => i.name.startsWith('tap'));
    expect(tap).toBeDefined();
    const vppMac = Array.from(tap!.mac, (b) => b.toString(16).padStart(2, '0')).join(':');
    const subnet = agent.node.podSubnet.replace(/\.0\/24$/, '');
    expect(add.out).toMatchObject({
      cniVersion: '1.1.0',
      interfaces: [
        { name: tap!.name, mac: vppMac, mtu: 1450 },
        { name: 'eth0', mac: expect.stringMatching(/^0a:58(:[0-9a-f]{2}){4}$/), mtu: 1450, sandbox: netns },
      ],
      ips: [{ address: `${subnet}.2/32`, gateway: agent.node.gateway, interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: agent.node.gateway }],
    });
    // VPP holds the TAP with the pod's side in its namespace, as the result says.
    const taps = [...server.state.interfaces.values()].flatMap((i) => (i.tap ? [i.tap] : []));
    expect(taps.map((t) => [t['host_if_name'], t['host_namespace']])).toEqual([['eth0', netns]]);
    const ipam = await etcd.store().list(ks.prefix('ipam', 'vpp-node'));
    expect(ipam.kvs.map((kv) => kv.key.slice(kv.key.lastIndexOf('/') + 1))).toEqual([`${subnet}.2`]);
    // CHECK agrees with what ADD answered.
    const check = await runShim(shim, 'CHECK', podEnv, { ...conf, prevResult: add.out });
    expect(check).toEqual({ code: 0, out: {} });
  });

  it('DEL removes the TAP and releases the address; a second DEL succeeds', async () => {
    expect((await runShim(shim, 'DEL', podEnv, conf)).code).toBe(0);
    expect([...server.state.interfaces.values()].some((i) => i.name.startsWith('tap'))).toBe(false);
    expect((await etcd.store().list(ks.prefix('ipam', 'vpp-node'))).kvs).toEqual([]);
    expect((await runShim(shim, 'DEL', podEnv, conf)).code).toBe(0);
  });
});
