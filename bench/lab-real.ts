// Real nodes beside simulated ones, in the same run: `lab up` time, pod create → Running for one
// Deployment of N pods, and what a real node costs in memory. Each mode gets a fresh lab of the
// same node count (the simulated one first; then `lab down` and the real one):
//   sim   netloom's node simulator, the lab's own netloom processes; pods run no process
//         (`--pod-process none`): the figure is scheduling + CNI ADD + status;
//   real  kubelet + containerd per node, netloom deployed by `kubectl apply -k` (lab up waits for
//         its DaemonSet); pods are busybox containers (`httpd`), so the figure also holds
//         sandbox and container creation by containerd/runc.
// Create → Running: from the Deployment's creation to the first time a poll of the pod list
// (every 200 ms, straight from the API server) shows the pod Running with an address.
// Memory: VmRSS of node 1's kubelet, containerd, netloom agent (the DaemonSet's process) and of
// the containerd shims (one per pod) with N/nodes pods on it.
// Usage: node bench/lab-real.ts [--pods 100] [--nodes 2]
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readPidFile } from '../cli/lab/daemon.ts';
import { labKubeApi } from '../cli/lab/real-deploy.ts';
import { realNodesAvailable } from '../test/harness/availability.ts';
import { labAvailable, TestLab } from '../test/lab-support.ts';
import { sleep } from '../lib/timing.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const PODS = arg('pods', 100);
const NODES = arg('nodes', 2);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

interface Result {
  mode: 'sim' | 'real';
  upSeconds: number;
  p50: number;
  p99: number;
  max: number;
  allRunningSeconds: number;
  memory?: Record<string, number>;
}

function deployment(real: boolean): string {
  const command = real
    ? `\n        command: ["sh", "-c", "mkdir -p /w && hostname > /w/id && exec httpd -f -p 8080 -h /w"]`
    : '';
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: bench}
spec:
  replicas: ${PODS}
  selector: {matchLabels: {app: bench}}
  template:
    metadata: {labels: {app: bench}}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 1
      containers:
      - name: bench
        image: localhost/netloom/pause:1
        imagePullPolicy: Never${command}
`;
}

interface PodList {
  items: { metadata: { name: string }; status?: { phase?: string; podIP?: string } }[];
}

async function createAndWait(lab: TestLab, real: boolean): Promise<{ latencies: number[]; allMs: number }> {
  const state = lab.state();
  const api = labKubeApi(state, 10_000);
  try {
    const runningAt = new Map<string, number>();
    const t0 = Date.now();
    await lab.kubectl(['apply', '-f', '-'], deployment(real));
    const deadline = t0 + 15 * 60_000;
    while (runningAt.size < PODS) {
      if (Date.now() > deadline) throw new Error(`${runningAt.size}/${PODS} pods Running after 15 min`);
      const list = await api.get<PodList>('/api/v1/namespaces/default/pods?labelSelector=app%3Dbench');
      const now = Date.now();
      for (const p of list.items)
        if (p.status?.phase === 'Running' && p.status.podIP && !runningAt.has(p.metadata.name))
          runningAt.set(p.metadata.name, now);
      await sleep(200);
    }
    const latencies = [...runningAt.values()].map((t) => t - t0);
    return { latencies, allMs: Math.max(...latencies) };
  } finally {
    api.close();
  }
}

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Whether two processes share a namespace of a kind: where /proc/<pid>/ns/<kind> points. */
function sameNs(kind: 'net' | 'mnt', a: number, b: number): boolean {
  try {
    return readlinkSync(`/proc/${a}/ns/${kind}`) === readlinkSync(`/proc/${b}/ns/${kind}`);
  } catch {
    return false;
  }
}

/**
 * Memory of node 1 of a real lab: kubelet, containerd, the agent container's process (in the
 * node's network namespace), and containerd's shims (in the node's mount namespace: their
 * arguments name the same socket path on every node).
 */
function realNodeMemory(lab: TestLab): Record<string, number> {
  const node = lab.layout.nodes[0]!;
  const kubelet = readPidFile(join(lab.layout.files.pids, `kubelet-${node.name}.pid`))!.pid;
  const containerd = readPidFile(join(lab.layout.files.pids, `containerd-${node.name}.pid`))!.pid;
  let agent = 0;
  let shims = 0;
  let shimCount = 0;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const cmd = cmdline(pid);
    if (cmd.includes('containerd-shim-runc-v2') && sameNs('mnt', pid, containerd)) {
      shims += rssKiB(pid);
      shimCount++;
    } else if (/netloom\.ts agent\b/.test(cmd) && sameNs('net', pid, kubelet)) {
      agent += rssKiB(pid);
    }
  }
  return {
    'kubelet MiB': rssKiB(kubelet) / 1024,
    'containerd MiB': rssKiB(containerd) / 1024,
    'netloom agent MiB': agent / 1024,
    [`containerd shims (${shimCount}) MiB`]: shims / 1024,
  };
}

/** Memory of one simulated node: its agent process (the simulator plays every node in one process). */
function simNodeMemory(lab: TestLab): Record<string, number> {
  const node = lab.layout.nodes[0]!;
  const agent = readPidFile(join(lab.layout.files.pids, `agent-${node.name}.pid`))!.pid;
  const sim = readPidFile(join(lab.layout.files.pids, 'kubelet.pid'))!.pid;
  return {
    'netloom agent MiB': rssKiB(agent) / 1024,
    [`node simulator (all ${NODES} nodes) MiB`]: rssKiB(sim) / 1024,
  };
}

async function measure(mode: 'sim' | 'real'): Promise<Result> {
  const real = mode === 'real';
  const lab = new TestLab({
    nodes: NODES,
    args: real
      ? ['--kubelet', 'real', '--underlay-cidr', '192.168.213.0/24', '--timeout-seconds', '300']
      : ['--pod-process', 'none', '--underlay-cidr', '192.168.212.0/24'],
  });
  try {
    const t0 = performance.now();
    const res = await lab.up();
    // The steps of netloom's start as lab up printed them (real nodes: after the apply).
    if (real)
      for (const l of res.stdout.split('\n')) if (/after apply|nodes Ready|apply -k/.test(l)) console.log(l);
    const upSeconds = (performance.now() - t0) / 1000;
    process.stdout.write(`${mode}: lab up ${upSeconds.toFixed(1)} s; creating ${PODS} pods…\n`);
    const { latencies, allMs } = await createAndWait(lab, real);
    const memory = real ? realNodeMemory(lab) : simNodeMemory(lab);
    return {
      mode,
      upSeconds,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      max: Math.max(...latencies),
      allRunningSeconds: allMs / 1000,
      memory,
    };
  } finally {
    await lab.destroy();
  }
}

const missing = [labAvailable(), realNodesAvailable()].filter((a) => !a.ok);
if (missing.length > 0) {
  for (const m of missing) if (!m.ok) console.error(`lab-real: cannot run: ${m.component}: ${m.reason}`);
  process.exit(1);
}
const results: Result[] = [];
for (const mode of ['sim', 'real'] as const) results.push(await measure(mode));
const [sim, real] = results as [Result, Result];
const row = (label: string, a: string, b: string, ratio = ''): string =>
  `| ${label.padEnd(38)} | ${a.padStart(10)} | ${b.padStart(10)} | ${ratio.padStart(8)} |`;
const x = (a: number, b: number): string => `${(b / a).toFixed(1)}×`;
console.log(
  `\n${NODES} nodes, ${PODS} pods (one Deployment), on ${
    readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('processor')).length
  } cores\n`,
);
console.log(row('', 'simulated', 'real', 'real/sim'));
console.log(row('-'.repeat(38), '-'.repeat(10), '-'.repeat(10), '-'.repeat(8)));
console.log(
  row('lab up (s)', sim.upSeconds.toFixed(1), real.upSeconds.toFixed(1), x(sim.upSeconds, real.upSeconds)),
);
console.log(row('create → Running p50 (ms)', String(sim.p50), String(real.p50), x(sim.p50, real.p50)));
console.log(row('create → Running p99 (ms)', String(sim.p99), String(real.p99), x(sim.p99, real.p99)));
console.log(
  row(
    `all ${PODS} Running (s)`,
    sim.allRunningSeconds.toFixed(1),
    real.allRunningSeconds.toFixed(1),
    x(sim.allRunningSeconds, real.allRunningSeconds),
  ),
);
console.log(`\nmemory of node 1 (VmRSS, ${Math.round(PODS / NODES)} pods on it):`);
for (const r of results)
  for (const [k, v] of Object.entries(r.memory ?? {}))
    console.log(`  ${r.mode.padEnd(4)}  ${k.padEnd(34)} ${v.toFixed(0).padStart(6)}`);
