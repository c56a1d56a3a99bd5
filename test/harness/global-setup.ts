// Runs once before the integration project: says which real components the suites will use,
// and which suites will be skipped and why — in one place, loudly.
import { probeDocker } from './containers.ts';
import { etcdAvailable, kubeApiserverAvailable, netnsAvailable } from './availability.ts';

export default async function setup(): Promise<void> {
  const docker = await probeDocker().then(
    (host) => `  container engine: ${host} (used only where a local build is missing)`,
    () => '  container engine: none reachable (local builds only)',
  );
  const rows = [
    ['etcd', etcdAvailable()],
    ['kube-apiserver', kubeApiserverAvailable()],
    ['network namespaces', netnsAvailable()],
  ] as const;
  const lines = rows.map(([what, a]) =>
    a.ok
      ? `  using ${a.detail}`
      : `  *** NOT AVAILABLE: ${what}: ${a.reason} — dependent suites are SKIPPED ***`,
  );
  process.stderr.write(`\nnetloom integration tests, real components:\n${lines.join('\n')}\n${docker}\n\n`);
}
