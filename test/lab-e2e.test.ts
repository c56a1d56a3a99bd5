// The lab as a newcomer uses it: `netloom lab up`, a 20-replica Deployment through kubectl, every
// pod Running with an IP within seconds and reaching every other pod across nodes, each pod's
// interface, address and routes inside its own namespace, etcdctl showing the mirrored objects and
// IPAM entries, a second `lab up` leaving the first alone, scale-down running CNI DEL (no pod
// namespace, host veth or IPAM entry left), and `lab down` leaving nothing behind.
//
// The same checks run twice, once per way the lab plays its nodes: the simulated kubelet (3 nodes,
// netloom's agents as lab processes) and real nodes (`--kubelet real`, 2 nodes: kubelet and
// containerd per node, netloom deployed from deploy/ as kube-system pods). What differs by mode —
// which lab processes exist, how a pod's network namespace is found, what a kubelet holds, what
// identifies netloom's running agents — is in the two `Mode`s below; the check bodies are shared.
import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get } from '../cli/lab/http.ts';
import { tryLock } from '../cli/lab/lock.ts';
import { listNetns } from '../cli/lab/netns.ts';
import type { SimulatorStatus } from '../cli/lab/kubelet/simulator.ts';
import { labKubeApi } from '../cli/lab/real-deploy.ts';
import { realNodeFiles } from '../cli/lab/real-node.ts';
import { realPods } from '../cli/lab/real-status.ts';
import type { LabStatus } from '../cli/lab/status.ts';
import { realNodesAvailable, skipUnless } from './harness/availability.ts';
import { labAvailable, TestLab, waitFor, type Run } from './lab-support.ts';

const execFileP = promisify(execFile);
const REPLICAS = 20;

/** What differs between a simulated-kubelet lab and a real-node one; everything else is shared. */
interface Mode {
  title: string;
  skip: boolean;
  nodes: number;
  /** `lab up` arguments beyond --nodes. */
  args: string[];
  /** `kubectl create deployment echo` arguments beyond the name and --replicas: a pod on :8080. */
  workload: string[];
  /** The lab's own processes `lab status` must show running and ready. */
  components(lab: TestLab): string[];
  /** How lab up's summary points at a node's namespace. */
  nodeHint(netns: string): string;
  /** The address netloom's etcd listens on. */
  etcdHost(status: LabStatus): string;
  /** What identifies netloom's running per-node agents (a second `lab up` must not change it). */
  agents(lab: TestLab): Promise<string[]>;
  /** Each Running pod of the lab → the argv prefix that runs `ip` inside its network namespace. */
  podNamespaces(lab: TestLab): Promise<Map<string, string[]>>;
  /** Pod sandboxes the kubelet(s) still hold with a network namespace of their own. */
  sandboxes(lab: TestLab): Promise<number>;
}

async function simStatus(lab: TestLab): Promise<SimulatorStatus> {
  const res = await get('http://kubelet/status', { socketPath: join(lab.stateDir, 'kubelet.sock') });
  return JSON.parse(res.body) as SimulatorStatus;
}

const simulated: Mode = {
  title: 'simulated kubelet',
  skip: skipUnless('lab end-to-end, simulated kubelet (test/lab-e2e.test.ts)', labAvailable()),
  nodes: 3,
  args: [],
  workload: ['--image=registry.example/echo:1', '--port=8080'],
  components: (lab) => [
    'etcd',
    'kube-etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'ksr',
    'kubelet',
    'supervisor',
    ...lab.layout.nodes.map((n) => `agent-${n.name}`),
  ],
  nodeHint: (netns) => `ip netns exec ${netns}`,
  // The lab runs netloom's etcd itself, on loopback.
  etcdHost: () => '127.0.0.1',
  agents: (lab) =>
    Promise.resolve(lab.layout.nodes.map((n) => `agent-${n.name} pid ${lab.pid(`agent-${n.name}`)}`)),
  podNamespaces: async (lab) =>
    new Map(
      (await simStatus(lab)).pods.filter((p) => !p.hostNetwork).map((p) => [p.name, ['ip', '-n', p.netns]]),
    ),
  sandboxes: async (lab) => {
    const sim = (await simStatus(lab)).pods.length;
    const named = (await listNetns()).filter((n) => n.startsWith(`${lab.layout.netnsPrefix}pod-`)).length;
    // The simulator's view and the kernel's must agree.
    return sim === named ? sim : -1;
  },
};

/** The inode of a process's network namespace (`net:[4026…]`). */
function netnsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

const real: Mode = {
  title: 'real nodes (--kubelet real)',
  skip: skipUnless(
    'lab end-to-end, real nodes (test/lab-e2e.test.ts)',
    labAvailable().ok ? realNodesAvailable() : labAvailable(),
  ),
  nodes: 2,
  // Its own underlay (the host joins it; lab-real-kubelet uses .214, the benchmark .212/.213).
  args: ['--kubelet', 'real', '--underlay-cidr', '192.168.215.0/24', '--timeout-seconds', '300'],
  // The lab's busybox image; sh traps TERM so a scaled-down pod ends at once instead of after
  // the 30 s grace period (busybox httpd as PID 1 ignores SIGTERM).
  workload: [
    '--image=localhost/netloom/pause:1',
    '--',
    'sh',
    '-c',
    'trap "exit 0" TERM; mkdir -p /w && hostname > /w/id; httpd -f -p 8080 -h /w & wait',
  ],
  components: (lab) => [
    'kube-etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'supervisor',
    ...lab.layout.nodes.flatMap((n) => [`containerd-${n.name}`, `kubelet-${n.name}`]),
  ],
  nodeHint: (netns) => `netns ${netns}`,
  // deploy/'s etcd is a hostNetwork StatefulSet pinned to the first (control-plane) node.
  etcdHost: (status) => status.nodes[0]!.ip,
  // The agent DaemonSet's pods: same names and no restarts means nothing touched them.
  agents: async (lab) =>
    ((await lab.status()).netloom ?? [])
      .filter((p) => p.name.startsWith('netloom-agent-'))
      .map((p) => `${p.name} on ${p.node}: ${p.phase}, ${p.restarts} restarts`)
      .sort(),
  podNamespaces: async (lab) => {
    const api = labKubeApi(lab.state());
    const { pods, missing } = await realPods(lab.layout, api).finally(() => api.close());
    if (missing.length > 0) throw new Error(`no process found inside ${missing.join(', ')}`);
    return new Map(pods.map((p) => [p.name, ['nsenter', `--net=/proc/${p.pid}/ns/net`, 'ip']]));
  },
  // Distinct network namespaces among containerd's running tasks, the node's own (hostNetwork
  // pods: netloom's) not counted.
  sandboxes: async (lab) => {
    const seen = new Set<string>();
    for (const n of lab.layout.nodes) {
      const sock = realNodeFiles(lab.layout, n).containerdSocketFromHost;
      const { stdout } = await execFileP('ctr', ['-a', sock, '-n', 'k8s.io', 'tasks', 'ls']);
      const nodeNs = (
        await execFileP('ip', ['netns', 'exec', n.netns, 'readlink', '/proc/self/ns/net'])
      ).stdout.trim();
      for (const line of stdout.split('\n').slice(1)) {
        const [, pid, state] = line.trim().split(/\s+/);
        const ns = state === 'RUNNING' ? netnsOf(Number(pid)) : undefined;
        if (ns !== undefined && ns !== nodeNs) seen.add(ns);
      }
    }
    return seen.size;
  },
};

interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

async function ipJson<T>(prefix: string[], args: string[]): Promise<T[]> {
  const [cmd, ...rest] = prefix;
  const { stdout } = await execFileP(cmd!, [...rest, '-j', ...args]);
  return JSON.parse(stdout) as T[];
}

/** Host-side pod veths (the linux driver names them nl + 12 hex digits) across the lab's nodes. */
async function podVeths(lab: TestLab): Promise<string[]> {
  const out: string[] = [];
  for (const n of lab.layout.nodes) {
    const links = await ipJson<{ ifname: string }>(['ip', '-n', n.netns], ['link', 'show', 'type', 'veth']);
    out.push(...links.map((l) => l.ifname).filter((name) => /^nl[0-9a-f]{12}$/.test(name)));
  }
  return out;
}

describe.each([simulated, real])(
  'netloom lab ($title): up, a Deployment, connectivity, etcd, down',
  (mode) => {
    describe.skipIf(mode.skip)(`${mode.nodes} nodes`, () => {
      const lab = new TestLab({ nodes: mode.nodes, args: mode.args });
      let upRun: Run;
      const tag = `[lab-e2e ${mode.title}]`;

      beforeAll(async () => {
        upRun = await lab.up();
        process.stdout.write(`${tag} lab up (${mode.nodes} nodes) took ${(upRun.ms / 1000).toFixed(1)} s\n`);
      }, 420_000);

      afterAll(async () => {
        const left = await lab.destroy();
        expect(left).toEqual([]);
      }, 180_000);

      it('starts every component, prints where things are, and the nodes are Ready', async () => {
        const s = await lab.status();
        expect(s.components.filter((c) => !c.running || !c.ready).map((c) => c.name)).toEqual([]);
        expect(s.components.map((c) => c.name)).toEqual(expect.arrayContaining(mode.components(lab)));
        expect(s.nodes.map((n) => [n.name, n.ready, n.agent])).toEqual(
          lab.layout.nodes.map((n) => [n.name, true, 'ready']),
        );
        expect(upRun.stdout).toContain(`kubeconfig   ${lab.kubeconfig}`);
        expect(upRun.stdout).toContain(`etcd         ${lab.etcdEndpoint}`);
        expect(upRun.stdout).toMatch(/kubectl create deployment/);
        const host = mode.etcdHost(s).replace(/\./g, '\\.');
        expect(upRun.stdout).toMatch(
          new RegExp(
            `ETCDCTL_API=3 etcdctl --endpoints=https://${host}:\\d+ --cacert=\\S+/pki/ca\\.crt --cert=\\S+/pki/admin\\.crt --key=\\S+/pki/admin\\.key get --prefix /netloom/v1/`,
          ),
        );
        expect(upRun.stdout).toContain(mode.nodeHint(lab.layout.nodes[0]!.netns));
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
        await lab.kubectl(['create', 'deployment', 'echo', `--replicas=${REPLICAS}`, ...mode.workload]);
        const pods = await waitFor(
          `${REPLICAS} pods Running and Ready`,
          async () => {
            const p = await lab.pods('app=echo');
            return p.size === REPLICAS &&
              [...p.values()].every((x) => x.phase === 'Running' && x.ready && x.ip)
              ? p
              : undefined;
          },
          90_000,
          250,
        );
        const seconds = (performance.now() - t0) / 1000;
        process.stdout.write(
          `${tag} ${REPLICAS} pods Running with IPs ${seconds.toFixed(1)} s after kubectl create deployment\n`,
        );
        expect(seconds).toBeLessThan(60);
        const ips = [...pods.values()].map((p) => p.ip);
        expect(new Set(ips).size).toBe(REPLICAS);
        for (const ip of ips) expect(ip).toMatch(/^10\.1\.\d+\.\d+$/);
        // Spread over every node, each pod inside its node's subnet.
        expect(new Set([...pods.values()].map((p) => p.node)).size).toBe(mode.nodes);
        const subnets = new Map<string, string>();
        for (const p of pods.values()) {
          const net = p.ip.split('.').slice(0, 3).join('.');
          expect(subnets.get(p.node) ?? net).toBe(net);
          subnets.set(p.node, net);
        }
        expect(new Set(subnets.values()).size).toBe(mode.nodes);
        // The Deployment is complete as the controller manager sees it.
        type Deploy = { status: { readyReplicas?: number } };
        await waitFor(
          'deployment readyReplicas',
          async () =>
            (JSON.parse(await lab.kubectl(['get', 'deployment', 'echo', '-o', 'json'])) as Deploy).status
              .readyReplicas === REPLICAS,
          30_000,
        );
      }, 120_000);

      it('each pod has, inside its namespace, eth0 with the address the API server shows and a default route through it', async () => {
        const pods = await lab.pods('app=echo');
        const inside = await mode.podNamespaces(lab);
        expect([...pods.keys()].filter((name) => !inside.has(name))).toEqual([]);
        for (const [name, p] of pods) {
          const ip = inside.get(name)!;
          const eth0 = (await ipJson<IpAddr>(ip, ['address', 'show'])).find((l) => l.ifname === 'eth0');
          const v4 = eth0?.addr_info?.filter((a) => a.family === 'inet').map((a) => a.local);
          expect(v4, `${name}: ${ip.join(' ')}`).toEqual([p.ip]);
          const routes = await ipJson<IpRoute>(ip, ['route', 'show']);
          const dflt = routes.find((r) => r.dst === 'default');
          expect(dflt?.dev, `${name}: default route`).toBe('eth0');
          // The gateway (a link-local address on the host veth) is reached on the link itself: a
          // route to it on eth0, no subnet it would have to belong to.
          expect(dflt?.gateway, `${name}: default gateway`).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
          expect(routes.filter((r) => r.dev === 'eth0' && r.dst === dflt!.gateway)).toHaveLength(1);
        }
        // One host-side veth per pod, and the kubelet(s) hold one sandbox namespace per pod.
        expect(await mode.sandboxes(lab)).toBe(REPLICAS);
        expect(await podVeths(lab)).toHaveLength(REPLICAS);
      }, 120_000);

      it('every pod reaches every other pod (TCP, across nodes through the overlay)', async () => {
        const r = await lab.check();
        process.stdout.write(
          `${tag} ${r.pairs} pod pairs: ${r.ok} reached, p50 ${r.p50Ms} ms, max ${r.maxMs} ms\n`,
        );
        expect(r.failures).toEqual([]);
        expect(r.pods).toBe(REPLICAS);
        expect(r.pairs).toBe(REPLICAS * (REPLICAS - 1));
        expect(r.ok).toBe(r.pairs);
      }, 180_000);

      it("netloom's etcd wants a client certificate; lab status names the flags etcdctl needs", async () => {
        const s = await lab.status();
        const { etcd } = s;
        expect(etcd.endpoint).toBe(lab.etcdEndpoint);
        expect(etcd.endpoint).toMatch(new RegExp(`^https://${mode.etcdHost(s).replace(/\./g, '\\.')}:\\d+$`));
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
        expect(under('nodes/id/')).toHaveLength(mode.nodes);
        expect(keys).toContain(`${root}k8s/namespace/default`);
        expect(keys).toContain(`${root}k8s/service/default/kubernetes`);
        expect(keys).toContain(`${root}ksr/status`);
        // One IPAM entry per pod, under the pod's node, naming the pod. (On real nodes netloom's own
        // pods are hostNetwork: they hold no pod address.)
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
      }, 120_000);

      it('a second lab up leaves the running lab alone; one during another lab command says so', async () => {
        const before = await mode.agents(lab);
        expect(before).toHaveLength(mode.nodes);
        const ips = [...(await lab.pods('app=echo')).values()].map((p) => p.ip).sort();
        const again = await lab.netloom(['up'], 420_000);
        expect(again.code, again.stdout + again.stderr).toBe(0);
        expect(again.stdout).toContain('resuming the existing lab');
        expect(again.stdout).toMatch(/kube-apiserver .*\(was running, pid \d+\)/);
        expect(await mode.agents(lab)).toEqual(before);
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
        expect(resize.stdout).toContain(`exists with ${mode.nodes} nodes`);
      }, 480_000);

      it('scaling down runs CNI DEL: the removed pods leave no namespace, no host veth and no IPAM entry', async () => {
        await lab.kubectl(['scale', 'deployment', 'echo', '--replicas=5']);
        await waitFor('5 pods left', async () => (await lab.pods('app=echo')).size === 5, 60_000);
        const root = `/netloom/v1/${lab.state().cluster}/`;
        let last = '';
        await waitFor(
          '5 pod namespaces, 5 host veths and 5 IPAM entries',
          async () => {
            const ipam = (await lab.etcdctl(['get', '--prefix', `${root}ipam/`, '--keys-only']))
              .split('\n')
              .filter((k) => k !== '');
            const now = [await mode.sandboxes(lab), (await podVeths(lab)).length, ipam.length];
            last = now.join(', ');
            return now.every((x) => x === 5);
          },
          30_000,
        ).catch((err: Error) => {
          throw new Error(`${err.message} (last: namespaces, veths, IPAM = ${last})`);
        });
        // The 5 left still have their own address inside their own namespace.
        const inside = await mode.podNamespaces(lab);
        for (const [name, p] of await lab.pods('app=echo')) {
          const eth0 = (await ipJson<IpAddr>(inside.get(name)!, ['address', 'show'])).find(
            (l) => l.ifname === 'eth0',
          );
          expect(eth0?.addr_info?.find((a) => a.family === 'inet')?.local).toBe(p.ip);
        }
      }, 120_000);
    });
  },
);
