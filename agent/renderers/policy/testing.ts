// The upstream NetworkPolicy e2e model, for the policy tests and the cyclonus oracle: namespaces
// x, y, z (labelled ns=<name>) each with pods a, b, c (labelled pod=<name>), every pod serving 80
// and 81 on TCP and UDP under the names serve-80-tcp, serve-80-udp, serve-81-tcp, serve-81-udp.
// Truth tables are rows (from) of columns (to), '.' allowed and 'X' denied, as cyclonus prints.
import type { Protocol } from '../../items/values.ts';
import type { Policy as PolicyJson } from '../../../proto/gen/netloom/model/v1/Policy.ts';
import type { Namespace, Pod, Policy } from '../../view/decode.ts';
import type { PolicyInputs } from './cluster.ts';
import { explainWith } from './explain.ts';
import { PolicyEngine } from './compile.ts';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
/** Every pod, row and column order of a table. */
export const PODS = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => `${ns}/${p}`));
export const SERVED: { port: number; protocol: Protocol }[] = [80, 81].flatMap((port) =>
  (['TCP', 'UDP'] as const).map((protocol) => ({ port, protocol })),
);
export const portName = (port: number, protocol: Protocol): string =>
  `serve-${port}-${protocol.toLowerCase()}`;

/** x/a is 10.1.1.10, y/b 10.1.2.11, z/c 10.1.3.12; namespace x runs on node n1, y on n2, z on n3. */
export const ipOf = (key: string): string => {
  const [ns = '', pod = ''] = key.split('/');
  return `10.1.${NAMESPACES.indexOf(ns as 'x') + 1}.${POD_NAMES.indexOf(pod as 'a') + 10}`;
};

export function namespace(name: string, annotations: Record<string, string> = {}): Namespace {
  return { name, labels: { ns: name, 'kubernetes.io/metadata.name': name }, annotations };
}

export function pod(ns: string, name: string, over: Partial<Pod> = {}): Pod {
  return {
    namespace: ns,
    name,
    uid: `${ns}-${name}`,
    labels: { pod: name },
    annotations: {},
    nodeName: `n${NAMESPACES.indexOf(ns as 'x') + 1}`,
    hostNetwork: false,
    podIps: [ipOf(`${ns}/${name}`)],
    phase: 'Running',
    containerPorts: SERVED.map((s) => ({
      name: portName(s.port, s.protocol),
      containerPort: s.port,
      protocol: s.protocol,
    })),
    terminating: false,
    ...over,
  };
}

/** A policy as KSR writes it (proto3 JSON: absent fields stay absent inside rules). */
export type PolicySpec = Omit<PolicyJson, 'namespace' | 'name'>;

/** The view fills a policy's top-level defaults (view/decode.ts); nested fields stay as written. */
export function policy(key: string, spec: PolicySpec): Policy {
  const [ns = '', name = ''] = key.split('/');
  const filled = { namespace: ns, name, podSelector: {}, policyTypes: [], ingress: [], egress: [], ...spec };
  return filled as Policy;
}

export interface Model {
  namespaces?: Namespace[];
  pods?: Pod[];
  policies?: Record<string, PolicySpec>;
}

export function inputsOf(m: Model = {}): PolicyInputs {
  const namespaces = m.namespaces ?? NAMESPACES.map((n) => namespace(n));
  const pods = m.pods ?? NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => pod(ns, p)));
  return {
    namespaces: new Map(namespaces.map((n) => [n.name, n])),
    pods: new Map(pods.map((p) => [`${p.namespace}/${p.name}`, p])),
    policies: new Map(Object.entries(m.policies ?? {}).map(([k, s]) => [k, policy(k, s)])),
  };
}

/** The truth table of one port: a row per source pod, `xxx xxx xxx` over the destinations. */
export function table(inputs: PolicyInputs, protocol: Protocol, port: number, viaService = false): string[] {
  const engine = new PolicyEngine(inputs);
  return PODS.map((from) =>
    [0, 1, 2]
      .map((n) =>
        PODS.slice(n * 3, n * 3 + 3)
          .map((to) =>
            explainWith(engine, { from: { pod: from }, to: { pod: to }, protocol, port, viaService }).allowed
              ? '.'
              : 'X',
          )
          .join(''),
      )
      .join(' '),
  );
}

/** A table where everything is allowed. */
export const OPEN = PODS.map(() => '... ... ...');

/** `OPEN` with the cells from `from` to `to` (pod keys, or namespace prefixes like 'x/') set to `cell`. */
export function cells(base: readonly string[], from: string[], to: string[], cell: '.' | 'X'): string[] {
  const hit = (key: string, list: string[]): boolean =>
    list.some((s) => (s.endsWith('/') ? key.startsWith(s) : key === s));
  return base.map((row, r) => {
    const chars = row.replace(/ /g, '').split('');
    const out = chars.map((c, col) => (hit(PODS[r]!, from) && hit(PODS[col]!, to) ? cell : c)).join('');
    return `${out.slice(0, 3)} ${out.slice(3, 6)} ${out.slice(6)}`;
  });
}

export const ALL = ['x/', 'y/', 'z/'];
