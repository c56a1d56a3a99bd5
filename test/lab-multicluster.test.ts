// Two clusters on one netloom etcd, through the real `netloom lab` commands: lab A, then lab B
// joined to it (`lab up --join`, its own API server, KSR and node, pod CIDR 10.2.0.0/16). Both
// mirrors stay under their own prefix (an object of one name in both clusters is mirrored
// twice), node IDs are distinct across the store, pods of each cluster reach each other; with
// the mesh off a pod of A cannot reach a pod of B, and once B's agent runs with --mesh too it
// reaches it, keeping its source address.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podNetns } from '../cli/lab/layout.ts';
import { layoutOf } from '../cli/lab/state.ts';
import { skipUnless } from './harness/availability.ts';
import { labAvailable, TestLab, waitFor } from './lab-support.ts';

const skip = skipUnless('two clusters on one etcd (test/lab-multicluster.test.ts)', labAvailable());

/** `curl` from inside a pod's namespace: the echo server's HTTP answer, or the failure. */
function curlFrom(netns: string, url: string): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'ip',
      ['netns', 'exec', netns, 'curl', '-s', '--max-time', '2', url],
      { timeout: 10_000 },
      (err, stdout, stderr) => resolve({ ok: !err, out: err ? `${err.message} ${stderr}` : stdout }),
    );
  });
}

describe.skipIf(skip)('two clusters on one netloom etcd, with and without the mesh', () => {
  const a = new TestLab({ nodes: 1, args: ['--mesh', 'true'] });
  const b = new TestLab({
    nodes: 1,
    args: [
      '--join',
      a.name,
      '--join-state-dir',
      a.stateDir,
      '--pod-cidr',
      '10.2.0.0/16',
      '--service-cidr',
      '10.112.0.0/12',
    ],
  });
  const podIn = async (lab: TestLab, name: string): Promise<{ ip: string; netns: string }> => {
    const p = await waitFor(
      `pod ${name} Running in lab ${lab.name}`,
      async () => {
        const x = (await lab.pods()).get(name);
        return x?.phase === 'Running' && x.ip !== '' ? x : undefined;
      },
      60_000,
    );
    return { ip: p.ip, netns: podNetns(layoutOf(lab.state()), p.uid) };
  };
  const run = (lab: TestLab, name: string): Promise<string> =>
    lab.kubectl(['run', name, '--image=registry.example/echo:1', '--port=8080']);

  beforeAll(async () => {
    await a.up();
    await b.up();
  }, 480_000);

  afterAll(async () => {
    // The joined lab first: its `lab down` removes its cluster's keys from A's etcd.
    const leftB = await b.destroy();
    const leftA = await a.destroy();
    expect([...leftB, ...leftA]).toEqual([]);
  }, 240_000);

  it('keeps both mirrors apart and node IDs distinct across the store', async () => {
    const [sa, sb] = [a.state(), b.state()];
    expect(sb.cluster).toBe(b.name);
    expect(sb.ports.etcd).toBe(sa.ports.etcd);
    for (const lab of [a, b]) await lab.kubectl(['create', 'namespace', 'twice']);
    const keyOf = (cluster: string): string => `/netloom/v1/${cluster}/k8s/namespace/twice`;
    await waitFor(
      'namespace twice mirrored by both KSRs',
      async () => {
        const keys = (await a.etcdctl(['get', '--prefix', '/netloom/v1/', '--keys-only'])).split('\n');
        return keys.includes(keyOf(sa.cluster)) && keys.includes(keyOf(sb.cluster));
      },
      30_000,
    );
    const keys = (await a.etcdctl(['get', '--prefix', '/netloom/v1/', '--keys-only']))
      .split('\n')
      .filter((k) => k !== '');
    const outside = keys.filter(
      (k) =>
        !k.startsWith(`/netloom/v1/${sa.cluster}/`) &&
        !k.startsWith(`/netloom/v1/${sb.cluster}/`) &&
        !k.startsWith('/netloom/v1/_shared/'),
    );
    expect(outside).toEqual([]);
    expect(keys.filter((k) => k.endsWith('/k8s/namespace/twice'))).toEqual(
      [keyOf(sa.cluster), keyOf(sb.cluster)].sort(),
    );
    // Node IDs: one store-wide claim per node, naming its cluster, and no ID twice.
    const claims = (await a.etcdctl(['get', '--prefix', '/netloom/v1/_shared/node-ids/'])).trim().split('\n');
    const holders = new Map<string, string>();
    for (let i = 0; i + 1 < claims.length; i += 2) holders.set(claims[i + 1]!, claims[i]!);
    const [na, nb] = [layoutOf(sa).nodes[0]!.name, layoutOf(sb).nodes[0]!.name];
    expect([...holders.keys()].sort()).toEqual([`${sa.cluster}/${na}`, `${sb.cluster}/${nb}`].sort());
    expect(new Set(holders.values()).size).toBe(2);
    const registered = await a.etcdctl(['get', '--prefix', '/netloom/v1/_shared/clusters/', '--keys-only']);
    expect(registered).toContain(`/netloom/v1/_shared/clusters/${sb.cluster}`);
  });

  it('wires the pods of both clusters, each reaching its own cluster; without the mesh, not the other', async () => {
    await Promise.all([run(a, 'a1'), run(a, 'a2'), run(b, 'b1'), run(b, 'b2')]);
    const [a1, b1] = [await podIn(a, 'a1'), await podIn(b, 'b1')];
    await podIn(a, 'a2');
    await podIn(b, 'b2');
    expect(a1.ip).toMatch(/^10\.1\./);
    expect(b1.ip).toMatch(/^10\.2\./);
    for (const lab of [a, b]) {
      const r = await lab.check();
      expect(r.failures, `lab ${lab.name} check`).toEqual([]);
      expect(r.ok).toBe(2);
    }
    // A has the mesh on, B not: nobody routes between them.
    const across = await curlFrom(a1.netns, `http://${b1.ip}:8080/`);
    expect(across.ok, across.out).toBe(false);
  }, 120_000);

  it('with the mesh on in both, a pod of A reaches a pod of B', async () => {
    const [a1, b1] = [await podIn(a, 'a1'), await podIn(b, 'b1')];
    const state = b.state();
    writeFileSync(b.layout.files.state, JSON.stringify({ ...state, mesh: true }, null, 2) + '\n');
    const node = layoutOf(state).nodes[0]!.name;
    const res = await b.netloom(['restart', `agent-${node}`], 120_000);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const answer = await waitFor(
      `pod a1 (${a1.ip}) reaching pod b1 (${b1.ip}) across the mesh`,
      async () => {
        const r = await curlFrom(a1.netns, `http://${b1.ip}:8080/`);
        return r.ok ? r.out : undefined;
      },
      30_000,
      500,
    );
    // The source NAT spares the meshed pod CIDRs: b1 sees a1's own address.
    expect(answer).toContain(`you are ${a1.ip}`);
  }, 180_000);
});
