// Runs once before the integration project: says which real components the suites will use,
// and which suites will be skipped and why — in one place, loudly.
import { etcdAvailable, kubeApiserverAvailable, netnsAvailable } from './availability.ts';

export default function setup(): void {
  const rows = [
    ['etcd', etcdAvailable()],
    ['kube-apiserver', kubeApiserverAvailable()],
    ['network namespaces', netnsAvailable()],
  ] as const;
  const lines = rows.map(([what, a]) => (a.ok ? `  using ${a.detail}` : `  *** NOT AVAILABLE: ${what}: ${a.reason} — dependent suites are SKIPPED ***`));
  process.stderr.write(`\nnetloom integration tests, real components:\n${lines.join('\n')}\n\n`);
}
