// The CNI spec on ADD: "If an interface of the requested name already exists in the container,
// the CNI plugin MUST return with an error." Through the bundled shim, as kubelet runs it, on a
// lab node with the production agent assembly: a second ADD of the same container and interface
// without DEL fails (101) and changes nothing; after DEL the runtime's retry works; an `eth0`
// that someone else put in the pod's namespace fails the ADD (100) and is left as it was, and
// nothing of the failed ADD stays behind (no link, no IPAM key, no attachment).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../lib/keyspace.ts';
import { buildCni } from '../scripts/build-cni.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import { CLUSTER, LabAgent, singleLabNode, type LabNode } from './lab/agent.ts';
import {
  CniPluginError,
  CniRunner,
  k8sArgs,
  type ConfList,
  type RuntimeConf,
} from '../cli/lab/kubelet/cni-runner.ts';
import { Lab } from './lab/netns.ts';
import { linuxLabAvailable, skipUnless } from './harness/availability.ts';

const skip = skipUnless('CNI duplicate ADD through the shim', linuxLabAvailable());
const lab = new Lab();
const tmp = mkdtempSync(join(tmpdir(), 'netloom-dup-'));
let etcd: EtcdHandle;
let agent: LabAgent;
let node: LabNode;
let runner: CniRunner;
let conf: ConfList;

beforeAll(async () => {
  if (skip) return;
  etcd = await startEtcd({ name: 'dup-add' });
  node = await singleLabNode(lab, tmp);
  agent = await LabAgent.start({ node, store: etcd.store() });
  const bin = join(tmp, 'bin');
  await buildCni(join(bin, 'netloom'));
  runner = new CniRunner({ cniPath: [bin], netns: node.netns });
  conf = {
    cniVersion: '1.0.0',
    name: 'netloom',
    plugins: [{ type: 'netloom', agentSocket: node.socketPath }],
  };
});
afterAll(async () => {
  await agent?.kill().catch(() => undefined);
  await lab.destroy();
  await etcd?.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

const rt = (id: string, netns: string): RuntimeConf => ({
  containerId: id,
  netns: `/run/netns/${netns}`,
  ifname: 'eth0',
  args: k8sArgs({ namespace: 'default', name: id, uid: `u-${id}` }, id),
});

async function leftovers(): Promise<{ veths: string; ipam: number; attachments: number }> {
  return {
    veths: await lab.ip(node.netns, ['-o', 'link', 'show', 'type', 'veth']),
    ipam: (await etcd.store().list(new Keyspace(CLUSTER).prefix('ipam', node.name))).kvs.length,
    attachments: agent.agent.attachments.all().length,
  };
}

describe.skipIf(skip)('CNI ADD of an interface that already exists', () => {
  it('a second ADD without DEL fails with 101 and changes nothing; after DEL the retry works', async () => {
    const r = rt('dup1', await lab.netns('dup1'));
    await runner.add(conf, r);
    const before = await leftovers();
    const pod = await lab.ip(`${lab.prefix}-dup1`, ['-o', 'addr', 'show', 'dev', 'eth0']);
    const err = await runner.add(conf, r).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    expect((err as CniPluginError).cniCode).toBe(101);
    expect(String(err)).toContain('already exists');
    expect(await leftovers()).toEqual(before);
    expect(await lab.ip(`${lab.prefix}-dup1`, ['-o', 'addr', 'show', 'dev', 'eth0'])).toBe(pod);
    await runner.del(conf, r);
    await runner.add(conf, r);
    await runner.del(conf, r);
    expect((await leftovers()).attachments).toBe(0);
  });

  it("an eth0 someone else made in the pod's namespace fails the ADD and is left as it was", async () => {
    const ns = await lab.netns('dup2');
    await lab.ip(ns, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']);
    const theirs = await lab.ip(ns, ['-o', 'link', 'show', 'dev', 'eth0']);
    const before = await leftovers();
    const err = await runner.add(conf, rt('dup2', ns)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    expect((err as CniPluginError).cniCode).toBe(100);
    expect(String(err)).toMatch(/exists/i);
    expect(await lab.ip(ns, ['-o', 'link', 'show', 'dev', 'eth0'])).toBe(theirs);
    expect(await leftovers()).toEqual(before);
  });
});
