// Contrail namespace isolation (opencontrail.org/isolation, isolation.service) as truth tables,
// alone and composed with NetworkPolicy.
import { describe, expect, it } from 'vitest';
import { explain } from '../policy.ts';
import { ALL, OPEN, cells, inputsOf, namespace, table, type PolicySpec } from './testing.ts';

const ISOLATED = { 'opencontrail.org/isolation': 'true' };
const SERVICES_OPEN = { ...ISOLATED, 'opencontrail.org/isolation.service': 'false' };

const nss = (x: Record<string, string>, z: Record<string, string> = {}) => [
  namespace('x', x),
  namespace('y'),
  namespace('z', z),
];

describe('Contrail namespace isolation', () => {
  it('isolated x: its pods reach only each other, and only x reaches them', () => {
    const inputs = inputsOf({ namespaces: nss(ISOLATED) });
    expect(table(inputs, 'TCP', 80)).toEqual([
      '... XXX XXX',
      '... XXX XXX',
      '... XXX XXX',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
      'XXX ... ...',
    ]);
  });

  it("isolated x reaches other namespaces' Services; its own Services stay closed to them", () => {
    const inputs = inputsOf({ namespaces: nss(ISOLATED) });
    expect(table(inputs, 'TCP', 80, true)).toEqual(cells(OPEN, ['y/', 'z/'], ['x/'], 'X'));
  });

  it('isolation.service "false": Services of x open to everyone, pods of x still closed', () => {
    const inputs = inputsOf({ namespaces: nss(SERVICES_OPEN) });
    expect(table(inputs, 'TCP', 80, true)).toEqual(OPEN);
    expect(table(inputs, 'TCP', 80)).toEqual(table(inputsOf({ namespaces: nss(ISOLATED) }), 'TCP', 80));
  });

  it("two isolated namespaces: x reaches z's Services only when z opened them", () => {
    const closed = table(inputsOf({ namespaces: nss(ISOLATED, ISOLATED) }), 'TCP', 80, true);
    expect(closed).toEqual(cells(cells(OPEN, ['y/', 'z/'], ['x/'], 'X'), ['x/', 'y/'], ['z/'], 'X'));
    const open = table(inputsOf({ namespaces: nss(ISOLATED, SERVICES_OPEN) }), 'TCP', 80, true);
    expect(open).toEqual(cells(OPEN, ['y/', 'z/'], ['x/'], 'X'));
  });

  it('NetworkPolicy adds to isolation: y/b let into x/a, and x/a let out anywhere', () => {
    const policies: Record<string, PolicySpec> = {
      'x/from-y-b': {
        podSelector: { matchLabels: { pod: 'a' }, matchExpressions: [] },
        ingress: [
          {
            ports: [],
            peers: [
              { namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } },
            ],
          },
        ],
      },
      'x/out': {
        podSelector: { matchLabels: { pod: 'a' }, matchExpressions: [] },
        policyTypes: ['Egress'],
        egress: [{ peers: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }],
      },
    };
    const inputs = inputsOf({ namespaces: nss(ISOLATED), policies });
    const isolated = table(inputsOf({ namespaces: nss(ISOLATED) }), 'TCP', 80);
    expect(table(inputs, 'TCP', 80)).toEqual(
      cells(cells(isolated, ['y/b'], ['x/a'], '.'), ['x/a'], ALL, '.'),
    );
  });

  it('egress outside the cluster: denied directly, allowed through a Service (decision: DESIGN "reach only each other")', () => {
    const inputs = inputsOf({ namespaces: nss(ISOLATED) });
    const direct = explain(inputs, {
      from: { pod: 'x/a' },
      to: { ip: '8.8.8.8' },
      protocol: 'TCP',
      port: 443,
    });
    expect(direct.allowed).toBe(false);
    expect(direct.egress.selectedBy).toEqual(['isolation:x']);
    expect(direct.egress.reason).toMatch(
      /isolated by isolation:x, and no rule allows TCP\/443 with 8\.8\.8\.8/,
    );
    const viaService = explain(inputs, {
      from: { pod: 'x/a' },
      to: { ip: '192.0.2.10' },
      protocol: 'TCP',
      port: 6443,
      viaService: true,
    });
    expect(viaService.allowed).toBe(true);
    expect(viaService.egress.allowedBy).toEqual({
      policy: 'isolation:x',
      rule: 'service',
      origin: 'isolation:x:service',
    });
  });

  it('only "true" isolates (case-insensitive); other values leave the namespace open', () => {
    expect(table(inputsOf({ namespaces: nss({ 'opencontrail.org/isolation': 'True' }) }), 'TCP', 80)[3]).toBe(
      'XXX ... ...',
    );
    expect(table(inputsOf({ namespaces: nss({ 'opencontrail.org/isolation': 'yes' }) }), 'TCP', 80)).toEqual(
      OPEN,
    );
    expect(
      table(
        inputsOf({ namespaces: nss({ 'opencontrail.org/isolation.service': 'false' }) }),
        'TCP',
        80,
        true,
      ),
    ).toEqual(OPEN);
  });
});
