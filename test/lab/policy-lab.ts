// The upstream NetworkPolicy e2e model in a running lab, for the lab policy suites: namespaces
// x/y/z (labelled ns=<name>) × pods a/b/c (labelled pod=<name>), each serving 80 and 81 on TCP
// and UDP under the names serve-<port>-<proto>. A cell is one ordered pair on one port; the data
// plane's answer comes from real packets sent inside the source pod's namespace (reach.ts), the
// expected one from the policy engine run on the objects KSR mirrored into netloom's etcd.
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { explain } from '../../agent/renderers/policy.ts';
import type { Protocol } from '../../agent/items/values.ts';
import { decode } from '../../agent/view/decode.ts';
import { readView } from '../../cli/ctl/explain.ts';
import { get } from '../../cli/lab/http.ts';
import type { SimulatorStatus } from '../../cli/lab/kubelet/simulator.ts';
import { toJson } from '../../ksr/convert/common.ts';
import { convertPolicy } from '../../ksr/convert/policy.ts';
import type { Store } from '../../lib/etcd/store.ts';
import { inNetns, runProcess } from '../../lib/iproute.ts';
import { Keyspace } from '../../lib/keyspace.ts';
import { waitFor, type TestLab } from '../lab-support.ts';

const REACH = join(import.meta.dirname, 'reach.ts');
export const NAMESPACES = ['x', 'y', 'z'] as const;
export const PODS = ['a', 'b', 'c'] as const;

export interface Probe {
  proto: 'tcp' | 'udp';
  port: number;
}

/** Every port every pod serves. */
export const ALL_PROBES: Probe[] = [
  { proto: 'tcp', port: 80 },
  { proto: 'tcp', port: 81 },
  { proto: 'udp', port: 80 },
  { proto: 'udp', port: 81 },
];

export interface LabPod {
  /** "namespace/name". */
  key: string;
  netns: string;
  ip: string;
}

/** One ordered pair of different pods on one port. */
export interface Cell {
  from: LabPod;
  to: LabPod;
  probe: Probe;
}

export const cellName = (c: Cell): string => `${c.from.key} → ${c.to.key} ${c.probe.proto}/${c.probe.port}`;

/** Every ordered pair of different pods, on every one of `probes`. */
export const allCells = (pods: readonly LabPod[], probes: readonly Probe[]): Cell[] =>
  pods.flatMap((from) =>
    pods.filter((to) => to !== from).flatMap((to) => probes.map((probe) => ({ from, to, probe }))),
  );

/** A namespace of the model, labels given in full (kubectl apply removes the others it set). */
export const namespaceManifest = (name: string, labels: Record<string, string> = { ns: name }): object => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});

/**
 * A pod of the model. Applied again with other labels it keeps its spec and only relabels; JSON
 * rather than YAML, so that a namespace or label value like "y" stays a string.
 */
export const podManifest = (
  namespace: string,
  name: string,
  labels: Record<string, string> = { pod: name },
): object => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace, name, labels },
  spec: {
    containers: [
      {
        name: 'c',
        image: 'registry.example/agnhost:1',
        ports: ALL_PROBES.map((p) => ({
          name: `serve-${p.port}-${p.proto}`,
          containerPort: p.port,
          protocol: p.proto.toUpperCase(),
        })),
      },
    ],
  },
});

/** `objects` as one `kubectl apply`. */
export const applyObjects = (lab: TestLab, objects: object[]): Promise<string> =>
  lab.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));

/**
 * Makes the three namespaces and nine pods and waits until every pod runs; returns them with
 * their addresses and the network namespaces the lab's kubelet put them in.
 */
export async function startModel(lab: TestLab): Promise<LabPod[]> {
  await applyObjects(lab, [
    ...NAMESPACES.map((ns) => namespaceManifest(ns)),
    ...NAMESPACES.flatMap((ns) => PODS.map((p) => podManifest(ns, p))),
  ]);
  const byName = await waitFor(
    'nine pods Running',
    async () => {
      const all = new Map<string, { ip: string; ready: boolean }>();
      for (const ns of NAMESPACES)
        for (const [n, p] of await lab.pods(undefined, ns)) all.set(`${ns}/${n}`, p);
      return all.size === 9 && [...all.values()].every((p) => p.ready && p.ip) ? all : undefined;
    },
    60_000,
  );
  const sim = JSON.parse(
    (await get('http://kubelet/status', { socketPath: join(lab.stateDir, 'kubelet.sock') })).body,
  ) as SimulatorStatus;
  const pods: LabPod[] = [];
  for (const p of sim.pods) {
    const key = `${p.namespace}/${p.name}`;
    if (byName.has(key)) pods.push({ key, netns: p.netns, ip: byName.get(key)!.ip });
  }
  // In x/a, x/b, …, z/c order, whatever order the kubelet lists them in.
  const order = NAMESPACES.flatMap((ns) => PODS.map((p) => `${ns}/${p}`));
  return pods.sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key));
}

/** What the data plane does on each cell: one reach.ts per source pod, all at once. */
export async function observe(cells: readonly Cell[]): Promise<Map<string, boolean>> {
  const bySource = new Map<LabPod, Cell[]>();
  for (const c of cells) bySource.set(c.from, [...(bySource.get(c.from) ?? []), c]);
  const out = new Map<string, boolean>();
  const target = (c: Cell): string => `${c.probe.proto}:${c.to.ip}:${c.probe.port}`;
  await Promise.all(
    [...bySource].map(async ([from, list]) => {
      const [cmd, argv] = inNetns(from.netns, process.execPath, [REACH, ...new Set(list.map(target))]);
      const res = await runProcess(cmd, argv, { timeoutMs: 60_000 });
      if (res.code !== 0) throw new Error(`reach from ${from.key}: ${res.stderr}`);
      const got = JSON.parse(res.stdout) as Record<string, boolean>;
      for (const c of list) out.set(cellName(c), got[target(c)] === true);
    }),
  );
  return out;
}

/** What the policy engine says on each cell, on the objects as KSR mirrored them into netloom's etcd. */
export async function expected(store: Store, cells: readonly Cell[]): Promise<Map<string, boolean>> {
  const view = await readView(store, new Keyspace('default'));
  const inputs = {
    namespaces: view.namespaces.items,
    pods: view.pods.items,
    policies: view.policies.items,
    nodes: view.nodes.items,
  };
  const out = new Map<string, boolean>();
  for (const c of cells) {
    const e = explain(inputs, {
      from: { pod: c.from.key },
      to: { pod: c.to.key },
      protocol: c.probe.proto.toUpperCase() as Protocol,
      port: c.probe.port,
    });
    out.set(cellName(c), e.allowed);
  }
  return out;
}

/** The cells where `got` is not `want`, named with what was expected. */
export const differences = (want: Map<string, boolean>, got: Map<string, boolean>): string[] =>
  [...want].filter(([k, v]) => got.get(k) !== v).map(([k, v]) => `${k}: expected ${v ? 'allow' : 'deny'}`);

/**
 * Probes `cells` until the packets agree with `want` or `timeoutMs` has passed (the agents
 * enforce a change some time after etcd has it); returns the cells that still differ.
 */
export async function untilAgreed(
  want: Map<string, boolean>,
  cells: readonly Cell[],
  timeoutMs = 20_000,
): Promise<{ diff: string[]; rounds: number }> {
  const deadline = Date.now() + timeoutMs;
  for (let rounds = 1; ; rounds++) {
    const diff = differences(want, await observe(cells));
    if (diff.length === 0 || Date.now() > deadline) return { diff, rounds };
  }
}

interface KubeObject {
  kind: string;
  metadata: {
    namespace?: string;
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

/** The namespace annotations the policy engine reads (Contrail isolation). */
const isolationOf = (annotations: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(annotations ?? {}).filter(([k]) => k.startsWith('opencontrail.org/isolation')),
  );

/**
 * Waits until netloom's etcd holds what the API server holds for the model: every
 * NetworkPolicy (as KSR converts it) and nothing else, the labels of the model's namespaces
 * and pods, and the namespaces' isolation annotations. Only then is the engine's table the one the agents are converging on.
 */
export async function waitMirrored(lab: TestLab, store: Store, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    'KSR to mirror the policies and labels into etcd',
    async () => {
      const api = JSON.parse(
        await lab.kubectl(['get', 'namespaces,pods,networkpolicies', '-A', '-o', 'json']),
      ) as { items: KubeObject[] };
      const view = await readView(store, new Keyspace('default'));
      const policies = api.items.filter((o) => o.kind === 'NetworkPolicy');
      if (policies.length !== view.policies.size) return false;
      for (const o of policies) {
        const want = decode.policy(toJson(convertPolicy(o)));
        if (!isDeepStrictEqual(view.policies.get(`${o.metadata.namespace}/${o.metadata.name}`), want))
          return false;
      }
      for (const o of api.items) {
        const labels = o.metadata.labels ?? {};
        if (o.kind === 'Namespace' && (NAMESPACES as readonly string[]).includes(o.metadata.name)) {
          const mirrored = view.namespaces.get(o.metadata.name);
          if (!isDeepStrictEqual(mirrored?.labels, labels)) return false;
          if (!isDeepStrictEqual(isolationOf(mirrored?.annotations), isolationOf(o.metadata.annotations)))
            return false;
        } else if (
          o.kind === 'Pod' &&
          (NAMESPACES as readonly string[]).includes(o.metadata.namespace ?? '')
        ) {
          if (!isDeepStrictEqual(view.pods.get(`${o.metadata.namespace}/${o.metadata.name}`)?.labels, labels))
            return false;
        }
      }
      return true;
    },
    timeoutMs,
    100,
  );
}
