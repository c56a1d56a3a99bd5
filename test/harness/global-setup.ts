// Runs once before the integration project: says which real components the suites will use,
// which suites will be skipped and why, and which missing ones fail the run (CI, NETLOOM_REQUIRE)
// — in one place, loudly. The per-suite lines come from skipUnless as each file is collected.
// It also makes the run's etcd certificates (harness/pki.ts), which the workers find through
// NETLOOM_TEST_PKI, and removes them when the run ends.
import { rmSync } from 'node:fs';
import { errorMessage } from '../../lib/errors.ts';
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
import { makeTestPki, TEST_PKI_ENV } from './pki.ts';

export default async function setup(): Promise<() => void> {
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
  // Without openssl no etcd can start (it runs with TLS): that fails the suites that need etcd,
  // each naming the cause, rather than the whole run here.
  let pki: string;
  try {
    const files = await makeTestPki();
    process.env[TEST_PKI_ENV] = files.dir;
    pki = `  etcd certificates: ${files.dir} (this run's CA, removed at the end)`;
  } catch (err) {
    pki = `  *** etcd certificates could not be made: ${errorMessage(err)} ***`;
  }
  process.stderr.write(
    `\nnetloom integration tests, real components:\n${lines.join('\n')}\n${docker}\n${pki}\n${requirement}\n\n`,
  );
  return () => {
    const dir = process.env[TEST_PKI_ENV];
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}
