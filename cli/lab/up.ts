// `netloom lab up`: make (or complete) the lab and print where everything is. Idempotent: a lab
// that runs is left alone (its dead parts are started again); a `lab up` already at work is
// reported, never disturbed. Everything it starts is a detached daemon, so ending `lab up`
// (Ctrl-C, kill -9) never takes the lab down; `lab down` does.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import {
  findContainerd,
  findEtcd,
  findKubeApiserver,
  findKubeControllerManager,
  findKubectl,
  findKubelet,
  findKubeScheduler,
} from './binaries.ts';
import { deployNetloom, fetchAdminPki, waitDeployed } from './real-deploy.ts';
import { prepareRealNodes, waitNodesReady } from './real-up.ts';
import { agentAvailable, labComponents, type Binaries, type Component } from './components.ts';
import type { LabConfig } from './config.ts';
import { LabError } from './exec.ts';
import { get } from './http.ts';
import { ensureNadCrd } from './crds.ts';
import { ensureCredentials, kubeFiles, writeKubeconfig } from './kube-files.ts';
import { labLayout, type LabLayout } from './layout.ts';
import { claimSlot, hostLab } from './join.ts';
import { ensureRunning } from './lifecycle.ts';
import { tryLock } from './lock.ts';
import { freePorts } from '../../lib/free-ports.ts';
import {
  apiserverUrl,
  ETCD_SERVER_NAMES,
  httpTarget,
  layoutOf,
  readState,
  writeState,
  type LabState,
} from './state.ts';
import { DEFAULT_CLIENTS, ensurePki } from '../../lib/etcd/pki.ts';
import { summary } from './summary.ts';
import { ensureUnderlay } from './underlay.ts';
import { findVpp } from './vpp.ts';
import type { SimulatorStatus } from './kubelet/simulator.ts';
import { join, resolve } from 'node:path';
import { sleep } from '../../lib/timing.ts';

export interface Out {
  write(text: string): void;
}

const secs = (t0: number): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** What a lab joining another (`--join`) takes from it (cli/lab/join.ts). */
function joinedSettings(cfg: LabConfig): Partial<LabState> & { etcdPort?: number } {
  if (!cfg.join) return {};
  const host = hostLab(cfg);
  if (cfg.kubelet === 'real') throw new LabError('--join runs simulated nodes only (no --kubelet real)');
  const cluster = cfg.cluster === 'default' ? cfg.name : cfg.cluster;
  if (cluster === host.cluster)
    throw new LabError(`lab "${host.name}" already runs cluster ${cluster}: give this one another --cluster`);
  const slot = claimSlot(host, cfg.name);
  return {
    cluster,
    underlayCidr: host.underlayCidr,
    // Its own LoadBalancer pool unless one is given: the underlay routes each pool to its lab.
    lbPool: cfg.lbPool === '198.51.100.0/28' ? `198.51.100.${16 * slot}/28` : cfg.lbPool,
    join: { name: host.name, stateDir: host.stateDir, slot },
    etcdPort: host.ports.etcd,
  };
}

/** `--dataplane vpp`: the VPP every node runs, found now (a lab keeps using the same build). */
function vppSettings(cfg: LabConfig): Pick<LabState, 'dataplane' | 'vpp'> {
  if (cfg.dataplane !== 'vpp') return {};
  if (cfg.kubelet === 'real')
    throw new LabError('--dataplane vpp runs simulated nodes only (no --kubelet real)');
  if (cfg.join) throw new LabError('--dataplane vpp does not join another lab');
  const found = findVpp();
  if (!found.ok) throw new LabError(`--dataplane vpp: ${found.reason}`);
  return { dataplane: 'vpp', vpp: found.build };
}

async function newState(cfg: LabConfig, layout: LabLayout): Promise<LabState> {
  const [etcd, etcdPeer, kubeEtcd, kubeEtcdPeer, apiserver, controllerManager, ksrMetrics, scheduler] =
    await freePorts(8);
  const { etcdPort, ...joined } = joinedSettings(cfg);
  return {
    version: 1,
    name: cfg.name,
    stateDir: layout.stateDir,
    nodes: cfg.nodes,
    cluster: cfg.cluster,
    underlayCidr: cfg.underlayCidr,
    lbPool: cfg.lbPool,
    ...(cfg.podCidr ? { podCidr: cfg.podCidr } : {}),
    ...(cfg.serviceCidr ? { serviceCidr: cfg.serviceCidr } : {}),
    ...(cfg.mesh ? { mesh: true } : {}),
    ...joined,
    podProcess: cfg.podProcess,
    ports: {
      etcd: etcdPort ?? etcd!,
      etcdPeer: etcdPeer!,
      kubeEtcd: kubeEtcd!,
      kubeEtcdPeer: kubeEtcdPeer!,
      apiserver: apiserver!,
      controllerManager: controllerManager!,
      ksrMetrics: ksrMetrics!,
      ...(cfg.kubelet === 'real' ? { scheduler: scheduler! } : {}),
    },
    kubelet: cfg.kubelet,
    ...vppSettings(cfg),
    token: randomBytes(24).toString('hex'),
    createdAt: new Date().toISOString(),
    logLevel: cfg.logLevel,
    agentArgs: cfg.agentArgs,
    kubeletAddr: cfg.metricsAddr ?? `unix:${join(layout.stateDir, 'kubelet.sock')}`,
    ...(cfg.conflist ? { conflist: resolve(cfg.conflist) } : {}),
  };
}

export function binaries(): Binaries {
  return {
    etcd: findEtcd(),
    kubeApiserver: findKubeApiserver(),
    kubeControllerManager: findKubeControllerManager(),
    agent: agentAvailable(),
    kubelet: findKubelet(),
    kubeScheduler: findKubeScheduler(),
    containerd: findContainerd(),
    kubectl: findKubectl(),
  };
}

/**
 * Real nodes: netloom deployed by `kubectl apply -k` (real-deploy.ts) onto nodes that are NotReady
 * until its DaemonSet installed the CNI configuration; then the admin certificate out of its
 * Secret, for the lab's tools.
 */
async function deployReal(
  state: LabState,
  bins: Binaries,
  timeoutSeconds: number,
  out: Out,
  warnings: string[],
): Promise<void> {
  const layout = layoutOf(state);
  let t = performance.now();
  const before = await waitNodesReady(state, layout, 0);
  out.write(
    before.length === 0
      ? '  ✓ nodes already Ready (netloom was deployed before)\n'
      : `  ✓ nodes registered, NotReady before netloom: ${before.join('; ')}\n`,
  );
  const dir = await deployNetloom(state, bins);
  out.write(`  ✓ kubectl apply -k ${dir} (deploy/overlays/linux)  ${secs(t)}\n`);
  const pending = await waitDeployed(state, Math.max(timeoutSeconds, 60) * 1000, out);
  if (pending.length > 0) warnings.push(`netloom not up: ${pending.join(', ')}`);
  t = performance.now();
  const notReady = await waitNodesReady(state, layout, Math.min(timeoutSeconds, 120) * 1000);
  if (notReady.length === 0) out.write(`  ✓ ${state.nodes} nodes Ready  ${secs(t)}\n`);
  else warnings.push(`nodes not Ready: ${notReady.join('; ')}`);
  try {
    await fetchAdminPki(state);
  } catch (err) {
    warnings.push(err instanceof Error ? err.message : String(err));
  }
}

async function kubeletStatus(state: LabState): Promise<SimulatorStatus | undefined> {
  try {
    const t = httpTarget(state.kubeletAddr, '/status');
    const res = await get(t.url, t.socketPath ? { socketPath: t.socketPath } : {});
    return res.status === 200 ? (JSON.parse(res.body) as SimulatorStatus) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts every component in dependency order, in parallel where they do not depend on each other. */
async function startAll(
  components: Component[],
  timeoutMs: number,
  out: Out,
  afterReady: (c: Component) => void,
): Promise<void> {
  const byName = new Map(components.map((c) => [c.name, c]));
  const started = new Map<string, Promise<void>>();
  const width = Math.max(...components.map((c) => c.title.length));
  const start = (c: Component): Promise<void> => {
    let p = started.get(c.name);
    if (!p) {
      p = (async () => {
        await Promise.all(
          c.after
            .map((n) => byName.get(n))
            .filter((d): d is Component => d !== undefined)
            .map(start),
        );
        const t0 = performance.now();
        const { rec, started: fresh } = await ensureRunning(c, timeoutMs);
        afterReady(c);
        const where = c.endpoint ? `  ${c.endpoint}` : '';
        out.write(
          `  ✓ ${c.title.padEnd(width)}  ${fresh ? secs(t0).padStart(6) : `(was running, pid ${rec.pid})`}${where}\n`,
        );
      })();
      started.set(c.name, p);
    }
    return p;
  };
  const results = await Promise.allSettled(components.map(start));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export async function up(
  cfg: LabConfig,
  opts: { explicitNodes: boolean; explicitKubelet?: boolean; out: Out },
): Promise<number> {
  const { out } = opts;
  const t0 = performance.now();
  if (process.getuid?.() !== 0)
    throw new LabError('the lab needs root: it creates network namespaces (run it with sudo)');
  let layout = labLayout(cfg);
  mkdirSync(layout.stateDir, { recursive: true, mode: 0o755 });
  const lock = tryLock(layout.files.lock, 'lab up');
  if (!lock.ok) {
    out.write(
      `netloom lab up: another lab command (pid ${lock.holder.pid}, since ${lock.holder.startedAt}) is working on lab "${cfg.name}" right now; leaving it alone.\n`,
    );
    return 1;
  }
  try {
    let state = readState(layout.files.state);
    const resumed = state !== undefined;
    if (state && opts.explicitNodes && state.nodes !== cfg.nodes) {
      out.write(
        `netloom lab up: lab "${cfg.name}" exists with ${state.nodes} nodes; run \`netloom lab down\` first to make one with ${cfg.nodes}.\n`,
      );
      return 1;
    }
    if (state && opts.explicitKubelet && (state.kubelet ?? 'sim') !== cfg.kubelet) {
      out.write(
        `netloom lab up: lab "${cfg.name}" exists with --kubelet ${state.kubelet ?? 'sim'}; run \`netloom lab down\` first to make one with --kubelet ${cfg.kubelet}.\n`,
      );
      return 1;
    }
    if (!state) {
      state = await newState(cfg, layout);
      writeState(layout.files.state, state);
    }
    layout = layoutOf(state);

    const bins = binaries();
    if (!bins.etcd.ok) throw new LabError(bins.etcd.reason);
    if (!bins.kubeApiserver.ok) throw new LabError(bins.kubeApiserver.reason);
    const warnings: string[] = [];
    if (!bins.kubeControllerManager.ok) {
      warnings.push(
        `${bins.kubeControllerManager.reason}: Deployments, ReplicaSets, EndpointSlices and namespace deletion do nothing; create Pods directly`,
      );
    }
    if (!bins.agent)
      warnings.push(
        '`netloom agent` is not in this checkout yet: nodes stay NotReady and pods Pending (no data plane)',
      );

    out.write(
      `netloom lab "${state.name}": ${state.nodes} nodes, state in ${layout.stateDir}${resumed ? ' (resuming the existing lab)' : ''}\n`,
    );
    let t = performance.now();
    await ensureUnderlay(layout, state.lbPool, { vppUplinks: state.dataplane === 'vpp' });
    out.write(
      `  ✓ network namespaces: ${layout.underlayNetns} (bridge ${layout.bridge}), ${layout.nodes.map((n) => n.netns).join(', ')}  ${secs(t)}\n`,
    );

    if (state.kubelet === 'real') {
      t = performance.now();
      const what = await prepareRealNodes(state, layout, bins);
      out.write(`  ✓ real nodes: ${what}  ${secs(t)}\n`);
    }

    const files = kubeFiles(layout.files.kubeDir);
    ensureCredentials(files, state.token);
    // netloom's etcd runs with TLS and client certificates, as in production: kept across
    // `lab up`s, issued again only where missing or wrong.
    t = performance.now();
    if (state.kubelet === 'real') {
      out.write(`  ✓ etcd certificates: made in the cluster by deploy/'s Job netloom-certs (below)\n`);
    } else if (state.join) {
      out.write(
        `  ✓ netloom's etcd: lab "${state.join.name}"'s (${layout.files.pki}), cluster ${state.cluster}\n`,
      );
    } else {
      const pki = await ensurePki({ dir: layout.files.pki, ...ETCD_SERVER_NAMES, clients: DEFAULT_CLIENTS });
      out.write(
        `  ✓ etcd certificates: ${layout.files.pki} (${pki.written.length === 0 ? 'kept' : `${pki.written.length} files written`})  ${secs(t)}
`,
      );
    }
    const components = labComponents(state, bins).filter((c) => c.name !== 'supervisor');
    const supervisor = labComponents(state, bins).find((c) => c.name === 'supervisor')!;
    const st = state;
    await startAll(components, cfg.timeoutSeconds * 1000, out, (c) => {
      if (c.name === 'kube-apiserver') {
        writeKubeconfig(files, {
          cluster: `netloom-${st.name}`,
          server: apiserverUrl(st),
          token: st.token,
          verify: existsSync(files.servingCert),
        });
      }
    });
    await ensureRunning(supervisor, 10_000);
    t = performance.now();
    // Real nodes get the CRD from deploy/ with the rest of netloom.
    if (state.kubelet !== 'real') {
      const crd = await ensureNadCrd(
        apiserverUrl(st),
        st.token,
        existsSync(files.servingCert) ? readFileSync(files.servingCert) : undefined,
      );
      out.write(`  ✓ NetworkAttachmentDefinition CRD (${crd})  ${secs(t)}\n`);
    }

    if (state.kubelet === 'real') await deployReal(st, bins, cfg.timeoutSeconds, out, warnings);
    // Nodes are Ready once their agent answers CNI STATUS; wait for that when agents exist.
    if (bins.agent && state.kubelet !== 'real') {
      t = performance.now();
      const deadline = Date.now() + Math.min(cfg.timeoutSeconds, 60) * 1000;
      let status: SimulatorStatus | undefined;
      for (;;) {
        status = await kubeletStatus(st);
        if (status?.nodes.every((n) => n.ready) || Date.now() > deadline) break;
        await sleep(200);
      }
      const notReady = status?.nodes.filter((n) => !n.ready) ?? [];
      if (notReady.length === 0) out.write(`  ✓ ${state.nodes} nodes Ready  ${secs(t)}\n`);
      else warnings.push(`nodes not Ready: ${notReady.map((n) => `${n.name} (${n.message})`).join('; ')}`);
    }
    out.write(
      summary({
        state,
        layout,
        kubeconfig: files.kubeconfig,
        seconds: (performance.now() - t0) / 1000,
        warnings,
      }),
    );
    return 0;
  } finally {
    lock.release();
  }
}
