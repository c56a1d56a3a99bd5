// A node's attachments file corrupted while its agent is down: the restarted agent (the
// production assembly, linux driver, real etcd, pods wired through the real shim) comes up, sets
// the file aside, rebuilds the records from its IPAM records, and changes nothing in the data
// plane — pods keep their addresses and keep talking. A DEL of an existing pod still removes
// its interface and releases its address.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../lib/keyspace.ts';
import type { Store } from '../lib/etcd/store.ts';
import { countingRunner, spawnRunner } from '../agent/dataplane/linux/exec.ts';
import { buildCni } from '../scripts/build-cni.ts';
import { etcdAvailable, netnsAvailable, skipUnless } from './harness/availability.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import { CLUSTER, LabAgent, singleLabNode, type LabNode } from './lab/agent.ts';
import { CniRunner, type ConfList, type RuntimeConf } from '../cli/lab/kubelet/cni-runner.ts';
import { echoOnce, startEchoServer, type EchoPod } from './lab/echo.ts';
import { Lab } from './lab/netns.ts';

const skip = skipUnless(
  'attachments file rebuilt after corruption',
  netnsAvailable().ok ? etcdAvailable() : netnsAvailable(),
);

describe.skipIf(skip)('a corrupt attachments file is rebuilt, never fatal', () => {
  const lab = new Lab();
  const tmp = mkdtempSync(join(tmpdir(), 'netloom-rebuild-'));
  const keyspace = new Keyspace(CLUSTER);
  let etcd: EtcdHandle;
  let store: Store;
  let node: LabNode;
  let agent: LabAgent | undefined;
  let runner: CniRunner;
  let conf: ConfList;
  const pods: (EchoPod & { rt: RuntimeConf })[] = [];

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'rebuild' });
    store = etcd.store();
    node = await singleLabNode(lab, tmp, 'rb');
    agent = await LabAgent.start({ node, store });
    const bin = join(tmp, 'bin');
    await buildCni(join(bin, 'netloom'));
    runner = new CniRunner({ cniPath: [bin], netns: node.netns });
    conf = {
      cniVersion: '1.0.0',
      name: 'netloom',
      plugins: [{ type: 'netloom', agentSocket: node.socketPath }],
    };
    for (let i = 0; i < 3; i++) {
      // One pod's namespace is known only by /proc/<pid>/ns/net, as some runtimes give it.
      const netns = i === 2 ? await lab.pidNetns() : `/run/netns/${await lab.netns(`rbp${i}`)}`;
      const rt: RuntimeConf = {
        containerId: `rebuild${i}`,
        netns,
        ifname: 'eth0',
        args: [
          ['IgnoreUnknown', '1'],
          ['K8S_POD_NAMESPACE', 'default'],
          ['K8S_POD_NAME', `pod-${i}`],
        ],
      };
      const result = await runner.add(conf, rt);
      const ip = (result['ips'] as { address: string }[])[0]!.address.split('/')[0]!;
      pods.push({ netns, ip, rt });
      await startEchoServer(lab, pods[i]!);
    }
  }, 60_000);

  afterAll(async () => {
    await agent?.kill().catch(() => undefined);
    await lab.destroy();
    await etcd?.destroy();
    rmSync(tmp, { recursive: true, force: true });
    expect(lab.leftovers()).toEqual([]);
  });

  const ipamIps = async (): Promise<string[]> =>
    (await store.list(keyspace.prefix('ipam', node.name))).kvs
      .map((kv) => kv.key.slice(kv.key.lastIndexOf('/') + 1))
      .sort();

  it('restarts over a corrupt file: records rebuilt from IPAM, no data-plane change, pods keep their addresses and talk', async () => {
    const file = join(node.stateDir, `attachments-${CLUSTER}.json`);
    const before = JSON.parse(readFileSync(file, 'utf8')) as { containerId: string }[];
    expect(before).toHaveLength(3);
    await agent!.kill();
    writeFileSync(file, '[{"containerId": "rebuild0", "ifn'); // torn mid-write
    const runnerCount = countingRunner(spawnRunner());
    agent = await LabAgent.start({ node, store, runner: runnerCount });
    expect(agent.startup.errors).toEqual([]);
    expect(agent.startup.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(
      runnerCount.commands.filter((c) => !/ (show|list)\b/.test(c) && !c.endsWith('-json -force -batch -')),
    ).toEqual([]);
    // The damaged file is kept aside for whoever investigates; the new one lists the same pods.
    expect(readdirSync(node.stateDir).some((f) => f.startsWith(`attachments-${CLUSTER}.json.corrupt-`))).toBe(
      true,
    );
    const after = JSON.parse(readFileSync(file, 'utf8')) as { containerId: string; netns: string }[];
    expect(after.map((a) => a.containerId).sort()).toEqual(before.map((a) => a.containerId).sort());
    expect(after.find((a) => a.containerId === 'rebuild2')?.netns).toBe(pods[2]!.netns);
    expect(await ipamIps()).toEqual(pods.map((p) => p.ip).sort());
    const echo = await echoOnce(lab, pods[0]!, [pods[1]!.ip, pods[2]!.ip]);
    expect(echo).toEqual({ [pods[1]!.ip]: 'ok', [pods[2]!.ip]: 'ok' });
  });

  it('a DEL of an existing pod still removes its interface and releases its address; CHECK of the others passes', async () => {
    const [gone, ...kept] = pods;
    await runner.del(conf, gone!.rt);
    expect(await ipamIps()).toEqual(kept.map((p) => p.ip).sort());
    const links = JSON.parse(await lab.ip(node.netns, ['-json', 'link', 'show'])) as { ifalias?: string }[];
    expect(
      links
        .filter((l) => l.ifalias?.startsWith('netloom:pod-interface/'))
        .map((l) => l.ifalias)
        .sort(),
    ).toEqual(['netloom:pod-interface/default/pod-1/eth0', 'netloom:pod-interface/default/pod-2/eth0']);
    for (const p of kept) await runner.check(conf, p.rt);
    for (const p of kept) await runner.del(conf, p.rt);
    expect(await ipamIps()).toEqual([]);
    expect(existsSync(join(node.stateDir, `attachments-${CLUSTER}.json`))).toBe(true);
  });
});
