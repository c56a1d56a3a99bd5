// The lab as a newcomer uses it: `netloom lab up`, a 20-replica Deployment through kubectl, every
// pod Running with an IP within seconds and reaching every other pod across nodes, etcdctl
// showing the mirrored objects and IPAM entries, a second `lab up` leaving the first alone,
// scale-down releasing sandboxes, and `lab down` leaving nothing behind.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { get } from '../cli/lab/http.ts';
import { tryLock } from '../cli/lab/lock.ts';
import { links } from '../cli/lab/netns.ts';
import type { SimulatorStatus } from '../cli/lab/kubelet/simulator.ts';
import { skipUnless } from './harness/availability.ts';
import { labAvailable, TestLab, waitFor, type Run } from './lab-support.ts';

const skip = skipUnless('lab end-to-end (test/lab-e2e.test.ts)', labAvailable());
const REPLICAS = 20;

describe.skipIf(skip)('netloom lab: up, a Deployment, connectivity, etcd, down', () => {
  const lab = new TestLab({ nodes: 3 });
  let upRun: Run;

  beforeAll(async () => {
    upRun = await lab.up();
    process.stdout.write(`[lab-e2e] lab up (3 nodes) took ${(upRun.ms / 1000).toFixed(1)} s\n`);
  });

  afterAll(async () => {
    const left = await lab.destroy();
    expect(left).toEqual([]);
  });

  it('starts every component, prints where things are, and the nodes are Ready', async () => {
    const s = await lab.status();
    expect(s.components.filter((c) => !c.running || !c.ready).map((c) => c.name)).toEqual([]);
    expect(s.components.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'etcd',
        'kube-etcd',
        'kube-apiserver',
        'kube-controller-manager',
        'ksr',
        'kubelet',
        'supervisor',
        ...lab.layout.nodes.map((n) => `agent-${n.name}`),
      ]),
    );
    expect(s.nodes.map((n) => [n.name, n.ready, n.agent])).toEqual(
      lab.layout.nodes.map((n) => [n.name, true, 'ready']),
    );
    expect(upRun.stdout).toContain(`kubeconfig   ${lab.kubeconfig}`);
    expect(upRun.stdout).toContain(`etcd         ${lab.etcdEndpoint}`);
    expect(upRun.stdout).toMatch(/kubectl create deployment/);
    expect(upRun.stdout).toMatch(
      /ETCDCTL_API=3 etcdctl --endpoints=https:\/\/127\.0\.0\.1:\d+ --cacert=\S+\/pki\/ca\.crt --cert=\S+\/pki\/admin\.crt --key=\S+\/pki\/admin\.key get --prefix \/netloom\/v1\//,
    );
    expect(upRun.stdout).toContain(`ip netns exec ${lab.layout.nodes[0]!.netns}`);
    const nodes = await lab.kubectl(['get', 'nodes', '--no-headers']);
    expect(
      nodes
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).slice(0, 2)),
    ).toEqual(lab.layout.nodes.map((n) => [n.name, 'Ready']));
  });

  it(`runs a ${REPLICAS}-replica Deployment: every pod Running with its own IP within seconds`, async () => {
    const t0 = performance.now();
    await lab.kubectl([
      'create',
      'deployment',
      'echo',
      '--image=registry.example/echo:1',
      `--replicas=${REPLICAS}`,
      '--port=8080',
    ]);
    const pods = await waitFor(
      `${REPLICAS} pods Running and Ready`,
      async () => {
        const p = await lab.pods('app=echo');
        return p.size === REPLICAS && [...p.values()].every((x) => x.phase === 'Running' && x.ready && x.ip)
          ? p
          : undefined;
      },
      90_000,
      250,
    );
    const seconds = (performance.now() - t0) / 1000;
    process.stdout.write(
      `[lab-e2e] ${REPLICAS} pods Running with IPs ${seconds.toFixed(1)} s after kubectl create deployment\n`,
    );
    expect(seconds).toBeLessThan(60);
    const ips = [...pods.values()].map((p) => p.ip);
    expect(new Set(ips).size).toBe(REPLICAS);
    for (const ip of ips) expect(ip).toMatch(/^10\.1\.\d+\.\d+$/);
    // Spread over every node, each pod inside its node's subnet.
    expect(new Set([...pods.values()].map((p) => p.node)).size).toBe(3);
    const subnets = new Map<string, string>();
    for (const p of pods.values()) {
      const net = p.ip.split('.').slice(0, 3).join('.');
      expect(subnets.get(p.node) ?? net).toBe(net);
      subnets.set(p.node, net);
    }
    expect(new Set(subnets.values()).size).toBe(3);
    // The Deployment is complete as the controller manager sees it.
    type Deploy = { status: { readyReplicas?: number } };
    await waitFor(
      'deployment readyReplicas',
      async () =>
        (JSON.parse(await lab.kubectl(['get', 'deployment', 'echo', '-o', 'json'])) as Deploy).status
          .readyReplicas === REPLICAS,
      30_000,
    );
  });

  it('each pod has, inside its namespace, the address the API server shows', async () => {
    const sim = JSON.parse(
      (await get('http://kubelet/status', { socketPath: join(lab.stateDir, 'kubelet.sock') })).body,
    ) as SimulatorStatus;
    const pods = await lab.pods('app=echo');
    expect(sim.pods).toHaveLength(REPLICAS);
    for (const p of sim.pods) {
      const inside = (await links(p.netns)).find((l) => l.ifname === 'eth0');
      const addr = inside?.addr_info?.find((a) => a.family === 'inet')?.local;
      expect(addr, `${p.name} in ${p.netns}`).toBe(pods.get(p.name)?.ip);
    }
  });

  it('every pod reaches every other pod (TCP echo, across nodes through the overlay)', async () => {
    const r = await lab.check();
    process.stdout.write(
      `[lab-e2e] ${r.pairs} pod pairs: ${r.ok} reached, p50 ${r.p50Ms} ms, max ${r.maxMs} ms\n`,
    );
    expect(r.failures).toEqual([]);
    expect(r.pods).toBe(REPLICAS);
    expect(r.pairs).toBe(REPLICAS * (REPLICAS - 1));
    expect(r.ok).toBe(r.pairs);
  });

  it("netloom's etcd wants a client certificate; lab status names the flags etcdctl needs", async () => {
    const { etcd } = await lab.status();
    expect(etcd.endpoint).toBe(lab.etcdEndpoint);
    expect(etcd.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(etcd.etcdctl).toBe(
      `etcdctl --endpoints=${etcd.endpoint} --cacert=${etcd.ca} --cert=${etcd.cert} --key=${etcd.key}`,
    );
    const anonymous = await new Promise<number>((resolve) =>
      execFile(
        '/usr/bin/etcdctl',
        [
          `--endpoints=${etcd.endpoint}`,
          `--cacert=${etcd.ca}`,
          '--dial-timeout=2s',
          '--command-timeout=3s',
          'get',
          'x',
        ],
        { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 },
        (err) => resolve(err ? (typeof err.code === 'number' ? err.code : -1) : 0),
      ),
    );
    expect(anonymous).not.toBe(0);
  });

  it('etcdctl shows the mirrored objects and the IPAM entries', async () => {
    const keys = (await lab.etcdctl(['get', '--prefix', '/netloom/v1/', '--keys-only']))
      .split('\n')
      .filter((k) => k !== '');
    const root = `/netloom/v1/${lab.state().cluster}/`;
    const under = (p: string): string[] => keys.filter((k) => k.startsWith(root + p));
    const pods = await lab.pods('app=echo');
    for (const name of pods.keys()) expect(keys).toContain(`${root}k8s/pod/default/${name}`);
    for (const n of lab.layout.nodes) {
      expect(keys).toContain(`${root}k8s/node/${n.name}`);
      expect(keys).toContain(`${root}nodes/info/${n.name}`);
    }
    expect(under('nodes/id/')).toHaveLength(3);
    expect(keys).toContain(`${root}k8s/namespace/default`);
    expect(keys).toContain(`${root}k8s/service/default/kubernetes`);
    expect(keys).toContain(`${root}ksr/status`);
    // One IPAM entry per pod, under the pod's node, naming the pod.
    const ipam = under('ipam/');
    expect(ipam).toHaveLength(REPLICAS);
    for (const [name, p] of pods) {
      const key = `${root}ipam/${p.node}/${p.ip}`;
      expect(ipam).toContain(key);
      const value = JSON.parse((await lab.etcdctl(['get', key, '--print-value-only'])).trim()) as {
        pod: string;
        namespace: string;
      };
      expect(value).toMatchObject({ pod: name, namespace: 'default' });
    }
    const mirrored = JSON.parse(
      (
        await lab.etcdctl(['get', `${root}k8s/pod/default/${[...pods.keys()][0]!}`, '--print-value-only'])
      ).trim(),
    ) as { podIps: string[]; nodeName: string };
    expect(mirrored.podIps).toEqual([[...pods.values()][0]!.ip]);
    expect(mirrored.nodeName).toBe([...pods.values()][0]!.node);
  });

  it('a second lab up leaves the running lab alone; one during another lab command says so', async () => {
    const before = lab.layout.nodes.map((n) => lab.pid(`agent-${n.name}`));
    const ips = [...(await lab.pods('app=echo')).values()].map((p) => p.ip).sort();
    const again = await lab.netloom(['up']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('resuming the existing lab');
    expect(again.stdout).toMatch(/kube-apiserver .*\(was running, pid \d+\)/);
    expect(lab.layout.nodes.map((n) => lab.pid(`agent-${n.name}`))).toEqual(before);
    expect([...(await lab.pods('app=echo')).values()].map((p) => p.ip).sort()).toEqual(ips);

    const held = tryLock(lab.layout.files.lock, 'test');
    expect(held.ok).toBe(true);
    try {
      const busy = await lab.netloom(['up']);
      expect(busy.code).toBe(1);
      expect(busy.stdout).toMatch(/another lab command \(pid \d+, .*\) is working on lab/);
    } finally {
      if (held.ok) held.release();
    }
    const resize = await lab.netloom(['up', '--nodes', '5']);
    expect(resize.code).toBe(1);
    expect(resize.stdout).toContain('exists with 3 nodes');
  });

  it('scaling down runs CNI DEL: the removed pods leave no namespace and no IPAM entry', async () => {
    await lab.kubectl(['scale', 'deployment', 'echo', '--replicas=5']);
    await waitFor('5 pods left', async () => (await lab.pods('app=echo')).size === 5, 60_000);
    const root = `/netloom/v1/${lab.state().cluster}/`;
    await waitFor(
      '5 pod namespaces and 5 IPAM entries',
      async () => {
        const sim = JSON.parse(
          (await get('http://kubelet/status', { socketPath: join(lab.stateDir, 'kubelet.sock') })).body,
        ) as SimulatorStatus;
        const ns = (await import('../cli/lab/netns.ts')).listNetns;
        const podNs = (await ns()).filter((n) => n.startsWith(`${lab.layout.netnsPrefix}pod-`));
        const ipam = (await lab.etcdctl(['get', '--prefix', `${root}ipam/`, '--keys-only']))
          .split('\n')
          .filter((k) => k !== '');
        return sim.pods.length === 5 && podNs.length === 5 && ipam.length === 5;
      },
      30_000,
    );
  });
});
