// Runs once before the integration project: says which real components the suites will use,
// which suites will be skipped and why, and which missing ones fail the run (CI, NETLOOM_REQUIRE)
// — in one place, loudly. The per-suite lines come from skipUnless as each file is collected.
import { probeDocker } from './containers.ts';
import {
  cniPluginsAvailable,
  etcdAvailable,
  etcdctlAvailable,
  kubeApiserverAvailable,
  kubeControllerManagerAvailable,
  kubectlAvailable,
  netnsAvailable,
  nftablesAvailable,
  requiredComponents,
  requirementSource,
  type Availability,
} from './availability.ts';

export default async function setup(): Promise<void> {
  // A typo in NETLOOM_REQUIRE stops the run here, before any suite, rather than in every file.
  const required = requiredComponents();
  const docker = await probeDocker().then(
    (host) => `  container engine: ${host} (used only where a local build is missing)`,
    () => '  container engine: none reachable (local builds only)',
  );
  // vpp-papi is left out: finding out means provisioning a venv, which its suite does itself.
  const rows: Availability[] = [
    etcdAvailable(),
    kubeApiserverAvailable(),
    kubeControllerManagerAvailable(),
    netnsAvailable(),
    nftablesAvailable(),
    cniPluginsAvailable(),
    kubectlAvailable(),
    etcdctlAvailable(),
  ];
  const lines = rows.map((a) => {
    if (a.ok) return `  using ${a.detail}`;
    return required.has(a.component)
      ? `  *** REQUIRED but missing: ${a.component}: ${a.reason} — dependent suites FAIL ***`
      : `  *** NOT AVAILABLE: ${a.component}: ${a.reason} — dependent suites are SKIPPED ***`;
  });
  const requirement = required.size
    ? `  required (${requirementSource()}): ${[...required].join(', ')}`
    : `  required: ${requirementSource()}`;
  process.stderr.write(
    `\nnetloom integration tests, real components:\n${lines.join('\n')}\n${docker}\n${requirement}\n\n`,
  );
}
