// `lab status` and `lab check` on real nodes, where no simulator knows the pods: nodes and pods
// come from the API server, each agent's health from its own /readyz on the node's address
// (deploy/'s DaemonSet serves it on <node IP>:9102, which the host reaches over its link into the
// underlay), netloom's pods from kube-system. `lab check` enters a pod's network namespace through
// one of its containers' processes (containerd's task list per node), found by the pod's address
// among the namespace's local addresses (/proc/<pid>/net/fib_trie): no exec into the pod, so any
// image works.
import { readFileSync } from 'node:fs';
import { errorMessage } from '../../lib/errors.ts';
import { run } from './exec.ts';
import { get } from './http.ts';
import type { KubeApi } from './kubelet/kube-api.ts';
import type { LabLayout } from './layout.ts';
import { NAMESPACE, NETLOOM_PODS } from './real-deploy.ts';
import { realNodeFiles } from './real-node.ts';

/** The port of the agent's health and metrics server in deploy/base/agent.yaml. */
export const AGENT_PORT = 9102;

interface NodeObject {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

interface PodObject {
  metadata: { namespace: string; name: string; deletionTimestamp?: string };
  spec: { nodeName?: string; hostNetwork?: boolean };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { restartCount?: number }[];
  };
}

export interface RealNodeStatus {
  name: string;
  ip: string;
  netns: string;
  ready: boolean;
  message: string;
  pods: number;
  agent: string;
}

export interface NetloomPod {
  name: string;
  node: string;
  phase: string;
  ready: boolean;
  restarts: number;
}

async function agentHealth(ip: string): Promise<string> {
  try {
    const res = await get(`http://${ip}:${AGENT_PORT}/readyz`, { timeoutMs: 2_000 });
    return res.status === 200 ? 'ready' : `not ready: ${res.body.trim().replace(/\n/g, '; ')}`;
  } catch (err) {
    return `unreachable: ${errorMessage(err)}`;
  }
}

/** Each lab node as the API server and its agent report it. */
export async function realNodeStatus(layout: LabLayout, api: KubeApi): Promise<RealNodeStatus[]> {
  const [nodes, pods] = await Promise.all([
    api.get<{ items: NodeObject[] }>('/api/v1/nodes'),
    api.get<{ items: PodObject[] }>('/api/v1/pods'),
  ]);
  return Promise.all(
    layout.nodes.map(async (n) => {
      const ready = nodes.items
        .find((o) => o.metadata.name === n.name)
        ?.status?.conditions?.find((c) => c.type === 'Ready');
      return {
        name: n.name,
        ip: n.ip,
        netns: n.netns,
        ready: ready?.status === 'True',
        message: ready ? (ready.message ?? '') : 'not registered',
        pods: pods.items.filter((p) => p.spec.nodeName === n.name && p.status?.phase === 'Running').length,
        agent: await agentHealth(n.ip),
      };
    }),
  );
}

/** netloom's own pods (etcd, KSR, agents, the certificate Job) in kube-system. */
export async function netloomPods(api: KubeApi): Promise<NetloomPod[]> {
  const list = await api.get<{ items: PodObject[] }>(
    `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=${encodeURIComponent(NETLOOM_PODS)}`,
  );
  return list.items.map((p) => ({
    name: p.metadata.name,
    node: p.spec.nodeName ?? '',
    phase: p.metadata.deletionTimestamp ? 'Terminating' : (p.status?.phase ?? ''),
    ready: p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
    restarts: (p.status?.containerStatuses ?? []).reduce((a, c) => a + (c.restartCount ?? 0), 0),
  }));
}

/** The addresses local to a network namespace, from its fib_trie (`/32 host LOCAL` entries). */
export function localAddresses(fibTrie: string): string[] {
  const out = new Set<string>();
  let last = '';
  for (const line of fibTrie.split('\n')) {
    const leaf = /\|-- (\S+)/.exec(line);
    if (leaf) last = leaf[1]!;
    else if (/\/32 host LOCAL/.test(line) && last !== '') out.add(last);
  }
  return [...out];
}

/** The containerd tasks' pids of every lab node (sandboxes and containers). */
async function taskPids(layout: LabLayout): Promise<number[]> {
  const pids: number[] = [];
  for (const n of layout.nodes) {
    const sock = realNodeFiles(layout, n).containerdSocketFromHost;
    const res = await run('ctr', ['-a', sock, '-n', 'k8s.io', 'tasks', 'ls'], { timeoutMs: 10_000 });
    if (res.code !== 0) continue;
    for (const line of res.stdout.split('\n').slice(1)) {
      const [, pid, status] = line.trim().split(/\s+/);
      if (status === 'RUNNING' && Number(pid) > 0) pids.push(Number(pid));
    }
  }
  return pids;
}

export interface RealPod {
  namespace: string;
  name: string;
  ip: string;
  /** A process in the pod's network namespace (enter it with nsenter --net=/proc/<pid>/ns/net). */
  pid: number;
}

/** Running pods with a pod-network address, each with a process inside its namespace. */
export async function realPods(
  layout: LabLayout,
  api: KubeApi,
): Promise<{ pods: RealPod[]; missing: string[] }> {
  const list = await api.get<{ items: PodObject[] }>('/api/v1/pods');
  const wanted = list.items.filter(
    (p) =>
      p.status?.phase === 'Running' &&
      !p.metadata.deletionTimestamp &&
      !p.spec.hostNetwork &&
      !!p.status.podIP,
  );
  const byIp = new Map<string, number>();
  for (const pid of await taskPids(layout)) {
    let trie: string;
    try {
      trie = readFileSync(`/proc/${pid}/net/fib_trie`, 'utf8');
    } catch {
      continue;
    }
    for (const ip of localAddresses(trie)) if (!byIp.has(ip)) byIp.set(ip, pid);
  }
  const pods: RealPod[] = [];
  const missing: string[] = [];
  for (const p of wanted) {
    const pid = byIp.get(p.status!.podIP!);
    const id = { namespace: p.metadata.namespace, name: p.metadata.name, ip: p.status!.podIP! };
    if (pid === undefined) missing.push(`${id.namespace}/${id.name} (${id.ip})`);
    else pods.push({ ...id, pid });
  }
  return { pods, missing };
}
