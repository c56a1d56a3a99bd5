// The lab's external programs: etcd and kube-apiserver as the test harness finds them (env
// override, the cached builds from test/tools/build.sh, Debian's etcd), plus kube-controller-
// manager (test/tools/build.sh) which runs Deployments, ReplicaSets, EndpointSlices, garbage
// collection and service accounts. Without it the lab still runs, and says what is missing.
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
    return (
      pattern.exec(execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }))?.[1] ?? 'unknown'
    );
  } catch {
    return 'unknown';
  }
}

function find(candidates: (string | undefined)[], pattern: RegExp, missing: string): Found {
  const path = candidates.find((p): p is string => !!p && isExecutable(p));
  return path ? { ok: true, path, version: versionOf(path, pattern) } : { ok: false, reason: missing };
}

export function findEtcd(): Found {
  return find(
    [process.env['NETLOOM_ETCD'], join(CACHE_BIN, 'etcd'), '/usr/bin/etcd'],
    /etcd Version: (\S+)/,
    'no etcd (run `npm run setup`, or apt-get install etcd-server, or set NETLOOM_ETCD)',
  );
}

export function findKubeApiserver(): Found {
  return find(
    [process.env['NETLOOM_KUBE_APISERVER'], join(CACHE_BIN, 'kube-apiserver')],
    /Kubernetes (\S+)/,
    'no kube-apiserver (run `npm run setup`, which builds it with Go, or set NETLOOM_KUBE_APISERVER)',
  );
}

export function findKubeControllerManager(): Found {
  return find(
    [process.env['NETLOOM_KUBE_CONTROLLER_MANAGER'], join(CACHE_BIN, 'kube-controller-manager')],
    /Kubernetes (\S+)/,
    'no kube-controller-manager (run `bash test/tools/build.sh`, or set NETLOOM_KUBE_CONTROLLER_MANAGER)',
  );
}

/** The real nodes' kubelet (`lab up --kubelet real`), built by test/tools/build.sh. */
export function findKubelet(): Found {
  return find(
    [process.env['NETLOOM_KUBELET'], join(CACHE_BIN, 'kubelet')],
    /Kubernetes (\S+)/,
    'no kubelet (run `bash test/tools/build.sh`, or set NETLOOM_KUBELET)',
  );
}

/** The scheduler of the real-node lab, built by test/tools/build.sh. */
export function findKubeScheduler(): Found {
  return find(
    [process.env['NETLOOM_KUBE_SCHEDULER'], join(CACHE_BIN, 'kube-scheduler')],
    /Kubernetes (\S+)/,
    'no kube-scheduler (run `bash test/tools/build.sh`, or set NETLOOM_KUBE_SCHEDULER)',
  );
}

/**
 * containerd with runc beside it (Debian's `containerd` and `runc`, `npm run setup`); `ctr`
 * imports the lab's images. The path is containerd's; runc and ctr must be on PATH.
 */
export function findContainerd(): Found {
  const containerd = find(
    [process.env['NETLOOM_CONTAINERD'], '/usr/bin/containerd', '/usr/local/bin/containerd'],
    /containerd \S+ v?(\S+)/,
    'no containerd (apt-get install containerd, or run `npm run setup` as root)',
  );
  if (!containerd.ok) return containerd;
  for (const [tool, pkg] of [
    ['runc', 'runc'],
    ['ctr', 'containerd'],
  ] as const) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      return { ok: false, reason: `no ${tool} on PATH (apt-get install ${pkg})` };
    }
  }
  return containerd;
}

/**
 * kubectl for `kubectl apply -k` of deploy/ (real-node labs): the build of test/tools/build.sh
 * (same pins as the API server, a kustomize that knows components), else Debian's.
 */
export function findKubectl(): Found {
  const path = [process.env['NETLOOM_KUBECTL'], join(CACHE_BIN, 'kubectl'), '/usr/bin/kubectl'].find(
    (p): p is string => !!p && isExecutable(p),
  );
  if (!path)
    return {
      ok: false,
      reason:
        'no kubectl (run `bash test/tools/build.sh`, or apt-get install kubernetes-client, or set NETLOOM_KUBECTL)',
    };
  let version = 'unknown';
  try {
    const out = execFileSync(path, ['version', '--client'], { encoding: 'utf8', timeout: 10_000 });
    version = /Client Version: v?(\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    // a kubectl that cannot say its version may still apply
  }
  return { ok: true, path, version };
}
