// CNI fuzz against a real agent: the bundled shim run as kubelet runs it, with malformed configs,
// environments and requests that do reach the agent (missing or bogus netns, odd interface names,
// repeated container IDs, DEL of what never existed). Every call ends in valid error JSON with a
// non-zero exit or a clean success, and afterwards nothing is left: no link in the node, no IPAM
// key, no attachment — except for the one pod added properly, which stays wired.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Keyspace } from '../lib/keyspace.ts';
import type { Store } from '../lib/etcd/store.ts';
import { buildCni } from '../scripts/build-cni.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import { etcdAvailable, netnsAvailable, skipUnless } from './harness/availability.ts';
import { CLUSTER, LabAgent, singleLabNode, type LabNode } from './lab/agent.ts';
import { CniRunner } from '../cli/lab/kubelet/cni-runner.ts';
import { Lab } from './lab/netns.ts';

const skip = skipUnless(
  'CNI fuzz against a real agent',
  netnsAvailable().ok ? etcdAvailable() : netnsAvailable(),
);

describe.skipIf(skip)('CNI fuzz against a real agent', () => {
  const lab = new Lab();
  const tmp = mkdtempSync(join(tmpdir(), 'netloom-fuzz-'));
  const keyspace = new Keyspace(CLUSTER);
  let etcd: EtcdHandle;
  let store: Store;
  let agent: LabAgent;
  let node: LabNode;
  let runner: CniRunner;

  beforeAll(async () => {
    etcd = await startEtcd();
    store = etcd.store();
    node = await singleLabNode(lab, tmp);
    agent = await LabAgent.start({ node, store });
    const bin = join(tmp, 'bin');
    await buildCni(join(bin, 'netloom'), process.execPath, join(tmp, 'cc'));
    runner = new CniRunner({ cniPath: [bin], netns: node.netns });
  });

  afterAll(async () => {
    await agent?.kill().catch(() => undefined);
    await lab.destroy();
    await etcd?.destroy();
    rmSync(tmp, { recursive: true, force: true });
    expect(lab.leftovers()).toEqual([]);
  });

  const links = async (): Promise<string[]> =>
    (JSON.parse(await lab.ip(node.netns, ['-json', 'link', 'show'])) as { ifname: string }[])
      .map((l) => l.ifname)
      .sort();
  const ipamKeys = async (): Promise<string[]> =>
    (await store.list(keyspace.prefix('ipam', node.name))).kvs.map((kv) => kv.key);

  it('answers every malformed call with valid error JSON and leaves nothing behind', async () => {
    const good = {
      cniVersion: '1.0.0',
      name: 'netloom',
      type: 'netloom',
      agentSocket: node.socketPath,
      timeoutSeconds: 10,
    };
    const goodNs = `/run/netns/${await lab.netns('keep')}`;
    const keepEnv = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'keep0',
      CNI_NETNS: goodNs,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'K8S_POD_NAMESPACE=f;K8S_POD_NAME=keep',
    };
    const kept = await runner.run('netloom', keepEnv, JSON.stringify(good));
    expect(kept.code).toBe(0);
    const baseLinks = await links();
    const baseIpam = await ipamKeys();
    expect(baseIpam).toHaveLength(1);

    const spareNs = `/run/netns/${await lab.netns('spare')}`;
    // Well-formed calls the agent must judge (bogus namespaces, odd names, repeats, DEL/CHECK of
    // unknown containers), and wholly random ones the shim must reject.
    const judged = fc.tuple(
      fc.record({
        CNI_COMMAND: fc.constantFrom('ADD', 'ADD', 'ADD', 'DEL', 'CHECK'),
        CNI_CONTAINERID: fc.constantFrom('keep0', 'fz1', 'fz2', 'fz3'),
        CNI_NETNS: fc.constantFrom(
          spareNs,
          '/run/netns/does-not-exist',
          '/proc/999999/ns/net',
          '/etc/passwd',
          '/tmp',
          goodNs,
        ),
        CNI_IFNAME: fc.constantFrom('eth0', 'net1', 'lo', 'x'),
        CNI_ARGS: fc.constantFrom('K8S_POD_NAMESPACE=f;K8S_POD_NAME=p', 'IgnoreUnknown=1', ''),
      }),
      fc.constant(JSON.stringify(good)),
    );
    const random = fc.tuple(
      fc.record({
        CNI_COMMAND: fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'add', ''),
        CNI_CONTAINERID: fc.constantFrom('fz1', 'x y', '', '-bad', 'a'.repeat(300)),
        CNI_NETNS: fc.constantFrom(spareNs, 'relative/ns', ''),
        CNI_IFNAME: fc.constantFrom('eth0', 'a-name-longer-than-15', 'bad/name', ''),
        CNI_ARGS: fc.constantFrom('K8S_POD_NAME=p', 'garbage', 'K8S_POD_NAME=p;;'),
      }),
      fc.oneof(
        fc.constant(JSON.stringify({ ...good, cniVersion: '0.2.0' })),
        fc.constant(JSON.stringify({ ...good, prevResult: { ips: [] } })),
        fc.constant(JSON.stringify({ ...good, timeoutSeconds: 'soon' })),
        fc.constant('{"cniVersion":"1.0.0","name":'),
        fc.json(),
        fc.string(),
      ),
    );
    const cases = [
      ...fc.sample(judged, { numRuns: 150, seed: 42 }),
      ...fc.sample(random, { numRuns: 150, seed: 43 }),
    ];
    let reachedAgent = 0;
    for (const [drawn, stdin] of cases) {
      // The kept pod is only ever re-ADDed as it is (which must fail and change nothing) or
      // CHECKed: a DEL, or an ADD from a new sandbox (a legal replacement), would remove it.
      const e =
        drawn.CNI_CONTAINERID === 'keep0'
          ? {
              ...drawn,
              CNI_COMMAND: drawn.CNI_COMMAND === 'DEL' ? 'CHECK' : drawn.CNI_COMMAND,
              CNI_NETNS: goodNs,
              CNI_IFNAME: 'eth0',
            }
          : drawn;
      const out = await runner.run('netloom', e, stdin);
      if (e.CNI_CONTAINERID === 'keep0' && e.CNI_COMMAND === 'ADD') {
        // A repeated ADD of the same attachment (a runtime retrying after a timeout) answers the
        // same result and changes nothing (checked below with the links and IPAM keys).
        expect(out.code, out.stdout).toBe(0);
        expect(JSON.parse(out.stdout)).toEqual(JSON.parse(kept.stdout));
        continue;
      }
      if (out.code === 0) {
        if (e.CNI_COMMAND === 'ADD') {
          // A legal ADD on the spare namespace: take it back at once, as a runtime would on teardown.
          const del = await runner.run('netloom', { ...e, CNI_COMMAND: 'DEL' }, stdin);
          expect(del.code, del.stdout).toBe(0);
        }
        reachedAgent++;
        continue;
      }
      const body = JSON.parse(out.stdout) as { code: unknown; msg: unknown };
      expect(typeof body.code, out.stdout).toBe('number');
      expect(typeof body.msg, out.stdout).toBe('string');
      if ([3, 8, 11, 100, 101].includes(body.code as number)) reachedAgent++;
    }
    console.log(
      `CNI fuzz: ${cases.length} shim runs, ${reachedAgent} judged by the agent, the rest rejected by the shim`,
    );
    expect(reachedAgent).toBeGreaterThan(20); // the agent really was exercised, not only the shim
    expect(await links()).toEqual(baseLinks);
    expect(await ipamKeys()).toEqual(baseIpam);
    const check = await runner.run('netloom', { ...keepEnv, CNI_COMMAND: 'CHECK' }, JSON.stringify(good));
    expect(check.code, check.stdout).toBe(0);
  });
});
