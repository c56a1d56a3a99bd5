// netloom on a real-node lab, deployed as an operator does it (docs/install.md): `kubectl apply -k`
// of the lab's own kustomization, which takes deploy/overlays/linux unchanged and sets only what
// an operator sets per cluster, in the lab's state dir (never in deploy/):
//   - netloom-config: etcd-ip = the first node (labelled control-plane first, as etcd.yaml
//     requires), the lab's cluster name and ranges;
//   - images: the archives the lab imported into each node's containerd (no registry here);
//   - KUBERNETES_SERVICE_HOST/PORT on KSR and the certificate Job/CronJob: the lab has no
//     kube-proxy, and these two talk to the API server before netloom serves any Service
//     (docs/adr/0016-lab-deploys-netloom.md);
//   - the agents' identity timings the simulated lab uses too (a restarted agent is back in
//     seconds), KSR's LoadBalancer pool, and one KSR replica on a one-node lab (anti-affinity).
// The certificates come from deploy/'s own Job; the lab then copies the admin pair out of its
// Secret into <state>/pki, as docs/install.md tells an operator to, for `lab status` and etcdctl.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import { NETLOOM_IMAGE } from '../../scripts/image.ts';
import { errorMessage } from '../../lib/errors.ts';
import { sleep } from '../../lib/timing.ts';
import type { Binaries } from './components.ts';
import { ROOT } from './components.ts';
import { LabError, runOk } from './exec.ts';
import { kubeFiles } from './kube-files.ts';
import { KubeApi } from './kubelet/kube-api.ts';
import type { LabLayout } from './layout.ts';
import { etcdImage } from './real-images.ts';
import { apiserverUrl, labPki, layoutOf, type LabState } from './state.ts';
import type { Out } from './up.ts';

/** The overlay the lab deploys. */
export const OVERLAY = join(ROOT, 'deploy', 'overlays', 'linux');
/** The image deploy/base/etcd.yaml names, which the lab replaces with its own etcd build. */
export const UPSTREAM_ETCD_IMAGE = 'gcr.io/etcd-development/etcd';
export const NAMESPACE = 'kube-system';
/**
 * The selector of netloom's pods: their `app.kubernetes.io/name`s (deploy/base labels the
 * objects, not their pod templates, with app.kubernetes.io/part-of=netloom).
 */
export const NETLOOM_PODS =
  'app.kubernetes.io/name in (netloom-etcd,netloom-ksr,netloom-agent,netloom-certs)';

export interface DeploySettings {
  /** The kustomization's `resources` entry: the overlay, relative to the kustomization's dir. */
  overlay: string;
  etcdIp: string;
  cluster: string;
  podCidr: string;
  serviceCidr: string;
  /** Where host-network pods reach the API server (no kube-proxy in the lab). */
  apiHost: string;
  apiPort: number;
  lbPool: string;
  /** deploy/components/image's image name, and the lab's reference for it. */
  netloomImage: { from: string; to: string };
  etcdImage: { from: string; to: string };
  ksrReplicas: number;
}

function splitRef(ref: string): { name: string; tag: string } {
  const i = ref.lastIndexOf(':');
  return i > ref.lastIndexOf('/')
    ? { name: ref.slice(0, i), tag: ref.slice(i + 1) }
    : { name: ref, tag: 'latest' };
}

/** The image name deploy/components/image gives netloom's containers. */
export function deployedImageName(): string {
  const c = parse(
    readFileSync(join(ROOT, 'deploy', 'components', 'image', 'kustomization.yaml'), 'utf8'),
  ) as {
    images?: { name: string; newName?: string }[];
  };
  const entry = c.images?.find((i) => i.name === 'netloom');
  return entry?.newName ?? 'netloom';
}

export function deployDir(layout: LabLayout): string {
  return join(layout.stateDir, 'deploy');
}

export function deploySettings(state: LabState, etcdVersion: string): DeploySettings {
  const layout = layoutOf(state);
  const api = new URL(apiserverUrl(state));
  return {
    overlay: relative(deployDir(layout), OVERLAY),
    etcdIp: layout.nodes[0]!.ip,
    cluster: state.cluster,
    podCidr: state.podCidr ?? '10.1.0.0/16',
    serviceCidr: state.serviceCidr ?? '10.96.0.0/12',
    apiHost: api.hostname,
    apiPort: Number(api.port),
    lbPool: state.lbPool,
    netloomImage: { from: deployedImageName(), to: NETLOOM_IMAGE },
    etcdImage: { from: UPSTREAM_ETCD_IMAGE, to: etcdImage(etcdVersion).name },
    ksrReplicas: Math.min(2, state.nodes),
  };
}

type Env = Record<string, string>;

const envOf = (env: Env): { name: string; value: string }[] =>
  Object.entries(env).map(([name, value]) => ({ name, value }));

/** A strategic-merge patch adding environment variables to one container of a pod template. */
interface EnvPatch {
  apiVersion: string;
  kind: 'Deployment' | 'DaemonSet' | 'Job' | 'CronJob';
  name: string;
  container: string;
  env: Env;
  /** More of the workload's spec (replicas). */
  spec?: Record<string, unknown>;
}

function envPatch(p: EnvPatch): { patch: string } {
  const podSpec = { spec: { containers: [{ name: p.container, env: envOf(p.env) }] } };
  const spec =
    p.kind === 'CronJob'
      ? { jobTemplate: { spec: { template: podSpec } } }
      : { ...p.spec, template: podSpec };
  return {
    patch: stringify({
      apiVersion: p.apiVersion,
      kind: p.kind,
      metadata: { name: p.name, namespace: NAMESPACE },
      spec,
    }),
  };
}

/** The lab's kustomization.yaml (pure: same settings, same text). */
export function labKustomization(s: DeploySettings): string {
  const api = { KUBERNETES_SERVICE_HOST: s.apiHost, KUBERNETES_SERVICE_PORT: String(s.apiPort) };
  const netloom = splitRef(s.netloomImage.to);
  const etcd = splitRef(s.etcdImage.to);
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [s.overlay],
    configMapGenerator: [
      {
        name: 'netloom-config',
        namespace: NAMESPACE,
        behavior: 'merge',
        literals: [
          `etcd-ip=${s.etcdIp}`,
          `cluster=${s.cluster}`,
          `pod-cidr=${s.podCidr}`,
          `service-cidr=${s.serviceCidr}`,
        ],
      },
    ],
    images: [
      { name: s.netloomImage.from, newName: netloom.name, newTag: netloom.tag },
      { name: s.etcdImage.from, newName: etcd.name, newTag: etcd.tag },
    ],
    patches: [
      envPatch({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'netloom-ksr',
        container: 'ksr',
        env: { ...api, NETLOOM_LB_POOLS: `default=${s.lbPool}` },
        spec: { replicas: s.ksrReplicas },
      }),
      envPatch({ apiVersion: 'batch/v1', kind: 'Job', name: 'netloom-certs', container: 'certs', env: api }),
      envPatch({
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        name: 'netloom-certs',
        container: 'certs',
        env: api,
      }),
      envPatch({
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        name: 'netloom-agent',
        container: 'agent',
        env: {
          NETLOOM_IDENTITY_CHECK_MS: '1000',
          NETLOOM_ID_SETTLE_MS: '2500',
          NETLOOM_LEASE_TTL_SECONDS: '5',
        },
      }),
    ],
  };
  return (
    '# Written by `netloom lab up --kubelet real` (cli/lab/real-deploy.ts): deploy/overlays/linux\n' +
    '# unchanged, with what an operator sets per cluster. Apply: kubectl apply -k <this dir>\n' +
    stringify(kustomization)
  );
}

function kubectlArgs(state: LabState): string[] {
  return ['--kubeconfig', kubeFiles(layoutOf(state).files.kubeDir).kubeconfig];
}

/** Labels the etcd node, writes the kustomization and applies it; returns the kustomization's dir. */
export async function deployNetloom(state: LabState, bins: Binaries): Promise<string> {
  const kubectl = bins.kubectl;
  if (!kubectl?.ok) throw new LabError(`--kubelet real needs kubectl: ${kubectl?.reason ?? 'not looked up'}`);
  if (!bins.etcd.ok) throw new LabError(bins.etcd.reason);
  const layout = layoutOf(state);
  const dir = deployDir(layout);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kustomization.yaml'), labKustomization(deploySettings(state, bins.etcd.version)));
  const k = kubectlArgs(state);
  // etcd.yaml runs etcd on a control-plane node, and its address is etcd-ip: the first node.
  await runOk(kubectl.path, [
    ...k,
    'label',
    'node',
    layout.nodes[0]!.name,
    'node-role.kubernetes.io/control-plane=',
    '--overwrite',
  ]);
  await runOk(kubectl.path, [...k, 'apply', '-k', dir], { timeoutMs: 120_000 });
  return dir;
}

interface Workload {
  status?: {
    numberReady?: number;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    readyReplicas?: number;
    succeeded?: number;
  };
  spec?: { replicas?: number };
}

/** One step of netloom's start, as an operator watches it. */
export interface DeployStep {
  what: string;
  done(api: KubeApi): Promise<string | undefined>;
}

const get = async (api: KubeApi, path: string): Promise<Workload | undefined> => {
  try {
    return await api.get<Workload>(path);
  } catch {
    return undefined;
  }
};

/** netloom's workloads in the order they come up (docs/install.md, "Apply"). */
export function deploySteps(state: LabState): DeployStep[] {
  const apps = `/apis/apps/v1/namespaces/${NAMESPACE}`;
  return [
    {
      what: 'certificates (Job netloom-certs → 5 Secrets)',
      done: async (api) =>
        ((await get(api, `/apis/batch/v1/namespaces/${NAMESPACE}/jobs/netloom-certs`))?.status?.succeeded ??
          0) > 0
          ? 'succeeded'
          : undefined,
    },
    {
      what: 'netloom-etcd (StatefulSet)',
      done: async (api) =>
        ((await get(api, `${apps}/statefulsets/netloom-etcd`))?.status?.readyReplicas ?? 0) >= 1
          ? '1/1 ready'
          : undefined,
    },
    {
      what: 'netloom-ksr (Deployment)',
      done: async (api) => {
        const d = await get(api, `${apps}/deployments/netloom-ksr`);
        const want = d?.spec?.replicas ?? 2;
        return (d?.status?.readyReplicas ?? 0) >= want ? `${want}/${want} ready` : undefined;
      },
    },
    {
      what: 'netloom-agent (DaemonSet)',
      done: async (api) => {
        const s = (await get(api, `${apps}/daemonsets/netloom-agent`))?.status;
        const want = s?.desiredNumberScheduled ?? 0;
        return want === state.nodes && (s?.numberReady ?? 0) === want ? `${want}/${want} ready` : undefined;
      },
    },
  ];
}

export function labKubeApi(state: LabState, timeoutMs = 5_000): KubeApi {
  const files = kubeFiles(layoutOf(state).files.kubeDir);
  let ca: Buffer | undefined;
  try {
    ca = readFileSync(files.servingCert);
  } catch {
    ca = undefined;
  }
  return new KubeApi({ server: apiserverUrl(state), token: state.token, timeoutMs, ...(ca ? { ca } : {}) });
}

/** Waits for each step, printing it as it completes; returns the steps not done by the deadline. */
export async function waitDeployed(state: LabState, timeoutMs: number, out: Out): Promise<string[]> {
  const t0 = performance.now();
  const deadline = Date.now() + timeoutMs;
  const pending = deploySteps(state);
  const api = labKubeApi(state);
  try {
    while (pending.length > 0 && Date.now() < deadline) {
      for (const step of [...pending]) {
        const done = await step.done(api);
        if (done === undefined) continue;
        pending.splice(pending.indexOf(step), 1);
        out.write(
          `  ✓ ${step.what}: ${done}  ${((performance.now() - t0) / 1000).toFixed(1)} s after apply\n`,
        );
      }
      if (pending.length > 0) await sleep(500);
    }
  } finally {
    api.close();
  }
  return pending.map((s) => s.what);
}

interface SecretObject {
  data?: Record<string, string>;
}

/**
 * The admin client pair and the CA from Secret netloom-etcd-admin into <state>/pki (what
 * docs/install.md has an operator do for `netloom ctl`), so `lab status` and the printed etcdctl
 * commands reach the deployed etcd.
 */
export async function fetchAdminPki(state: LabState): Promise<void> {
  const api = labKubeApi(state);
  try {
    const secret = await api.get<SecretObject>(`/api/v1/namespaces/${NAMESPACE}/secrets/netloom-etcd-admin`);
    const pki = labPki(state);
    const admin = pki.clients['admin']!;
    mkdirSync(pki.dir, { recursive: true, mode: 0o700 });
    for (const [key, path, mode] of [
      ['ca.crt', pki.ca, 0o644],
      ['admin.crt', admin.cert, 0o644],
      ['admin.key', admin.key, 0o600],
    ] as const) {
      const b64 = secret.data?.[key];
      if (!b64) throw new LabError(`Secret ${NAMESPACE}/netloom-etcd-admin has no ${key}`);
      writeFileSync(path, Buffer.from(b64, 'base64'), { mode });
    }
  } catch (err) {
    if (err instanceof LabError) throw err;
    throw new LabError(`reading Secret ${NAMESPACE}/netloom-etcd-admin: ${errorMessage(err)}`, {
      cause: err,
    });
  } finally {
    api.close();
  }
}
