// What this machine can run, decided once per test file. A suite that cannot run is skipped
// with one loud line naming the reason; nothing is skipped silently.
import { execFileSync } from 'node:child_process';
import { findEtcd, findKubeApiserver, type Found } from './binaries.ts';
import { dockerConfigured } from './containers.ts';

export type Availability = { ok: true; detail: string } | { ok: false; reason: string };

function fromFound(found: Found, what: string): Availability {
  return found.ok
    ? { ok: true, detail: `${what} ${found.version} (${found.path})` }
    : { ok: false, reason: found.reason };
}

export function etcdAvailable(): Availability {
  const found = findEtcd();
  if (!found.ok && dockerConfigured()) return { ok: true, detail: 'etcd in a container (testcontainers)' };
  return fromFound(found, 'etcd');
}

export function kubeApiserverAvailable(): Availability {
  const found = findKubeApiserver();
  if (!found.ok && dockerConfigured()) return { ok: true, detail: 'k3s in a container (testcontainers)' };
  return fromFound(found, 'kube-apiserver');
}

/** Root with iproute2 able to create network namespaces. */
export function netnsAvailable(): Availability {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespace tests need root' };
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return { ok: true, detail: 'root, iproute2' };
  } catch {
    return { ok: false, reason: 'iproute2 (`ip`) is missing: apt-get install iproute2' };
  }
}

export function kubectlAvailable(): Availability {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return { ok: true, detail: 'kubectl' };
  } catch {
    return { ok: false, reason: 'kubectl is not installed' };
  }
}

/** Prints the loud line for a skipped suite and returns whether to skip. */
export function skipUnless(suite: string, availability: Availability): boolean {
  if (!availability.ok) process.stderr.write(`\n*** SKIPPED ${suite}: ${availability.reason} ***\n\n`);
  return !availability.ok;
}
