// `netloom lab status`: each component (alive? ready?), each node (Ready as the simulator
// reports it, its agent's health), each pod (node, IP, phase from the API server). `--json`
// gives the same as one object, for scripts and tests.
import { existsSync, readFileSync } from 'node:fs';
import { errorMessage } from '../../lib/errors.ts';
import type { Binaries } from './components.ts';
import { labComponents } from './components.ts';
import { get } from './http.ts';
import { kubeFiles } from './kube-files.ts';
import { KubeApi } from './kubelet/kube-api.ts';
import type { SimulatorStatus } from './kubelet/simulator.ts';
import type { Pod, PodList } from './kubelet/types.ts';
import { runningRecord } from './lifecycle.ts';
import { labKubeApi } from './real-deploy.ts';
import { netloomPods, realNodeStatus, type NetloomPod } from './real-status.ts';
import { apiserverUrl, etcdAccess, etcdctlFlags, httpTarget, layoutOf, type LabState } from './state.ts';
import type { Out } from './up.ts';

export interface ComponentStatus {
  name: string;
  title: string;
  pid: number | null;
  running: boolean;
  ready: boolean;
  endpoint: string | null;
}

export interface LabStatus {
  name: string;
  stateDir: string;
  createdAt: string;
  components: ComponentStatus[];
  nodes: {
    name: string;
    ip: string;
    netns: string;
    ready: boolean;
    message: string;
    pods: number;
    agent: string;
  }[];
  pods: { namespace: string; name: string; node: string; phase: string; ip: string; ready: boolean }[];
  /** Services with the addresses they answer on and their ready endpoints (from the API server). */
  services: {
    namespace: string;
    name: string;
    type: string;
    clusterIp: string;
    external: string[];
    /** `port/PROTO`, with `:nodePort` where there is one. */
    ports: string[];
    endpoints: string[];
  }[];
  /** Real nodes: netloom's own pods in kube-system (deploy/'s etcd, KSR, agents, certificate Job). */
  netloom?: NetloomPod[];
  /** How to reach netloom's etcd: TLS with the admin client certificate. */
  etcd: { endpoint: string; ca: string; cert: string; key: string; etcdctl: string };
  errors: string[];
}

interface ServiceObject {
  metadata: { namespace: string; name: string };
  spec: {
    type?: string;
    clusterIP?: string;
    externalIPs?: string[];
    ports?: { port: number; protocol?: string; nodePort?: number }[];
  };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

interface EndpointSliceObject {
  metadata: { namespace: string; labels?: Record<string, string> };
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
  ports?: { port?: number }[] | null;
}

/** Services and their ready endpoint addresses, as an operator wants them at a glance. */
async function servicesOf(api: KubeApi): Promise<LabStatus['services']> {
  const [svcs, slices] = await Promise.all([
    api.get<{ items: ServiceObject[] }>('/api/v1/services'),
    api.get<{ items: EndpointSliceObject[] }>('/apis/discovery.k8s.io/v1/endpointslices'),
  ]);
  const ready = new Map<string, Set<string>>();
  for (const sl of slices.items) {
    const svc = sl.metadata.labels?.['kubernetes.io/service-name'];
    if (!svc) continue;
    const id = `${sl.metadata.namespace}/${svc}`;
    const set = ready.get(id) ?? new Set<string>();
    for (const ep of sl.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      for (const a of ep.addresses) for (const p of sl.ports ?? []) set.add(p.port ? `${a}:${p.port}` : a);
    }
    ready.set(id, set);
  }
  return svcs.items.map((s) => ({
    namespace: s.metadata.namespace,
    name: s.metadata.name,
    type: s.spec.type ?? 'ClusterIP',
    clusterIp: s.spec.clusterIP ?? '',
    external: [
      ...(s.spec.externalIPs ?? []),
      ...(s.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
    ],
    ports: (s.spec.ports ?? []).map(
      (p) => `${p.port}/${p.protocol ?? 'TCP'}${p.nodePort ? `:${p.nodePort}` : ''}`,
    ),
    endpoints: [...(ready.get(`${s.metadata.namespace}/${s.metadata.name}`) ?? [])].sort(),
  }));
}

async function agentHealth(socket: string): Promise<string> {
  if (!existsSync(socket)) return 'no API socket';
  try {
    const res = await get('http://agent/readyz', { socketPath: socket });
    return res.status === 200 ? 'ready' : `not ready: ${res.body.trim().replace(/\n/g, '; ')}`;
  } catch (err) {
    return `unreachable: ${errorMessage(err)}`;
  }
}

export async function collectStatus(state: LabState, bins: Binaries): Promise<LabStatus> {
  const layout = layoutOf(state);
  const errors: string[] = [];
  const components = await Promise.all(
    labComponents(state, bins).map(async (c): Promise<ComponentStatus> => {
      const rec = runningRecord(c);
      const ready = rec ? await c.ready().catch(() => false) : false;
      return {
        name: c.name,
        title: c.title,
        pid: rec?.pid ?? null,
        running: rec !== undefined,
        ready,
        endpoint: c.endpoint ?? null,
      };
    }),
  );
  if (state.kubelet === 'real') return { ...(await realStatus(state, errors)), components };
  let sim: SimulatorStatus | undefined;
  try {
    const t = httpTarget(state.kubeletAddr, '/status');
    const res = await get(t.url, t.socketPath ? { socketPath: t.socketPath } : {});
    sim = JSON.parse(res.body) as SimulatorStatus;
  } catch (err) {
    errors.push(`node simulator: ${errorMessage(err)}`);
  }
  const nodes = await Promise.all(
    layout.nodes.map(async (n) => {
      const s = sim?.nodes.find((x) => x.name === n.name);
      return {
        name: n.name,
        ip: n.ip,
        netns: n.netns,
        ready: s?.ready ?? false,
        message: s?.message ?? 'unknown (node simulator down)',
        pods: s?.pods ?? 0,
        agent: bins.agent ? await agentHealth(n.apiSocket) : 'not in this checkout',
      };
    }),
  );
  const files = kubeFiles(layout.files.kubeDir);
  const api = new KubeApi({
    server: apiserverUrl(state),
    token: state.token,
    timeoutMs: 5_000,
    ...(existsSync(files.servingCert) ? { ca: readFileSync(files.servingCert) } : {}),
  });
  const { pods, services } = await workloads(api, errors, () => Promise.resolve());
  return {
    name: state.name,
    stateDir: state.stateDir,
    createdAt: state.createdAt,
    components,
    nodes,
    pods,
    services,
    etcd: { ...etcdAccess(state), etcdctl: `etcdctl ${etcdctlFlags(state)}` },
    errors,
  };
}

/** Nodes, pods, services and netloom's pods of a real-node lab, all from the API server. */
async function realStatus(state: LabState, errors: string[]): Promise<Omit<LabStatus, 'components'>> {
  const layout = layoutOf(state);
  const api = labKubeApi(state);
  let nodes: LabStatus['nodes'] = [];
  let netloom: NetloomPod[] = [];
  const { pods, services } = await workloads(api, errors, async () => {
    nodes = await realNodeStatus(layout, api);
    netloom = await netloomPods(api);
  });
  return {
    name: state.name,
    stateDir: state.stateDir,
    createdAt: state.createdAt,
    nodes,
    pods,
    services,
    netloom,
    etcd: { ...etcdAccess(state), etcdctl: `etcdctl ${etcdctlFlags(state)}` },
    errors,
  };
}

/**
 * The cluster's pods and Services from the API server (after `first`, the mode's own reads), for
 * either kind of lab; a failure is one line in `errors`. Closes `api`.
 */
async function workloads(
  api: KubeApi,
  errors: string[],
  first: () => Promise<void>,
): Promise<Pick<LabStatus, 'pods' | 'services'>> {
  try {
    await first();
    return { pods: podRows(await api.get<PodList>('/api/v1/pods')), services: await servicesOf(api) };
  } catch (err) {
    errors.push(`kube-apiserver: ${errorMessage(err)}`);
    return { pods: [], services: [] };
  } finally {
    api.close();
  }
}

function podRows(list: PodList): LabStatus['pods'] {
  return list.items.map((p: Pod) => ({
    namespace: p.metadata.namespace,
    name: p.metadata.name,
    node: p.spec.nodeName ?? '',
    phase: p.metadata.deletionTimestamp ? 'Terminating' : (p.status?.phase ?? ''),
    ip: p.status?.podIP ?? '',
    ready: p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
  }));
}

const short = (text: string, max = 60): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map(
        (r) =>
          '  ' +
          r
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function printStatus(s: LabStatus, out: Out): void {
  out.write(`lab "${s.name}" (since ${s.createdAt}, state ${s.stateDir})\n\ncomponents:\n`);
  out.write(
    table([
      ['NAME', 'STATE', 'PID', 'ENDPOINT'],
      ...s.components.map((c) => [
        c.name,
        c.running ? (c.ready ? 'ready' : 'running, not ready') : 'DOWN',
        c.pid === null ? '-' : String(c.pid),
        c.endpoint ?? '',
      ]),
    ]),
  );
  out.write(
    `\nnetloom's etcd (TLS, client certificate required):\n  ${s.etcd.etcdctl} get --prefix /netloom/v1/ --keys-only\n`,
  );
  out.write('\nnodes:\n');
  out.write(
    table([
      ['NAME', 'IP', 'READY', 'PODS', 'AGENT', 'NETNS'],
      ...s.nodes.map((n) => [
        n.name,
        n.ip,
        n.ready ? 'True' : `False (${short(n.message)})`,
        String(n.pods),
        short(n.agent),
        n.netns,
      ]),
    ]),
  );
  if (s.netloom) {
    out.write(`\nnetloom (deployed in kube-system, ${s.netloom.length} pods):\n`);
    out.write(
      table([
        ['NAME', 'NODE', 'PHASE', 'READY', 'RESTARTS'],
        ...s.netloom.map((p) => [p.name, p.node || '-', p.phase, p.ready ? 'yes' : 'no', String(p.restarts)]),
      ]),
    );
  }
  out.write(`\npods (${s.pods.length}):\n`);
  if (s.pods.length > 0) {
    out.write(
      table([
        ['NAMESPACE', 'NAME', 'NODE', 'PHASE', 'READY', 'IP'],
        ...s.pods.map((p) => [
          p.namespace,
          p.name,
          p.node || '-',
          p.phase,
          p.ready ? 'yes' : 'no',
          p.ip || '-',
        ]),
      ]),
    );
  }
  out.write(`\nservices (${s.services.length}):\n`);
  if (s.services.length > 0) {
    out.write(
      table([
        ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL', 'PORTS', 'ENDPOINTS'],
        ...s.services.map((v) => [
          v.namespace,
          v.name,
          v.type,
          v.clusterIp || '-',
          v.external.join(',') || '-',
          v.ports.join(',') || '-',
          short(v.endpoints.join(',') || '-', 80),
        ]),
      ]),
    );
  }
  for (const e of s.errors) out.write(`! ${e}\n`);
}
