// Where the real components come from. A current etcd, kube-apiserver and kube-proxy are built
// from their Go modules by test/tools/build.sh into ~/.cache/netloom/bin; Debian's etcd-server (3.4) is
// the fallback for netloom's own store; env vars override both.
import { isExecutable } from '../../lib/files.ts';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const CACHE_BIN = join(
  process.env['NETLOOM_CACHE_DIR'] ?? join(homedir(), '.cache', 'netloom'),
  'bin',
);

export type Found = { ok: true; path: string; version: string } | { ok: false; reason: string };

function versionOf(path: string, pattern: RegExp): string {
  try {
    const out = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    return pattern.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The override's path, else the first executable fallback. An override naming nothing usable is
 * reported, not replaced: falling back would test another binary than the one asked for.
 */
function locate(variable: string, fallbacks: string[]): string | { reason: string } | undefined {
  const override = process.env[variable];
  if (!override) return fallbacks.find((p) => isExecutable(p));
  return isExecutable(override) ? override : { reason: `${variable}=${override} is not an executable file` };
}

/** etcd for netloom's store and for the API server: override, cached 3.6 build, Debian's. */
export function findEtcd(): Found {
  const path = locate('NETLOOM_ETCD', [join(CACHE_BIN, 'etcd'), '/usr/bin/etcd']);
  if (typeof path === 'object') return { ok: false, reason: path.reason };
  if (!path) {
    return {
      ok: false,
      reason: `no etcd binary (run test/tools/build.sh, or apt-get install etcd-server, or set NETLOOM_ETCD)`,
    };
  }
  return { ok: true, path, version: versionOf(path, /etcd Version: (\S+)/) };
}

/** kube-apiserver built from the Kubernetes modules; needs an etcd new enough for it. */
export function findKubeApiserver(): Found {
  const path = locate('NETLOOM_KUBE_APISERVER', [join(CACHE_BIN, 'kube-apiserver')]);
  if (typeof path === 'object') return { ok: false, reason: path.reason };
  if (!path)
    return { ok: false, reason: 'no kube-apiserver binary (run test/tools/build.sh, which needs Go)' };
  const etcd = findEtcd();
  if (!etcd.ok) return { ok: false, reason: `kube-apiserver needs etcd: ${etcd.reason}` };
  const [major = 0, minor = 0, patch = 0] = etcd.version.split('.').map(Number);
  const tooOld =
    major < 3 || (major === 3 && (minor < 4 || (minor === 4 && patch < 29) || (minor === 5 && patch < 11)));
  if (tooOld) {
    return {
      ok: false,
      reason: `etcd ${etcd.version} is too old for Kubernetes >= 1.31 (needs 3.4.29 / 3.5.11+); run test/tools/build.sh`,
    };
  }
  return { ok: true, path, version: versionOf(path, /Kubernetes (\S+)/) };
}

/** kube-proxy built from the Kubernetes modules: the reference service data plane. */
export function findKubeProxy(): Found {
  const path = locate('NETLOOM_KUBE_PROXY', [join(CACHE_BIN, 'kube-proxy')]);
  if (typeof path === 'object') return { ok: false, reason: path.reason };
  if (!path) return { ok: false, reason: 'no kube-proxy binary (run test/tools/build.sh, which needs Go)' };
  return { ok: true, path, version: versionOf(path, /Kubernetes (\S+)/) };
}

/** cyclonus (test/tools/cyclonus, pinned v0.5.6): the independent NetworkPolicy oracle. */
export function findCyclonus(): Found {
  const path = locate('NETLOOM_CYCLONUS', [join(CACHE_BIN, 'cyclonus')]);
  if (typeof path === 'object') return { ok: false, reason: path.reason };
  if (!path) return { ok: false, reason: 'no cyclonus binary (run test/tools/build.sh, which needs Go)' };
  // Its `version` command prints "development" for module builds; the pin is the version.
  return { ok: true, path, version: 'v0.5.6' };
}
