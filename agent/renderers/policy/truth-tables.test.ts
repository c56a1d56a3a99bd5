// The upstream NetworkPolicy e2e cases (test/e2e/network/netpol) as truth tables over the x/y/z ×
// a/b/c model, computed from explain. Rows are sources, columns destinations, in the order
// x/a x/b x/c  y/a y/b y/c  z/a z/b z/c; '.' allowed, 'X' denied.
import { describe, expect, it } from 'vitest';
import { ALL, OPEN, cells, inputsOf, ipOf, pod, POD_NAMES, table, type PolicySpec } from './testing.ts';

const t = (
  policies: Record<string, PolicySpec>,
  protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP',
  port = 80,
): string[] => table(inputsOf({ policies }), protocol, port);

const podSel = (pod: string): PolicySpec['podSelector'] => ({ matchLabels: { pod }, matchExpressions: [] });
const toXa = (from: string[]): string[] => cells(cells(OPEN, ALL, ['x/a'], 'X'), from, ['x/a'], '.');

describe('NetworkPolicy truth tables (upstream e2e cases)', () => {
  it('no policy: everything allowed', () => {
    expect(t({})).toEqual(OPEN);
  });

  it('default deny ingress in x', () => {
    expect(t({ 'x/deny': { podSelector: {}, policyTypes: ['Ingress'] } })).toEqual([
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
    ]);
  });

  it('default deny egress in x', () => {
    expect(t({ 'x/deny': { podSelector: {}, policyTypes: ['Egress'] } })).toEqual([
      'XXX XXX XXX',
      'XXX XXX XXX',
      'XXX XXX XXX',
      '... ... ...',
      '... ... ...',
      '... ... ...',
      '... ... ...',
      '... ... ...',
      '... ... ...',
    ]);
  });

  it('default deny both directions, then an allow-all ingress policy opens only ingress (union)', () => {
    const deny = { podSelector: {} as never, policyTypes: ['Ingress', 'Egress'] };
    expect(t({ 'x/deny': deny })).toEqual(cells(cells(OPEN, ALL, ['x/'], 'X'), ['x/'], ALL, 'X'));
    expect(t({ 'x/deny': deny, 'x/allow': { podSelector: {}, ingress: [{}] } })).toEqual(
      cells(OPEN, ['x/'], ALL, 'X'),
    );
  });

  it('allow ingress from the same namespace (podSelector {})', () => {
    const p = { podSelector: {}, ingress: [{ peers: [{ podSelector: {} }] }] } as PolicySpec;
    expect(t({ 'x/same': p })).toEqual([
      '... ... ...',
      '... ... ...',
      '... ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
    ]);
  });

  it('allow x/a only from pod=b of its namespace', () => {
    const p = {
      podSelector: podSel('a'),
      ingress: [{ peers: [{ podSelector: podSel('b') }] }],
    } as PolicySpec;
    expect(t({ 'x/allow-b': p })).toEqual([
      'X.. ... ...',
      '... ... ...',
      'X.. ... ...',
      'X.. ... ...',
      'X.. ... ...',
      'X.. ... ...',
      'X.. ... ...',
      'X.. ... ...',
      'X.. ... ...',
    ]);
  });

  it('allow x/a from namespace y (namespaceSelector)', () => {
    const p = {
      podSelector: podSel('a'),
      ingress: [{ peers: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
    };
    expect(t({ 'x/from-y': p })).toEqual(toXa(['y/']));
  });

  it('namespaceSelector and podSelector in one peer: pod=b in namespaces y and z', () => {
    const peer = {
      namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y', 'z'] }] },
      podSelector: podSel('b'),
    };
    const p = { podSelector: podSel('a'), ingress: [{ peers: [peer] }] };
    expect(t({ 'x/both': p })).toEqual(toXa(['y/b', 'z/b']));
  });

  it('empty namespaceSelector with a podSelector: pod=b in every namespace', () => {
    const p = {
      podSelector: podSel('a'),
      ingress: [{ peers: [{ namespaceSelector: {}, podSelector: podSel('b') }] }],
    };
    expect(t({ 'x/any-b': p })).toEqual(toXa(['x/b', 'y/b', 'z/b']));
  });

  it('two peers in one rule are alternatives', () => {
    const p = {
      podSelector: podSel('a'),
      ingress: [
        { peers: [{ podSelector: podSel('b') }, { namespaceSelector: { matchLabels: { ns: 'y' } } }] },
      ],
    };
    expect(t({ 'x/or': p })).toEqual(toXa(['x/b', 'y/']));
  });

  it('NotIn, DoesNotExist and Exists expressions, and a policy podSelector with In', () => {
    const p = {
      podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a', 'c'] }] },
      ingress: [
        {
          peers: [
            {
              namespaceSelector: {
                matchExpressions: [
                  { key: 'ns', operator: 'NotIn', values: ['x', 'y'] },
                  { key: 'team', operator: 'DoesNotExist' },
                ],
              },
              podSelector: { matchExpressions: [{ key: 'pod', operator: 'Exists' }] },
            },
          ],
        },
      ],
    };
    expect(t({ 'x/expr': p })).toEqual(
      cells(cells(OPEN, ALL, ['x/a', 'x/c'], 'X'), ['z/'], ['x/a', 'x/c'], '.'),
    );
  });

  it('ipBlock with except, ingress', () => {
    const p = {
      podSelector: podSel('a'),
      ingress: [{ peers: [{ ipBlock: { cidr: '10.1.0.0/16', except: ['10.1.2.0/24'] } }] }],
    };
    expect(t({ 'x/block': p })).toEqual(toXa(['x/', 'z/']));
  });

  it('ipBlock egress to one pod address (/32)', () => {
    const p = {
      podSelector: podSel('a'),
      policyTypes: ['Egress'],
      egress: [{ peers: [{ ipBlock: { cidr: `${ipOf('z/c')}/32` } }] }],
    };
    expect(t({ 'x/egress-block': p })).toEqual(cells(OPEN, ['x/a'], ['x/', 'y/', 'z/a', 'z/b'], 'X'));
  });

  it('a numeric port opens only that port and protocol', () => {
    const p = { podSelector: podSel('a'), ingress: [{ ports: [{ port: { number: 81 } }] }] };
    const pol = { 'x/81': p as PolicySpec };
    const closed = cells(OPEN, ALL, ['x/a'], 'X');
    expect(t(pol, 'TCP', 80)).toEqual(closed);
    expect(t(pol, 'TCP', 81)).toEqual(OPEN);
    expect(t(pol, 'UDP', 81)).toEqual(closed);
  });

  it('named ingress port: the selected pod resolves it, protocol and all', () => {
    const udp = {
      podSelector: podSel('a'),
      ingress: [{ ports: [{ protocol: 'UDP', port: { name: 'serve-81-udp' } }] }],
    };
    const closed = cells(OPEN, ALL, ['x/a'], 'X');
    expect(t({ 'x/n': udp }, 'UDP', 81)).toEqual(OPEN);
    expect(t({ 'x/n': udp }, 'TCP', 81)).toEqual(closed);
    expect(t({ 'x/n': udp }, 'UDP', 80)).toEqual(closed);
    // serve-80-udp is a UDP port; the policy port (TCP by default) names nothing on the pod.
    const wrong = { podSelector: podSel('a'), ingress: [{ ports: [{ port: { name: 'serve-80-udp' } }] }] };
    for (const [proto, port] of [
      ['TCP', 80],
      ['UDP', 80],
      ['TCP', 81],
    ] as const)
      expect(t({ 'x/w': wrong }, proto, port)).toEqual(closed);
  });

  it('named ingress port resolved per selected pod: x/b serves serve-80-tcp on 8080', () => {
    const pods = ['x', 'y', 'z'].flatMap((ns) => POD_NAMES.map((p) => pod(ns, p)));
    const xb = pods.find((p) => p.namespace === 'x' && p.name === 'b')!;
    xb.containerPorts = [{ name: 'serve-80-tcp', containerPort: 8080, protocol: 'TCP' }];
    const p = { podSelector: {}, ingress: [{ ports: [{ port: { name: 'serve-80-tcp' } }] }] } as PolicySpec;
    const inputs = inputsOf({ pods, policies: { 'x/named': p } });
    expect(table(inputs, 'TCP', 80)).toEqual(cells(OPEN, ALL, ['x/b'], 'X'));
    expect(table(inputs, 'TCP', 8080)).toEqual(cells(OPEN, ALL, ['x/a', 'x/c'], 'X'));
  });

  it('named egress port: the destination resolves it (y/b serves serve-80-tcp on 8080)', () => {
    const pods = ['x', 'y', 'z'].flatMap((ns) => POD_NAMES.map((p) => pod(ns, p)));
    pods.find((p) => p.namespace === 'y' && p.name === 'b')!.containerPorts = [
      { name: 'serve-80-tcp', containerPort: 8080, protocol: 'TCP' },
    ];
    const p = {
      podSelector: podSel('a'),
      policyTypes: ['Egress'],
      egress: [{ peers: [{ namespaceSelector: {} }], ports: [{ port: { name: 'serve-80-tcp' } }] }],
    } as PolicySpec;
    const inputs = inputsOf({ pods, policies: { 'x/egress-named': p } });
    expect(table(inputs, 'TCP', 80)).toEqual(cells(OPEN, ['x/a'], ['y/b'], 'X'));
    expect(table(inputs, 'TCP', 8080)).toEqual(cells(cells(OPEN, ['x/a'], ALL, 'X'), ['x/a'], ['y/b'], '.'));
    expect(table(inputs, 'TCP', 81)).toEqual(cells(OPEN, ['x/a'], ALL, 'X'));
  });

  it('endPort ranges', () => {
    const range = (port: number, endPort: number): Record<string, PolicySpec> => ({
      'x/range': {
        podSelector: podSel('a'),
        ingress: [{ ports: [{ protocol: 'TCP', port: { number: port }, endPort }] }],
      },
    });
    const closed = cells(OPEN, ALL, ['x/a'], 'X');
    expect(t(range(80, 81), 'TCP', 80)).toEqual(OPEN);
    expect(t(range(80, 81), 'TCP', 81)).toEqual(OPEN);
    expect(t(range(80, 81), 'UDP', 80)).toEqual(closed);
    expect(t(range(81, 90), 'TCP', 80)).toEqual(closed);
    expect(t(range(81, 90), 'TCP', 81)).toEqual(OPEN);
  });

  it('SCTP is its own protocol', () => {
    const p = {
      podSelector: podSel('a'),
      ingress: [{ ports: [{ protocol: 'SCTP', port: { number: 80 } }] }],
    };
    expect(t({ 'x/sctp': p }, 'SCTP', 80)).toEqual(OPEN);
    expect(t({ 'x/sctp': p }, 'TCP', 80)).toEqual(cells(OPEN, ALL, ['x/a'], 'X'));
  });

  it('a port without number is every port of its protocol', () => {
    const p = { podSelector: podSel('a'), ingress: [{ ports: [{ protocol: 'UDP' }] }] };
    expect(t({ 'x/udp': p }, 'UDP', 81)).toEqual(OPEN);
    expect(t({ 'x/udp': p }, 'TCP', 80)).toEqual(cells(OPEN, ALL, ['x/a'], 'X'));
  });

  it('multiple policies selecting one pod: the union of their rules', () => {
    const from = (pod: string, port: number): PolicySpec => ({
      podSelector: podSel('a'),
      ingress: [
        {
          peers: [{ namespaceSelector: {}, podSelector: podSel(pod) }],
          ports: [{ port: { number: port } }],
        },
      ],
    });
    const pol = { 'x/b80': from('b', 80), 'x/c81': from('c', 81) };
    expect(t(pol, 'TCP', 80)).toEqual(toXa(['x/b', 'y/b', 'z/b']));
    expect(t(pol, 'TCP', 81)).toEqual(toXa(['x/c', 'y/c', 'z/c']));
  });

  it('policyTypes default: egress rules make an Egress policy, and Ingress is always implied', () => {
    const p = { podSelector: {}, egress: [{ peers: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] };
    expect(t({ 'x/egress-y': p })).toEqual([
      'XXX ... XXX',
      'XXX ... XXX',
      'XXX ... XXX',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
    ]);
  });

  it('policyTypes given: rules of a direction it does not name are ignored', () => {
    const ingressOnly = {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{}],
      egress: [{ peers: [{ podSelector: podSel('zz') }] }],
    };
    expect(t({ 'x/i': ingressOnly })).toEqual(OPEN);
    const egressOnly = {
      podSelector: {},
      policyTypes: ['Egress'],
      ingress: [{ peers: [{ podSelector: podSel('zz') }] }],
      egress: [{}],
    };
    expect(t({ 'x/e': egressOnly })).toEqual(OPEN);
  });

  it('a rule with ports and no peers allows those ports from anyone', () => {
    const p = { podSelector: podSel('a'), ingress: [{ ports: [{ port: { number: 80 } }] }] };
    expect(t({ 'x/p': p }, 'TCP', 80)).toEqual(OPEN);
    expect(t({ 'x/p': p }, 'TCP', 81)).toEqual(cells(OPEN, ALL, ['x/a'], 'X'));
  });

  it('an empty ingress list in an Ingress+Egress policy isolates both with nothing allowed', () => {
    const p = {
      podSelector: podSel('a'),
      policyTypes: ['Ingress', 'Egress'],
      egress: [{ ports: [{ protocol: 'UDP', port: { number: 80 } }] }],
    };
    expect(t({ 'x/p': p }, 'TCP', 80)).toEqual(cells(cells(OPEN, ALL, ['x/a'], 'X'), ['x/a'], ALL, 'X'));
    expect(t({ 'x/p': p }, 'UDP', 80)).toEqual(cells(OPEN, ALL, ['x/a'], 'X'));
  });
});
