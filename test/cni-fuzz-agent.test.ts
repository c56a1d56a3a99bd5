// CNI fuzz against a real agent: the bundled shim run as kubelet runs it, with malformed configs,
// environments and requests that do reach the agent (missing or bogus netns, odd interface names,
// repeated container IDs, DEL of what never existed). Every call ends in valid error JSON with a
// non-zero exit or a clean success, and afterwards nothing is left: no link in the node, no IPAM
// key, no attachment — except for the one pod added properly, which stays wired.
//
// Then hostile input, through the shim and straight on the agent's socket (a client that skips
// the shim's checks): netns paths that would inject `ip -batch` commands or name the host's own
// namespace, namespaces of the wrong kind, files, directories, symlinks; interface names the spec
// forbids. Each gets its CNI code, and neither the node nor the host (the namespace this test and
// the in-process agent run in) gains or loses a link or a route.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
import { connectAgent } from '../cni/agent-client.ts';
import type { CniRequest } from '../proto/gen/netloom/cni/v1/CniRequest.ts';
import { runTool } from '../lib/iproute.ts';
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
    await buildCni(join(bin, 'netloom'));
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
  const attachments = (): string[] =>
    agent.agent.attachments
      .all()
      .map((a) => `${a.containerId}/${a.ifname}`)
      .sort();
  /** The host's (this process's namespace) links and routes, as iproute2 prints them. */
  const hostState = async (): Promise<string[]> => [
    ...(JSON.parse(await runTool('ip', ['-json', 'link', 'show'])) as { ifname: string }[]).map(
      (l) => `link ${l.ifname}`,
    ),
    ...(await runTool('ip', ['route', 'show', 'table', 'all'])).split('\n'),
    ...(await runTool('ip', ['-6', 'route', 'show', 'table', 'all'])).split('\n'),
  ];

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
          '/proc/self/ns/net',
          `/proc/${process.pid}/ns/mnt`,
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
        CNI_NETNS: fc.constantFrom(spareNs, 'relative/ns', '', `${spareNs}\nlink del ul0`, `${spareNs}/../x`),
        CNI_IFNAME: fc.constantFrom('eth0', 'a-name-longer-than-15', 'bad/name', '', '.', '..', 'a:b'),
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
        // A repeated ADD of the same attachment without DEL is the spec's error (the interface
        // already exists) and changes nothing (checked below with the links and IPAM keys).
        expect(out.code, out.stdout).not.toBe(0);
        expect((JSON.parse(out.stdout) as { code: number }).code).toBe(101);
        reachedAgent++;
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

  it('refuses hostile netns paths and interface names, through the shim and on the socket, and changes nothing', async () => {
    const conf = {
      cniVersion: '1.1.0',
      name: 'netloom',
      type: 'netloom',
      agentSocket: node.socketPath,
      timeoutSeconds: 10,
    };
    const stdin = JSON.stringify(conf);
    const hostile = join(tmp, 'hostile');
    mkdirSync(hostile);
    const file = join(hostile, 'file');
    writeFileSync(file, '');
    const hostLink = join(hostile, 'host-link');
    symlinkSync('/proc/self/ns/net', hostLink);
    const podNs = `/run/netns/${await lab.netns('hostile-pod')}`;
    const gone = `/run/netns/${lab.prefix}-never-made`;
    const base = {
      links: await links(),
      ipam: await ipamKeys(),
      attachments: attachments(),
      host: await hostState(),
    };

    // [what, command, netns, ifname, expected code]. 4: the request itself is malformed (the shim
    // refuses it; so does the agent); 8: well-formed, but not a pod's network namespace.
    const cases: [string, string, string, string, number][] = [
      ['newline in netns', 'ADD', `${podNs}\nlink del ul0`, 'eth0', 4],
      ['space in netns', 'ADD', `${podNs} x`, 'eth0', 4],
      ['"../" in netns', 'ADD', `/run/netns/../../proc/1/ns/net`, 'eth0', 4],
      ['"#" in netns', 'ADD', `${podNs}#x`, 'eth0', 4],
      ['interface "."', 'ADD', podNs, '.', 4],
      ['interface ".."', 'ADD', podNs, '..', 4],
      ['interface "a/b"', 'ADD', podNs, 'a/b', 4],
      ['interface "a:b"', 'ADD', podNs, 'a:b', 4],
      ['interface of 16 characters', 'ADD', podNs, 'a'.repeat(16), 4],
      ["PID 1's namespace", 'ADD', '/proc/1/ns/net', 'eth0', 8],
      ["the agent's own namespace", 'ADD', '/proc/self/ns/net', 'eth0', 8],
      ["the agent's own, by pid", 'ADD', `/proc/${process.pid}/ns/net`, 'eth0', 8],
      ['a mount namespace', 'ADD', `/proc/${process.pid}/ns/mnt`, 'eth0', 8],
      ['a regular file', 'ADD', file, 'eth0', 8],
      ['a directory', 'ADD', hostile, 'eth0', 8],
      ['a symlink to the host namespace', 'ADD', hostLink, 'eth0', 8],
      ['CHECK of the host namespace', 'CHECK', '/proc/self/ns/net', 'eth0', 8],
      ['DEL naming the host namespace', 'DEL', '/proc/self/ns/net', 'eth0', 8],
      ['DEL through a symlink to the host', 'DEL', hostLink, 'eth0', 8],
      ['DEL of a namespace that is gone', 'DEL', gone, 'eth0', 0],
    ];
    const client = connectAgent(node.socketPath, 10_000);
    try {
      for (const [what, command, netns, ifname, code] of cases) {
        for (const containerId of ['hostile1', 'keep0']) {
          // keep0 exists: a DEL of it that is let through would remove it; those are not sent.
          if (containerId === 'keep0' && code === 0) continue;
          const out = await runner.run(
            'netloom',
            {
              CNI_COMMAND: command,
              CNI_CONTAINERID: containerId,
              CNI_NETNS: netns,
              CNI_IFNAME: ifname,
              CNI_ARGS: 'K8S_POD_NAMESPACE=f;K8S_POD_NAME=hostile',
            },
            stdin,
          );
          expect(
            out.code === 0 ? 0 : (JSON.parse(out.stdout) as { code: number }).code,
            `shim: ${what}`,
          ).toBe(code);
          const req: CniRequest = {
            containerId,
            netns,
            ifname,
            podNamespace: 'f',
            podName: 'hostile',
            cniVersion: '1.1.0',
            networkConfig: stdin,
          };
          const reply = await (command === 'ADD'
            ? client.add(req)
            : command === 'DEL'
              ? client.del(req)
              : client.check(req));
          expect(reply.error?.code ?? 0, `socket: ${what}`).toBe(code);
        }
      }
      // What no env var can carry: a NUL inside the path, straight on the socket.
      for (const netns of [`${podNs}\0`, `/proc/1/ns/net\0x`, `relative`, `${podNs}\r\nlink del ul0`]) {
        const reply = await client.add({
          containerId: 'hostile2',
          netns,
          ifname: 'eth0',
          cniVersion: '1.1.0',
        });
        expect(reply.error?.code, JSON.stringify(netns)).toBe(4);
      }
      // A missing namespace on ADD fails (the data plane cannot open it) and is rolled back.
      const missing = await client.add({
        containerId: 'hostile3',
        netns: gone,
        ifname: 'eth0',
        cniVersion: '1.1.0',
      });
      expect(missing.error?.code).toBeGreaterThan(0);
    } finally {
      client.close();
    }

    expect(await links()).toEqual(base.links);
    expect(await ipamKeys()).toEqual(base.ipam);
    expect(attachments()).toEqual(base.attachments);
    expect(await hostState()).toEqual(base.host);
    expect(await lab.ip(podNs.slice('/run/netns/'.length), ['-json', 'link', 'show'])).toContain('"lo"');
    const check = await runner.run(
      'netloom',
      {
        CNI_COMMAND: 'CHECK',
        CNI_CONTAINERID: 'keep0',
        CNI_NETNS: `/run/netns/${lab.prefix}-keep`,
        CNI_IFNAME: 'eth0',
        CNI_ARGS: 'K8S_POD_NAMESPACE=f;K8S_POD_NAME=keep',
      },
      JSON.stringify({ ...conf, cniVersion: '1.0.0' }),
    );
    expect(check.code, check.stdout).toBe(0);
  });
});
