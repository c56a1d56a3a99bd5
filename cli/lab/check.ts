// `netloom lab check`: every Running pod reaches every other one (TCP echo on 8080), probed
// from inside each pod's namespace. The answer is a count and the failing pairs. On real nodes
// the pods and their namespaces come from the API server and containerd (real-status.ts), and a
// pair counts as reached when the target accepts a TCP connection on 8080 (pods run any image).
import { join } from 'node:path';
import { ROOT } from './components.ts';
import { run } from './exec.ts';
import { get } from './http.ts';
import type { SimulatorStatus } from './kubelet/simulator.ts';
import { ECHO_PORT } from './kubelet/runtime.ts';
import { labKubeApi } from './real-deploy.ts';
import { realPods } from './real-status.ts';
import { httpTarget, layoutOf, type LabState } from './state.ts';

const PROBE = join(ROOT, 'cli', 'lab', 'probe.ts');

export interface CheckResult {
  pods: number;
  pairs: number;
  ok: number;
  failures: { from: string; to: string; error: string }[];
  p50Ms: number;
  maxMs: number;
}

/** A pod to probe from and to: its name, `ip:port`, and the command prefix that enters its namespace. */
interface Member {
  name: string;
  target: string;
  enter: string[];
}

async function simulatedMembers(state: LabState): Promise<Member[]> {
  const t = httpTarget(state.kubeletAddr, '/status');
  const res = await get(t.url, { timeoutMs: 5_000, ...(t.socketPath ? { socketPath: t.socketPath } : {}) });
  const sim = JSON.parse(res.body) as SimulatorStatus;
  return sim.pods
    .filter((p) => p.state === 'ready' && p.process && p.ips.length > 0 && !p.hostNetwork)
    .map((p) => ({
      name: `${p.namespace}/${p.name}`,
      target: `${p.ips[0]}:${ECHO_PORT}`,
      enter: ['ip', 'netns', 'exec', p.netns],
    }));
}

/** Real nodes: any image, so "reached" is a TCP connection accepted on the port (no echo). */
async function realMembers(state: LabState, failures: CheckResult['failures']): Promise<Member[]> {
  const api = labKubeApi(state);
  try {
    const { pods, missing } = await realPods(layoutOf(state), api);
    for (const m of missing)
      failures.push({ from: m, to: '*', error: 'no process of the pod found to probe from' });
    return pods.map((p) => ({
      name: `${p.namespace}/${p.name}`,
      target: `${p.ip}:${ECHO_PORT}`,
      enter: ['nsenter', `--net=/proc/${p.pid}/ns/net`, '--'],
    }));
  } finally {
    api.close();
  }
}

export async function checkConnectivity(state: LabState, concurrency = 4): Promise<CheckResult> {
  const failures: CheckResult['failures'] = [];
  const real = state.kubelet === 'real';
  const pods = real ? await realMembers(state, failures) : await simulatedMembers(state);
  const times: number[] = [];
  let ok = 0;
  let pairs = 0;
  const queue = [...pods];
  const env = { ...process.env, ...(real ? { PROBE_MODE: 'connect' } : {}) };
  const worker = async (): Promise<void> => {
    for (let src = queue.shift(); src; src = queue.shift()) {
      const targets = pods.filter((p) => p !== src).map((p) => p.target);
      if (targets.length === 0) continue;
      pairs += targets.length;
      const [cmd, ...prefix] = src.enter;
      const out = await run(cmd!, [...prefix, process.execPath, PROBE, ...targets], {
        timeoutMs: 30_000,
        env,
      });
      let results: { target: string; ok: boolean; ms: number; error?: string }[] = [];
      try {
        results = JSON.parse(out.stdout) as typeof results;
      } catch {
        for (const t of targets)
          failures.push({ from: src.name, to: t, error: `probe failed: ${out.stderr.trim()}` });
        continue;
      }
      for (const r of results) {
        if (r.ok) {
          ok++;
          times.push(r.ms);
        } else {
          const to = pods.find((p) => p.target === r.target);
          failures.push({
            from: src.name,
            to: to ? `${to.name} (${r.target})` : r.target,
            error: r.error ?? 'failed',
          });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  times.sort((a, b) => a - b);
  return {
    pods: pods.length,
    pairs,
    ok,
    failures,
    p50Ms: times[Math.floor(times.length / 2)] ?? 0,
    maxMs: times.at(-1) ?? 0,
  };
}
