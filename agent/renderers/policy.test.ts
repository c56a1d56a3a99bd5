import { describe, expect, it } from 'vitest';
import type { PeerSet, PodPolicy } from '../items/values.ts';
import { renderPolicies, type LocalInterface, type PolicyInputs } from './policy.ts';
import { testNodeContext } from './testing.ts';
import { inputsOf, ipOf, namespace, NAMESPACES, pod, POD_NAMES, type PolicySpec } from './policy/testing.ts';

const ctx = testNodeContext();

const local = (...keys: string[]): LocalInterface[] =>
  keys.map((k) => {
    const [namespace = '', pod = ''] = k.split('/');
    return { namespace, pod, ifname: 'eth0', ips: [`${ipOf(k)}/32`] };
  });
const xLocal = local('x/a', 'x/b', 'x/c');
const sel = (pod: string) => ({ matchLabels: { pod }, matchExpressions: [] });
const fromY = { namespaceSelector: { matchLabels: { ns: 'y' } } };

const policiesOf = (items: { key: string; value: unknown }[]) =>
  items.filter((i) => i.key.startsWith('policy/')).map((i) => i.value as PodPolicy);
const setsOf = (items: { key: string; value: unknown }[]) =>
  items.filter((i) => i.key.startsWith('peer-set/')).map((i) => i.value as PeerSet);

describe('renderPolicies', () => {
  it('no policy, no isolation: no items', () => {
    expect(renderPolicies(ctx, inputsOf(), xLocal)).toEqual([]);
  });

  it('a PodPolicy per selected local interface, a shared PeerSet per peer, keys sorted', () => {
    const policies: Record<string, PolicySpec> = {
      'x/a-from-y': { podSelector: sel('a'), ingress: [{ peers: [fromY] }] },
      // The same peer, labels written the other way round: one set.
      'x/b-from-y': {
        podSelector: sel('b'),
        ingress: [
          { peers: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: { number: 80 } }] },
        ],
      },
    };
    const items = renderPolicies(ctx, inputsOf({ policies }), xLocal);
    const sets = setsOf(items);
    expect(sets).toHaveLength(1);
    const id = sets[0]!.id;
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(items.map((i) => i.key)).toEqual([`peer-set/${id}`, 'policy/x/a/eth0', 'policy/x/b/eth0']);
    expect(sets[0]!.addresses).toEqual(['y/a', 'y/b', 'y/c'].map(ipOf));
    expect(items[1]!.value).toEqual({
      namespace: 'x',
      pod: 'a',
      interface: 'pod-interface/x/a/eth0',
      podIps: [ipOf('x/a')],
      ingress: {
        isolated: true,
        rules: [
          {
            origin: 'x/a-from-y:ingress[0]',
            peers: [{ type: 'set', set: id }],
            ports: [],
            viaService: false,
          },
        ],
      },
      egress: { isolated: false, rules: [] },
    } satisfies PodPolicy);
    expect(policiesOf(items)[1]!.ingress.rules[0]!.ports).toEqual([
      { protocol: 'TCP', port: 80, endPort: 80 },
    ]);
  });

  it('ipBlocks stay prefixes in the rule; every-port and every-peer rules are empty lists', () => {
    const p = {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          peers: [{ ipBlock: { cidr: '10.1.5.7/16', except: ['10.1.2.0/24'] } }],
          ports: [{ protocol: 'UDP' }],
        },
      ],
      egress: [{}],
    } as PolicySpec;
    const [pp] = policiesOf(renderPolicies(ctx, inputsOf({ policies: { 'x/p': p } }), local('x/a')));
    expect(pp!.ingress.rules).toEqual([
      {
        origin: 'x/p:ingress[0]',
        peers: [{ type: 'cidr', cidr: '10.1.0.0/16', except: ['10.1.2.0/24'] }],
        ports: [{ protocol: 'UDP', port: 0, endPort: 65_535 }],
        viaService: false,
      },
    ]);
    expect(pp!.egress).toEqual({
      isolated: true,
      rules: [{ origin: 'x/p:egress[0]', peers: [], ports: [], viaService: false }],
    });
  });

  it('ingress named ports resolve against the local pod; a pod without the name gets no rule', () => {
    const pods = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => pod(ns, p)));
    pods.find((p) => p.namespace === 'x' && p.name === 'b')!.containerPorts = [
      { name: 'serve-80-tcp', containerPort: 8080, protocol: 'TCP' },
    ];
    pods.find((p) => p.namespace === 'x' && p.name === 'c')!.containerPorts = [];
    const p = { podSelector: {}, ingress: [{ ports: [{ port: { name: 'serve-80-tcp' } }] }] } as PolicySpec;
    const pps = policiesOf(renderPolicies(ctx, inputsOf({ pods, policies: { 'x/n': p } }), xLocal));
    expect(pps.map((pp) => [pp.pod, pp.ingress.isolated, pp.ingress.rules.map((r) => r.ports)])).toEqual([
      ['a', true, [[{ protocol: 'TCP', port: 80, endPort: 80 }]]],
      ['b', true, [[{ protocol: 'TCP', port: 8080, endPort: 8080 }]]],
      ['c', true, []],
    ]);
  });

  it('egress named ports: one rule and one set per number the name takes among the peers', () => {
    const pods = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => pod(ns, p)));
    pods.find((p) => p.namespace === 'y' && p.name === 'b')!.containerPorts = [
      { name: 'serve-80-tcp', containerPort: 8080, protocol: 'TCP' },
    ];
    const p = {
      podSelector: sel('a'),
      policyTypes: ['Egress'],
      egress: [
        {
          peers: [fromY, { podSelector: sel('c') }],
          ports: [{ port: { name: 'serve-80-tcp' } }, { port: { number: 443 } }],
        },
      ],
    } as PolicySpec;
    const items = renderPolicies(ctx, inputsOf({ pods, policies: { 'x/out': p } }), local('x/a'));
    const sets = new Map(setsOf(items).map((s) => [s.id, s.addresses]));
    const rules = policiesOf(items)[0]!.egress.rules;
    expect(
      rules.map((r) => [r.origin, r.ports, r.peers.map((x) => (x.type === 'set' ? sets.get(x.set) : x))]),
    ).toEqual([
      [
        'x/out:egress[0]',
        [{ protocol: 'TCP', port: 443, endPort: 443 }],
        [['y/a', 'y/b', 'y/c'].map(ipOf), [ipOf('x/c')]],
      ],
      [
        'x/out:egress[0]',
        [{ protocol: 'TCP', port: 80, endPort: 80 }],
        [['y/a', 'y/c'].map(ipOf), [ipOf('x/c')]],
      ],
      ['x/out:egress[0]', [{ protocol: 'TCP', port: 8080, endPort: 8080 }], [[ipOf('y/b')]]],
    ]);
    const named = [...sets.keys()].filter((id) => id.includes('-'));
    expect(named.sort((a, b) => a.slice(17).localeCompare(b.slice(17)))).toEqual([
      expect.stringMatching(/^[0-9a-f]{16}-serve-80-tcp-80$/),
      expect.stringMatching(/^[0-9a-f]{16}-serve-80-tcp-80$/),
      expect.stringMatching(/^[0-9a-f]{16}-serve-80-tcp-8080$/),
    ]);
  });

  it("isolation's own-namespace set is the same set as a podSelector {} peer of that namespace", () => {
    const namespaces = [
      namespace('x', { 'opencontrail.org/isolation': 'true' }),
      namespace('y'),
      namespace('z'),
    ];
    const p = { podSelector: sel('a'), ingress: [{ peers: [{ podSelector: {} }] }] } as PolicySpec;
    const items = renderPolicies(ctx, inputsOf({ namespaces, policies: { 'x/same': p } }), xLocal);
    const [pa] = policiesOf(items);
    expect(setsOf(items)).toHaveLength(1);
    expect(pa!.ingress.rules.map((r) => r.origin)).toEqual(['isolation:x:namespace', 'x/same:ingress[0]']);
    expect(pa!.ingress.rules[0]!.peers).toEqual(pa!.ingress.rules[1]!.peers);
    expect(pa!.egress.rules.map((r) => [r.origin, r.viaService, r.peers.length])).toEqual([
      ['isolation:x:namespace', false, 1],
      ['isolation:x:service', true, 0],
    ]);
    expect(policiesOf(items).map((pp) => pp.pod)).toEqual(['a', 'b', 'c']);
  });

  it('no item for an unselected pod or a hostNetwork pod; a pod the view does not know yet is closed where a policy could select it', () => {
    const pods = [
      ...NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => pod(ns, p))),
      pod('x', 'h', { hostNetwork: true, podIps: ['192.168.0.1'] }),
    ];
    const p = { podSelector: {}, policyTypes: ['Ingress'] } as PolicySpec;
    const items = renderPolicies(ctx, inputsOf({ pods, policies: { 'x/deny': p } }), [
      ...local('x/a', 'y/a'),
      { namespace: 'x', pod: 'h', ifname: 'eth0', ips: ['192.168.0.1'] },
      { namespace: 'x', pod: 'ghost', ifname: 'eth0', ips: ['10.1.1.99'] },
      { namespace: 'y', pod: 'ghost', ifname: 'eth0', ips: ['10.1.1.98'] },
    ]);
    // x has a policy: its unknown pod is closed both ways until KSR reflects it; y has none.
    expect(items.map((i) => i.key)).toEqual(['policy/x/a/eth0', 'policy/x/ghost/eth0']);
    expect(items[1]!.value).toMatchObject({
      ingress: { isolated: true, rules: [] },
      egress: { isolated: true, rules: [] },
    });
  });

  it('sets hold IPv4 then IPv6 addresses, sorted and unique; hostNetwork pods add their node address', () => {
    const pods = [
      pod('y', 'a', { podIps: ['10.1.2.10', 'fd00::2:a'] }),
      pod('y', 'b', { podIps: ['10.1.2.9', 'fd00::2:9'] }),
      pod('y', 'h', { hostNetwork: true, podIps: ['192.168.0.2'] }),
      pod('y', 'h2', { hostNetwork: true, podIps: ['192.168.0.2'] }),
      pod('y', 'done', { phase: 'Succeeded', podIps: ['10.1.2.50'] }),
      pod('x', 'a'),
    ];
    const p = { podSelector: {}, ingress: [{ peers: [fromY] }] } as PolicySpec;
    const items = renderPolicies(ctx, inputsOf({ pods, policies: { 'x/p': p } }), local('x/a'));
    expect(setsOf(items)[0]!.addresses).toEqual([
      '10.1.2.9',
      '10.1.2.10',
      '192.168.0.2',
      'fd00::2:9',
      'fd00::2:a',
    ]);
  });

  it('deterministic: the same items whatever order the maps were filled in', () => {
    const policies: Record<string, PolicySpec> = {
      'x/one': { podSelector: {}, ingress: [{ peers: [fromY, { podSelector: sel('b') }] }] },
      'x/two': {
        podSelector: sel('a'),
        policyTypes: ['Egress'],
        egress: [{ ports: [{ port: { name: 'serve-81-udp' }, protocol: 'UDP' }] }],
      },
    };
    const a = inputsOf({ policies });
    const reversed = <K, V>(m: ReadonlyMap<K, V>) => new Map([...m.entries()].reverse());
    const b: PolicyInputs = {
      namespaces: reversed(a.namespaces),
      pods: reversed(a.pods),
      policies: reversed(a.policies),
    };
    const one = renderPolicies(ctx, a, xLocal);
    expect(one.length).toBeGreaterThan(3);
    expect(renderPolicies(ctx, b, [...xLocal].reverse())).toEqual(one);
  });
});
