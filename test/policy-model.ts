// Random NetworkPolicies and labels over the upstream e2e model (x/y/z × a/b/c, serving 80 and 81
// on TCP and UDP as serve-<port>-<proto>), shaped like the Kubernetes objects. Shared by the
// engine-against-cyclonus test (policy-oracle.test.ts, on the model's own addresses) and the lab
// test with real packets (lab-policy-random.test.ts, on the addresses the lab gave its pods): the
// only thing that differs between them is where the pods are, so the generator takes `ipOf`.
import fc from 'fast-check';
import { NAMESPACES, POD_NAMES, portName, SERVED } from '../agent/renderers/policy/testing.ts';

type Sel = { matchLabels?: Record<string, string>; matchExpressions?: object[] };

/**
 * A random selector over `keys`. NotIn only ever names `always`, a key every object carries:
 * cyclonus v0.5.6 says NotIn does not match an object without the key, where Kubernetes (and
 * netloom) say it does; selectors.test.ts pins Kubernetes' behaviour by hand.
 */
const selector = (keys: Record<string, string[]>, always: string): fc.Arbitrary<Sel> => {
  const key = fc.constantFrom(...Object.keys(keys));
  const expr = fc.oneof(
    key.chain((k) =>
      fc.record({
        key: fc.constant(k),
        operator: fc.constant('In'),
        values: fc.subarray(keys[k]!, { minLength: 1 }),
      }),
    ),
    fc.record({
      key: fc.constant(always),
      operator: fc.constant('NotIn'),
      values: fc.subarray(keys[always]!, { minLength: 1 }),
    }),
    fc.record({ key, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
  );
  const labels = key.chain((k) => fc.constantFrom(...keys[k]!).map((v) => ({ [k]: v })));
  return fc.record(
    { matchLabels: labels, matchExpressions: fc.array(expr, { minLength: 1, maxLength: 2 }) },
    { requiredKeys: [] },
  );
};
const podSelector = selector({ pod: [...POD_NAMES], app: ['web', 'db'] }, 'pod');
const namespaceSelector = selector({ ns: [...NAMESPACES], team: ['red', 'blue'] }, 'ns');

/**
 * Scenarios: one to three policies (p0..p2, each in a random namespace), plus an optional `app`
 * label per pod (in x/a, x/b, …, z/c order) and an optional `team` label per namespace.
 * `ipOf("ns/pod")` is that pod's address, for ipBlocks that name one pod exactly.
 */
export function policyScenario(ipOf: (key: string) => string) {
  /** CIDRs and the excepts that lie inside each (the pod CIDR is 10.1.0.0/16, a /24 per node). */
  const blocks: Record<string, string[]> = {
    '0.0.0.0/0': ['10.1.1.0/24', '10.1.2.10/31', ipOf('z/c') + '/32'],
    '10.1.0.0/16': ['10.1.2.0/24', '10.1.1.8/30', ipOf('x/b') + '/32'],
    '10.1.2.0/24': ['10.1.2.10/32', '10.1.2.12/31'],
    [`${ipOf('y/a')}/32`]: [],
  };
  const ipBlock = fc
    .constantFrom(...Object.keys(blocks))
    .chain((cidr) =>
      fc.subarray(blocks[cidr]!).map((except) => (except.length ? { cidr, except } : { cidr })),
    );

  const peer = fc.oneof(
    fc.record({ podSelector }),
    fc.record({ namespaceSelector }),
    fc.record({ podSelector, namespaceSelector }),
    fc.record({ ipBlock }),
  );

  const protocol = fc.constantFrom('TCP', 'UDP', undefined);
  const port = fc.oneof(
    fc.record({ protocol, port: fc.constantFrom(80, 81) }, { requiredKeys: ['port'] }),
    fc.record(
      { protocol, port: fc.constant(80), endPort: fc.constant(81) },
      { requiredKeys: ['port', 'endPort'] },
    ),
    fc.record(
      { protocol, port: fc.constantFrom(...SERVED.map((s) => portName(s.port, s.protocol))) },
      { requiredKeys: ['port'] },
    ),
    fc.record({ protocol: fc.constantFrom('TCP', 'UDP') }),
  );

  const rule = (peersKey: 'from' | 'to') =>
    fc.record(
      { ports: fc.array(port, { maxLength: 2 }), [peersKey]: fc.array(peer, { maxLength: 2 }) },
      { requiredKeys: [] },
    );

  const netpol = (name: string) =>
    fc.record({
      apiVersion: fc.constant('networking.k8s.io/v1'),
      kind: fc.constant('NetworkPolicy'),
      metadata: fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: fc.constant(name) }),
      spec: fc.record(
        {
          podSelector: fc.oneof(fc.constant({}), podSelector),
          policyTypes: fc.constantFrom(['Ingress'], ['Egress'], ['Ingress', 'Egress']),
          ingress: fc.array(rule('from'), { maxLength: 2 }),
          egress: fc.array(rule('to'), { maxLength: 2 }),
        },
        { requiredKeys: ['podSelector'] },
      ),
    });

  return fc.record({
    policies: fc
      .tuple(netpol('p0'), netpol('p1'), netpol('p2'))
      .chain((ps) => fc.subarray(ps, { minLength: 1 })),
    app: fc.array(fc.constantFrom('web', 'db', undefined), { minLength: 9, maxLength: 9 }),
    team: fc.array(fc.constantFrom('red', 'blue', undefined), { minLength: 3, maxLength: 3 }),
  });
}
export type Scenario = ReturnType<typeof policyScenario> extends fc.Arbitrary<infer T> ? T : never;

/** The labels of namespace `NAMESPACES[i]` in scenario `s`. */
export const nsLabels = (s: Scenario, i: number): Record<string, string> => ({
  ns: NAMESPACES[i]!,
  ...(s.team[i] ? { team: s.team[i] } : {}),
});

/** The labels of the i-th pod (x/a, x/b, …, z/c) in scenario `s`. */
export const podLabels = (s: Scenario, i: number): Record<string, string> => ({
  pod: POD_NAMES[i % 3]!,
  ...(s.app[i] ? { app: s.app[i] } : {}),
});
