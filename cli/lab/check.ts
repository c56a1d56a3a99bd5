// `netloom lab check`: every Running pod reaches every other one (TCP echo on 8080), probed
// from inside each pod's namespace. The answer is a count and the failing pairs.
import { join } from 'node:path';
import { ROOT } from './components.ts';
import { run } from './exec.ts';
import { get } from './http.ts';
import type { SimulatorStatus } from './kubelet/simulator.ts';
import { ECHO_PORT } from './kubelet/runtime.ts';
import { httpTarget, type LabState } from './state.ts';

const PROBE = join(ROOT, 'cli', 'lab', 'probe.ts');

export interface CheckResult {
  pods: number;
  pairs: number;
  ok: number;
  failures: { from: string; to: string; error: string }[];
  p50Ms: number;
  maxMs: number;
}

export async function checkConnectivity(state: LabState, concurrency = 4): Promise<CheckResult> {
  const t = httpTarget(state.kubeletAddr, '/status');
  const res = await get(t.url, { timeoutMs: 5_000, ...(t.socketPath ? { socketPath: t.socketPath } : {}) });
  const sim = JSON.parse(res.body) as SimulatorStatus;
  const pods = sim.pods.filter((p) => p.state === 'ready' && p.process && p.ips.length > 0 && !p.hostNetwork);
  const failures: CheckResult['failures'] = [];
  const times: number[] = [];
  let ok = 0;
  let pairs = 0;
  const queue = [...pods];
  const worker = async (): Promise<void> => {
    for (let src = queue.shift(); src; src = queue.shift()) {
      const targets = pods.filter((p) => p.uid !== src.uid).map((p) => `${p.ips[0]}:${ECHO_PORT}`);
      if (targets.length === 0) continue;
      pairs += targets.length;
      const out = await run('ip', ['netns', 'exec', src.netns, process.execPath, PROBE, ...targets], {
        timeoutMs: 30_000,
      });
      const name = `${src.namespace}/${src.name}`;
      let results: { target: string; ok: boolean; ms: number; error?: string }[] = [];
      try {
        results = JSON.parse(out.stdout) as typeof results;
      } catch {
        for (const t of targets)
          failures.push({ from: name, to: t, error: `probe failed: ${out.stderr.trim()}` });
        continue;
      }
      for (const r of results) {
        if (r.ok) {
          ok++;
          times.push(r.ms);
        } else {
          const to = pods.find((p) => `${p.ips[0]}:${ECHO_PORT}` === r.target);
          failures.push({
            from: name,
            to: to ? `${to.namespace}/${to.name} (${r.target})` : r.target,
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
