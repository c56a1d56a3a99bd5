// `netloom lab up --kubelet real --nodes 2`, from nothing: real kubelets and containerd (one each
// per node, in the node's network and mount namespaces), the real kube-scheduler, and netloom
// deployed as an operator deploys it — `kubectl apply -k` of deploy/overlays/linux through the
// lab's own kustomization: the certificate Job, etcd's StatefulSet, KSR's Deployment, the agent
// DaemonSet whose init container installs the shim and conflist on each node. Then:
//   - the nodes were NotReady (no CNI configuration) until the DaemonSet made them Ready, and
//     nothing of netloom runs as a lab process;
//   - `kubectl create deployment … --replicas=10`: Running with netloom's addresses on both nodes;
//     `lab check` (every pair over TCP from inside each pod's namespace) and `kubectl exec` (the API
//     server reaching each kubelet) agree that every pod reaches every other;
//   - `kubectl rollout restart daemonset/netloom-agent` while every pod keeps connecting to every
//     other (4 rounds a second): no pod loses its address or restarts, the longest gap of any pair
//     is printed, every pair reaches again within 30 s of the rollout's end;
//   - `lab down` leaves no namespace, process, container, mount or host link.
// Prints lab up time, create→Running p50/p99 and the restart gap. Needs the images from `npm run
// image` (lab up builds them when missing).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, recordOf } from '../cli/lab/daemon.ts';
import { labKubeApi } from '../cli/lab/real-deploy.ts';
import { hostLink, realNodeFiles } from '../cli/lab/real-node.ts';
import { realPods } from '../cli/lab/real-status.ts';
import { realNodesAvailable, skipUnless } from './harness/availability.ts';
import { TestLab, waitFor } from './lab-support.ts';

const execFileP = promisify(execFile);
const skip = skipUnless('lab-real-kubelet', realNodesAvailable());
const PODS = 10;
const CONNECT_LOOP = join(import.meta.dirname, 'lab', 'connect-loop.ts');
const ROUND_MS = 250;
const CONNECT_TIMEOUT_MS = 1_000;
const KUBECTL = join(
  process.env['NETLOOM_CACHE_DIR'] ?? join(process.env['HOME'] ?? '/root', '.cache', 'netloom'),
  'bin',
  'kubectl',
);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Round {
  t: number;
  down: string[];
}

/** Per pair (`from → to`): every outage as [first failed round, first round reached again or undefined]. */
function outages(
  rounds: Map<string, Round[]>,
  targets: string[],
): Map<string, [number, number | undefined][]> {
  const out = new Map<string, [number, number | undefined][]>();
  for (const [from, list] of rounds) {
    for (const to of targets) {
      if (to.startsWith(`${from}:`)) continue;
      const runs: [number, number | undefined][] = [];
      let since: number | undefined;
      for (const r of list) {
        const down = r.down.includes(to);
        if (down && since === undefined) since = r.t;
        if (!down && since !== undefined) {
          runs.push([since, r.t]);
          since = undefined;
        }
      }
      if (since !== undefined) runs.push([since, undefined]);
      out.set(`${from} → ${to}`, runs);
    }
  }
  return out;
}

interface NodeObj {
  metadata: { name: string };
  status: { conditions: { type: string; status: string; lastTransitionTime: string }[] };
}

interface PodObj {
  metadata: { name: string; uid: string };
  spec: { nodeName: string };
  status: {
    podIP?: string;
    initContainerStatuses?: {
      name: string;
      state: { terminated?: { startedAt: string; finishedAt: string; exitCode: number } };
    }[];
    containerStatuses?: { restartCount: number }[];
  };
}

describe.skipIf(skip)('lab up --kubelet real: netloom deployed by its own manifests', () => {
  let lab: TestLab;
  let upSeconds = 0;
  let upOut = '';
  const kubectl = async (args: string[]): Promise<string> => {
    const { stdout } = await execFileP(KUBECTL, ['--kubeconfig', lab.kubeconfig, ...args], {
      maxBuffer: 64 << 20,
      timeout: 300_000,
    }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`kubectl ${args.join(' ')}: ${err.stderr ?? err.message}`);
    });
    return stdout;
  };
  const pods = async (): Promise<PodObj[]> =>
    (JSON.parse(await kubectl(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as { items: PodObj[] }).items;

  beforeAll(async () => {
    lab = new TestLab({
      nodes: 2,
      // Its own underlay: the host joins it (a real-node lab's API server listens there).
      args: ['--kubelet', 'real', '--underlay-cidr', '192.168.214.0/24', '--timeout-seconds', '300'],
    });
    const t0 = performance.now();
    upOut = (await lab.up()).stdout;
    upSeconds = (performance.now() - t0) / 1000;
  }, 900_000);

  afterAll(async () => {
    await lab?.destroy();
  }, 180_000);

  it('nodes turn Ready only once the DaemonSet installed the CNI; nothing of netloom is a lab process', async () => {
    // Before the apply, lab up saw both nodes NotReady for want of a CNI configuration.
    const before = /NotReady before netloom: (.*)/.exec(upOut)?.[1] ?? '';
    for (const n of lab.layout.nodes)
      expect(before, upOut).toMatch(new RegExp(`${n.name} \\([^)]*cni plugin not initialized`));
    expect(upOut).toMatch(/kubectl apply -k .*deploy/);

    const nodes = (JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as { items: NodeObj[] }).items;
    const agents = (
      JSON.parse(
        await kubectl([
          'get',
          'pods',
          '-n',
          'kube-system',
          '-l',
          'app.kubernetes.io/name=netloom-agent',
          '-o',
          'json',
        ]),
      ) as { items: PodObj[] }
    ).items;
    expect(agents.map((a) => a.spec.nodeName).sort()).toEqual(lab.layout.nodes.map((n) => n.name));
    for (const n of nodes) {
      const ready = n.status.conditions.find((c) => c.type === 'Ready')!;
      expect(ready.status, n.metadata.name).toBe('True');
      const agent = agents.find((a) => a.spec.nodeName === n.metadata.name)!;
      const installed = agent.status.initContainerStatuses?.find((c) => c.name === 'install-cni')?.state
        .terminated;
      expect(installed?.exitCode, n.metadata.name).toBe(0);
      // Whole seconds both: Ready came after netloom's init container started (the conflist it
      // writes is what containerd's NetworkReady waits for; containerd 1.6 runs no CNI STATUS, so
      // Ready can precede the init container's exit by the time it takes to exit).
      expect(Date.parse(ready.lastTransitionTime), n.metadata.name).toBeGreaterThanOrEqual(
        Date.parse(installed!.startedAt),
      );
      // What the init container put on this node, in the node's own /opt/cni/bin and /etc/cni/net.d.
      const root = realNodeFiles(
        lab.layout,
        lab.layout.nodes.find((x) => x.name === n.metadata.name)!,
      ).root;
      for (const f of [
        'opt/cni/bin/netloom',
        'opt/cni/bin/portmap',
        'etc/cni/net.d/10-netloom.conflist',
        'opt/netloom/bin/node',
      ])
        expect(existsSync(join(root, f)), `${n.metadata.name}: /${f}`).toBe(true);
    }

    const status = await lab.status();
    expect(status.errors).toEqual([]);
    expect(status.components.map((c) => c.name)).not.toContain('ksr');
    expect(status.components.map((c) => c.name)).not.toContain('etcd');
    expect(status.components.filter((c) => c.name.startsWith('agent-'))).toEqual([]);
    expect(status.nodes.map((n) => [n.name, n.ready, n.agent])).toEqual(
      lab.layout.nodes.map((n) => [n.name, true, 'ready']),
    );
    const kinds = (status.netloom ?? [])
      .filter((p) => p.phase === 'Running' && p.ready)
      .map((p) => ['netloom-agent', 'netloom-etcd', 'netloom-ksr'].find((k) => p.name.startsWith(`${k}-`)));
    expect(kinds.sort()).toEqual([
      'netloom-agent',
      'netloom-agent',
      'netloom-etcd',
      'netloom-ksr',
      'netloom-ksr',
    ]);
    // The admin pair came out of the Job's Secret: the lab's etcdctl line reaches the deployed etcd.
    const keys = await lab.etcdctl(['get', '--prefix', '/netloom/v1/default/nodes/info/', '--keys-only']);
    expect(
      keys
        .split('\n')
        .filter((k) => k !== '')
        .sort(),
    ).toEqual(lab.layout.nodes.map((n) => `/netloom/v1/default/nodes/info/${n.name}`));
  }, 120_000);

  let ipsBefore = new Map<string, string>();

  it(`runs ${PODS} pods of a Deployment; lab check and kubectl exec: every pod reaches every other`, async () => {
    const t0 = Date.now();
    await kubectl([
      'create',
      'deployment',
      'web',
      '--image=localhost/netloom/pause:1',
      `--replicas=${PODS}`,
      '--',
      'sh',
      '-c',
      'mkdir -p /w && hostname > /w/id && exec httpd -f -p 8080 -h /w',
    ]);
    const runningAt = new Map<string, number>();
    const running = await waitFor(
      `${PODS} pods Running`,
      async () => {
        const now = await lab.pods('app=web');
        for (const [name, p] of now)
          if (p.phase === 'Running' && !runningAt.has(name)) runningAt.set(name, Date.now());
        const up = [...now.values()].filter((p) => p.phase === 'Running' && p.ip !== '');
        return up.length === PODS ? now : undefined;
      },
      300_000,
      250,
    );
    const latencies = [...runningAt.values()].map((t) => t - t0).sort((a, b) => a - b);
    expect(new Set([...running.values()].map((p) => p.node)).size).toBe(2);
    const ips = [...running.values()].map((p) => p.ip);
    expect(new Set(ips).size).toBe(PODS);
    for (const ip of ips) expect(ip).toMatch(/^10\.1\.\d+\.\d+$/);
    ipsBefore = new Map([...running].map(([name, p]) => [name, p.ip]));

    const check = await lab.check();
    expect(check.failures).toEqual([]);
    expect([check.pods, check.pairs, check.ok]).toEqual([PODS, PODS * (PODS - 1), PODS * (PODS - 1)]);

    // Through the API server and each kubelet: every pod fetches every pod's /id (its hostname).
    const names = [...running.keys()];
    const script = ips
      .map((ip) => `printf 'GET /id HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${ip} 8080 | tail -1`)
      .join('; ');
    for (const from of names) {
      const out = await kubectl(['exec', from, '--', 'sh', '-c', script]);
      expect(out.trim().split('\n'), `from ${from}`).toEqual(names);
    }
    process.stdout.write(
      `\nreal-node lab (netloom deployed): lab up ${upSeconds.toFixed(1)} s; ${PODS} pods create→Running p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms; lab check p50 ${check.p50Ms} ms\n`,
    );
  }, 600_000);

  it('rollout restart of the agent DaemonSet under traffic: no pod loses its address, every pair back within 30 s', async () => {
    expect(ipsBefore.size).toBe(PODS);
    const agentsBefore = await kubectl([
      'get',
      'pods',
      '-n',
      'kube-system',
      '-l',
      'app.kubernetes.io/name=netloom-agent',
      '-o',
      'name',
    ]);
    const api = labKubeApi(lab.state());
    const { pods: members, missing } = await realPods(lab.layout, api).finally(() => api.close());
    expect(missing).toEqual([]);
    const mine = members.filter((m) => ipsBefore.has(m.name));
    expect(mine.length).toBe(PODS);
    const targets = mine.map((m) => `${m.ip}:8080`);
    const rounds = new Map<string, Round[]>(mine.map((m) => [m.ip, []]));
    const probers: ChildProcess[] = mine.map((m) => {
      const child = spawn(
        'nsenter',
        [
          `--net=/proc/${m.pid}/ns/net`,
          '--',
          process.execPath,
          CONNECT_LOOP,
          String(ROUND_MS),
          String(CONNECT_TIMEOUT_MS),
          ...targets.filter((t) => t !== `${m.ip}:8080`),
        ],
        {
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      createInterface({ input: child.stdout }).on('line', (l) =>
        rounds.get(m.ip)!.push(JSON.parse(l) as Round),
      );
      return child;
    });
    try {
      await waitFor(
        'every prober reporting',
        () => Promise.resolve([...rounds.values()].every((r) => r.length >= 4)),
        30_000,
        100,
      );
      const t0 = Date.now();
      await kubectl(['rollout', 'restart', 'daemonset/netloom-agent', '-n', 'kube-system']);
      await kubectl(['rollout', 'status', 'daemonset/netloom-agent', '-n', 'kube-system', '--timeout=240s']);
      const done = Date.now();
      // Keep probing after the rollout: anything broken by it shows up here.
      await new Promise((r) => setTimeout(r, 5_000));
      const gaps = outages(rounds, targets);
      const all = [...gaps.values()].flat();
      const longest = Math.max(0, ...all.map(([a, b]) => (b ?? Date.now()) - a));
      const detail = [...gaps]
        .flatMap(([pair, runs]) =>
          runs.map(
            ([a, b]) => `${pair} at +${((a - t0) / 1000).toFixed(1)} s for ${(b ?? Date.now()) - a} ms`,
          ),
        )
        .slice(0, 12);
      const lateRecoveries = [...gaps].filter(([, runs]) =>
        runs.some(([, back]) => back === undefined || back > done + 30_000),
      );
      process.stdout.write(
        `\nrollout restart of netloom-agent: ${((done - t0) / 1000).toFixed(1)} s; ${PODS * (PODS - 1)} pairs probed every ${ROUND_MS} ms: ${all.length} outages, longest ${longest} ms (0 = no round failed; an outage is a round whose connect did not complete in ${CONNECT_TIMEOUT_MS} ms)${detail.map((d) => `\n  ${d}`).join('')}\n`,
      );
      expect(lateRecoveries.map(([pair]) => pair)).toEqual([]);
      const last = [...rounds.values()].map((r) => r.at(-1)!);
      expect(last.flatMap((r) => r.down)).toEqual([]);
    } finally {
      for (const p of probers) p.kill('SIGTERM');
    }
    const agentsAfter = await kubectl([
      'get',
      'pods',
      '-n',
      'kube-system',
      '-l',
      'app.kubernetes.io/name=netloom-agent',
      '-o',
      'name',
    ]);
    expect(agentsAfter.split('\n').filter((n) => agentsBefore.includes(n) && n !== '')).toEqual([]);
    // Same pods, same addresses, no container restarted.
    const after = await pods();
    expect(new Map(after.map((p) => [p.metadata.name, p.status.podIP ?? '']))).toEqual(ipsBefore);
    expect(after.flatMap((p) => p.status.containerStatuses ?? []).map((c) => c.restartCount)).toEqual(
      Array(PODS).fill(0),
    );
    const check = await lab.check();
    expect(check.failures).toEqual([]);
  }, 600_000);

  it('lab down leaves no namespace, process, container, mount or host link', async () => {
    const containerPids: number[] = [];
    for (const n of lab.layout.nodes) {
      const sock = realNodeFiles(lab.layout, n).containerdSocketFromHost;
      const { stdout } = await execFileP('ctr', ['-a', sock, '-n', 'k8s.io', 'tasks', 'ls']);
      for (const line of stdout.split('\n').slice(1)) {
        const pid = Number(line.trim().split(/\s+/)[1]);
        if (Number.isInteger(pid) && pid > 0) containerPids.push(pid);
      }
    }
    // The web pods (sandbox + container each) and netloom's own pods at least.
    expect(containerPids.length).toBeGreaterThanOrEqual(2 * PODS + 2 * 5);
    const records = containerPids.map((p) => recordOf(p, '')).filter((r) => r !== undefined);
    const left = await lab.destroy();
    expect(left).toEqual([]);
    expect(records.filter(isAlive).map((r) => r.pid)).toEqual([]);
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .filter((l) => l.includes(lab.stateDir));
    expect(mounts).toEqual([]);
    const link = await execFileP('ip', ['link', 'show', hostLink(lab.layout)]).then(
      () => 'present',
      () => 'absent',
    );
    expect(link).toBe('absent');
  }, 300_000);
});
