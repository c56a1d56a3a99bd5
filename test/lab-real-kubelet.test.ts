// `netloom lab up --kubelet real --nodes 2`: real kubelets and containerd (one each per node, in
// the node's network and mount namespaces), the real kube-scheduler, netloom's shim installed on
// each node by install-cni and its agents. A Deployment of 6 busybox pods is scheduled, becomes
// Running with netloom's addresses, and every pod fetches every other pod's hostname over TCP
// (through `kubectl exec`, i.e. the API server reaching each kubelet); `lab down` then leaves no
// namespace, process, container, mount or host link. Prints lab up time and create→Running
// p50/p99. Needs the images from `npm run image` (lab up builds them when missing).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, recordOf } from '../cli/lab/daemon.ts';
import { hostLink, realNodeFiles } from '../cli/lab/real-node.ts';
import { realNodesAvailable, skipUnless } from './harness/availability.ts';
import { TestLab, waitFor } from './lab-support.ts';

const execFileP = promisify(execFile);
const skip = skipUnless('lab-real-kubelet', realNodesAvailable());
const PODS = 6;

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${PODS}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: localhost/netloom/pause:1
        imagePullPolicy: Never
        command: ["sh", "-c", "mkdir -p /w && hostname > /w/id && exec httpd -f -p 8080 -h /w"]
`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe.skipIf(skip)('lab up --kubelet real (kubelet + containerd per node)', () => {
  let lab: TestLab;
  let upSeconds = 0;

  beforeAll(async () => {
    lab = new TestLab({
      nodes: 2,
      // Its own underlay: the host joins it (a real-node lab's API server listens there).
      args: ['--kubelet', 'real', '--underlay-cidr', '192.168.214.0/24', '--timeout-seconds', '300'],
    });
    const t0 = performance.now();
    await lab.up();
    upSeconds = (performance.now() - t0) / 1000;
  }, 900_000);

  afterAll(async () => {
    await lab?.destroy();
  }, 180_000);

  it('runs a Deployment on real nodes; every pod reaches every other over TCP; lab down leaves nothing', async () => {
    const nodes = JSON.parse(await lab.kubectl(['get', 'nodes', '-o', 'json'])) as {
      items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[];
    };
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual(lab.layout.nodes.map((n) => n.name));
    for (const n of nodes.items)
      expect(n.status.conditions.find((c) => c.type === 'Ready')?.status, n.metadata.name).toBe('True');

    const t0 = Date.now();
    await lab.kubectl(['apply', '-f', '-'], deployment);
    const runningAt = new Map<string, number>();
    const pods = await waitFor(
      `${PODS} pods Running`,
      async () => {
        const now = await lab.pods('app=web');
        for (const [name, p] of now)
          if (p.phase === 'Running' && !runningAt.has(name)) runningAt.set(name, Date.now());
        const running = [...now.values()].filter((p) => p.phase === 'Running' && p.ip !== '');
        return running.length === PODS ? now : undefined;
      },
      240_000,
      250,
    );
    const latencies = [...runningAt.values()].map((t) => t - t0).sort((a, b) => a - b);

    // The scheduler spread them over both nodes; each address is in the netloom subnet of its node.
    const byNode = new Set([...pods.values()].map((p) => p.node));
    expect(byNode.size).toBe(2);
    const ips = [...pods.values()].map((p) => p.ip);
    expect(new Set(ips).size).toBe(PODS);

    // Every pod fetches every pod's /id (its hostname = pod name) over TCP.
    const names = [...pods.keys()];
    const script = ips
      .map((ip) => `printf 'GET /id HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${ip} 8080 | tail -1`)
      .join('; ');
    for (const from of names) {
      const out = await lab.kubectl(['exec', from, '--', 'sh', '-c', script]);
      expect(out.trim().split('\n'), `from ${from}`).toEqual(names);
    }

    // Container processes (children of each node's shims), to be found gone after lab down.
    const containerPids: number[] = [];
    for (const n of lab.layout.nodes) {
      const sock = realNodeFiles(lab.layout, n).containerdSocketFromHost;
      const { stdout } = await execFileP('ctr', ['-a', sock, '-n', 'k8s.io', 'tasks', 'ls']);
      for (const line of stdout.split('\n').slice(1)) {
        const pid = Number(line.trim().split(/\s+/)[1]);
        if (Number.isInteger(pid) && pid > 0) containerPids.push(pid);
      }
    }
    // 6 pods: a sandbox (pause) and a container each.
    expect(containerPids.length).toBe(2 * PODS);
    const records = containerPids.map((p) => recordOf(p, '')).filter((r) => r !== undefined);

    process.stdout.write(
      `\nreal-node lab: lab up ${upSeconds.toFixed(1)} s; ${PODS} pods create→Running p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms\n`,
    );

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
  }, 600_000);
});
