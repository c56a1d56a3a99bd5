// What this machine can run, decided once per test file. A suite that cannot run is skipped
// with one loud line naming the reason; nothing is skipped silently. Where a component is
// required (under CI, or named in NETLOOM_REQUIRE) the suite fails instead: a CI run that
// quietly skipped the suites needing the API server would report green while testing little.
import { accessSync, appendFileSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';
import {
  findContainerd,
  findKubeControllerManager,
  findKubelet,
  findKubeScheduler,
} from '../../cli/lab/binaries.ts';
import { findCyclonus, findEtcd, findKubeApiserver, findKubeProxy, type Found } from './binaries.ts';
import { dockerConfigured } from './containers.ts';
import { findVpp } from '../../cli/lab/vpp.ts';

/**
 * Everything a suite may find missing, by the name NETLOOM_REQUIRE takes. What `npm run setup`
 * provides on a fresh Debian machine (as root) is required under CI; see `ciRequired`.
 */
export const COMPONENTS = [
  'etcd',
  'etcdctl',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-proxy',
  'kube-scheduler',
  'kubelet',
  'containerd',
  'cyclonus',
  'kubectl',
  'netns',
  'nftables',
  'cni-plugins',
  'vpp-papi',
  'bun',
  'vpp',
] as const;
export type Component = (typeof COMPONENTS)[number];

/**
 * Components that stay a loud skip under CI: ones nobody can install on a fresh Debian machine.
 * A real VPP is the one: no registry here has it, and its build needs a source tree given by
 * hand (NETLOOM_VPP_SRC, test/tools/build-vpp.sh); CI tests the vpp driver against the fake.
 * Everything else `npm run setup` (which `.ci/run` runs first) installs or builds, so a missing
 * one in CI means setup broke.
 */
const OPTIONAL_IN_CI: ReadonlySet<Component> = new Set<Component>(['vpp']);

/** Required when CI is set and NETLOOM_REQUIRE is not. */
export const CI_REQUIRED: readonly Component[] = COMPONENTS.filter((c) => !OPTIONAL_IN_CI.has(c));

export type Availability = { ok: true; detail: string } | { ok: false; component: Component; reason: string };

function isComponent(name: string): name is Component {
  return (COMPONENTS as readonly string[]).includes(name);
}

/** CI as most CI systems set it: any value but empty, "0" or "false". */
function inCi(env: NodeJS.ProcessEnv): boolean {
  const ci = (env['CI'] ?? '').trim().toLowerCase();
  return ci !== '' && ci !== '0' && ci !== 'false';
}

/**
 * The components whose absence fails the run. NETLOOM_REQUIRE, when set, decides alone:
 * `all`, `none`, or a comma list of component names (an unknown name is an error, so a typo
 * cannot quietly require nothing). Unset: CI_REQUIRED under CI, nothing otherwise.
 */
export function requiredComponents(env: NodeJS.ProcessEnv = process.env): ReadonlySet<Component> {
  const spec = env['NETLOOM_REQUIRE']?.trim();
  if (spec === undefined || spec === '') return new Set(inCi(env) ? CI_REQUIRED : []);
  if (spec === 'all') return new Set(COMPONENTS);
  if (spec === 'none') return new Set();
  const names = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = names.filter((n) => !isComponent(n));
  if (unknown.length > 0) {
    throw new Error(
      `NETLOOM_REQUIRE: unknown component ${unknown.join(', ')} (known: all, none, ${COMPONENTS.join(', ')})`,
    );
  }
  return new Set(names.filter(isComponent));
}

/** Why the requirement is in force, for the lines that report it. */
export function requirementSource(env: NodeJS.ProcessEnv = process.env): string {
  const spec = env['NETLOOM_REQUIRE']?.trim();
  if (spec) return `NETLOOM_REQUIRE=${spec}`;
  return inCi(env) ? `CI=${env['CI']}` : 'nothing required (set CI=true or NETLOOM_REQUIRE)';
}

/** The first missing component among several, or all their details joined. */
export function allOf(...parts: Availability[]): Availability {
  const missing = parts.find((p) => !p.ok);
  if (missing) return missing;
  return { ok: true, detail: parts.map((p) => (p.ok ? p.detail : '')).join(', ') };
}

/** A binary lookup's result as an availability of `component`. */
export function fromFound(found: Found, component: Component): Availability {
  return found.ok
    ? { ok: true, detail: `${component} ${found.version} (${found.path})` }
    : { ok: false, component, reason: found.reason };
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

export function kubeControllerManagerAvailable(): Availability {
  return fromFound(findKubeControllerManager(), 'kube-controller-manager');
}

/**
 * kube-proxy in a namespace of its own (it programs nftables and sysctls of whatever namespace
 * it runs in), reaching a real API server: root, nft, the binary, and the kube-apiserver binary
 * (not the k3s container: the API server must listen on an address the namespace can reach).
 */
export function kubeProxyAvailable(): Availability {
  return allOf(
    netnsAvailable(),
    nftablesAvailable(),
    fromFound(findKubeProxy(), 'kube-proxy'),
    fromFound(findKubeApiserver(), 'kube-apiserver'),
  );
}

/** containerd and runc (Debian's, `npm run setup`) run as plain processes, and ctr to import images. */
export function containerdAvailable(): Availability {
  return allOf(netnsAvailable(), fromFound(findContainerd(), 'containerd'));
}

/**
 * The real-node lab (`lab up --kubelet real`): root, kubelet, kube-scheduler, containerd + runc,
 * the API server and controller manager, and what the simulated lab needs (nft, etcd).
 */
export function realNodesAvailable(): Availability {
  return allOf(
    containerdAvailable(),
    nftablesAvailable(),
    fromFound(findKubelet(), 'kubelet'),
    fromFound(findKubeScheduler(), 'kube-scheduler'),
    fromFound(findKubeApiserver(), 'kube-apiserver'),
    fromFound(findKubeControllerManager(), 'kube-controller-manager'),
    cniPluginsAvailable(),
  );
}

/** The NetworkPolicy oracle, built by test/tools/build.sh. */
/** A real VPP (cli/lab/vpp.ts findVpp: what test/tools/build-vpp.sh built or found installed). */
export function vppAvailable(): Availability {
  const found = findVpp();
  return found.ok
    ? { ok: true, detail: `vpp ${found.build.version} (${found.build.bin})` }
    : { ok: false, component: 'vpp', reason: found.reason };
}

export function cyclonusAvailable(): Availability {
  return fromFound(findCyclonus(), 'cyclonus');
}

/** Root with iproute2 able to create network namespaces. */
export function netnsAvailable(): Availability {
  if (process.getuid?.() !== 0)
    return { ok: false, component: 'netns', reason: 'network namespace tests need root' };
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return { ok: true, detail: 'root, iproute2' };
  } catch {
    return { ok: false, component: 'netns', reason: 'iproute2 (`ip`) is missing: apt-get install iproute2' };
  }
}

/** The linux data plane's masquerade and the lab's checks run `nft`. */
export function nftablesAvailable(): Availability {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return { ok: true, detail: 'nftables' };
  } catch {
    return { ok: false, component: 'nftables', reason: '`nft` is missing: apt-get install nftables' };
  }
}

/** Bun, for the CNI shim built for it (`findBun()` in scripts/build-cni.ts); `npm ci` installs it. */
export function bunAvailable(bunPath: string | undefined): Availability {
  return bunPath
    ? { ok: true, detail: `bun (${bunPath})` }
    : { ok: false, component: 'bun', reason: 'Bun is missing: `npm ci` installs it (devDependency bun)' };
}

/** Where Debian's containernetworking-plugins puts the reference plugins; the suites pass it as CNI_PATH. */
export const CNI_PLUGIN_DIR = '/usr/lib/cni';
/** The reference plugins the suites chain after netloom. */
const CNI_PLUGINS = ['portmap', 'bandwidth'];

export function cniPluginsAvailable(dir = CNI_PLUGIN_DIR): Availability {
  const missing = CNI_PLUGINS.filter((p) => {
    try {
      accessSync(`${dir}/${p}`, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  return missing.length === 0
    ? { ok: true, detail: `CNI reference plugins (${dir})` }
    : {
        ok: false,
        component: 'cni-plugins',
        reason: `no ${missing.join(', ')} in ${dir}: apt-get install containernetworking-plugins`,
      };
}

/** The netns labs on the linux data plane: root, nft, the reference plugins chained after netloom, etcd. */
export function linuxLabAvailable(): Availability {
  return allOf(netnsAvailable(), nftablesAvailable(), cniPluginsAvailable(), etcdAvailable());
}

function commandAvailable(component: Component, cmd: string, args: string[], pkg: string): Availability {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    return { ok: true, detail: cmd };
  } catch {
    return { ok: false, component, reason: `${cmd} is not installed (${pkg})` };
  }
}

export function kubectlAvailable(): Availability {
  return commandAvailable('kubectl', 'kubectl', ['version', '--client'], 'apt-get install kubernetes-client');
}

export function etcdctlAvailable(): Availability {
  return commandAvailable('etcdctl', 'etcdctl', ['version'], 'apt-get install etcd-client');
}

/** The line for a suite that cannot run here, and whether it fails the run or is skipped. */
export function verdict(
  suite: string,
  missing: { component: Component; reason: string },
  env: NodeJS.ProcessEnv = process.env,
): { required: boolean; line: string } {
  const required = requiredComponents(env).has(missing.component);
  const line = required
    ? `*** REQUIRED but missing: ${missing.component}: ${missing.reason} (suite: ${suite}; ${requirementSource(env)}) ***`
    : `*** SKIPPED ${suite}: ${missing.component}: ${missing.reason} ***`;
  return { required, line };
}

/** Thrown at collection so that vitest reports the file as failed with the line as its error. */
export class RequiredComponentMissing extends Error {
  override readonly name = 'RequiredComponentMissing';
}

/**
 * Prints the loud line for a suite that cannot run and returns whether to skip it; when the
 * missing component is required, throws instead (the file fails before any hook runs).
 * NETLOOM_AVAILABILITY_LOG, set by scripts/test.sh, collects one JSON line per verdict for its
 * final summary.
 */
export function skipUnless(suite: string, availability: Availability): boolean {
  if (availability.ok) return false;
  const { required, line } = verdict(suite, availability);
  process.stderr.write(`\n${line}\n\n`);
  const log = process.env['NETLOOM_AVAILABILITY_LOG'];
  if (log) {
    const entry = { suite, component: availability.component, reason: availability.reason, required };
    appendFileSync(log, `${JSON.stringify(entry)}\n`);
  }
  if (required) throw new RequiredComponentMissing(line);
  return true;
}
