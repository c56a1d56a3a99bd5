import { describe, expect, it } from 'vitest';
import type { K8sNode } from '../../view/decode.ts';
import { explain } from '../policy.ts';
import { inputsOf, ipOf, NAMESPACES, pod, POD_NAMES, type PolicySpec } from './testing.ts';

const allPods = () => NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => pod(ns, p)));
const sel = (pod: string) => ({ matchLabels: { pod }, matchExpressions: [] });
const tcp80 = (from: object, to: object, viaService = false) =>
  ({ from, to, protocol: 'TCP', port: 80, viaService }) as Parameters<typeof explain>[1];

describe('explain', () => {
  const policies: Record<string, PolicySpec> = {
    'x/deny': { podSelector: {}, policyTypes: ['Ingress'] },
    'x/allow-b': {
      podSelector: sel('a'),
      ingress: [{ ports: [{ port: { number: 80 } }] }, { peers: [{ podSelector: sel('b') }] }],
    },
  };
  const inputs = inputsOf({ policies });

  it('an allowed pair names the policy and the rule that allowed it', () => {
    const e = explain(inputs, { from: { pod: 'x/b' }, to: { pod: 'x/a' }, protocol: 'TCP', port: 81 });
    expect(e.allowed).toBe(true);
    expect(e.ingress).toMatchObject({
      pod: 'x/a',
      isolated: true,
      allowed: true,
      selectedBy: ['x/allow-b', 'x/deny'],
      allowedBy: { policy: 'x/allow-b', rule: 'ingress[1]', origin: 'x/allow-b:ingress[1]' },
    });
    expect(e.ingress.reason).toBe(
      `x/allow-b:ingress[1] allows TCP/81 with x/b (${ipOf('x/b')}): it is pods {pod=b} in namespace x`,
    );
    expect(e.egress).toMatchObject({ isolated: false, allowed: true });
    expect(e.egress.reason).toMatch(/not isolated for egress/);
  });

  it('the first rule that matches is named', () => {
    const e = explain(inputs, tcp80({ pod: 'y/c' }, { pod: 'x/a' }));
    expect(e.ingress.allowedBy?.origin).toBe('x/allow-b:ingress[0]');
    expect(e.ingress.reason).toMatch(/it is any peer/);
  });

  it('a denied pair names the policies that isolate and says no rule allowed it', () => {
    const e = explain(inputs, { from: { pod: 'y/c' }, to: { pod: 'x/c' }, protocol: 'UDP', port: 53 });
    expect(e.allowed).toBe(false);
    expect(e.ingress).toMatchObject({ pod: 'x/c', isolated: true, allowed: false, selectedBy: ['x/deny'] });
    expect(e.ingress.allowedBy).toBeUndefined();
    expect(e.ingress.reason).toBe(`isolated by x/deny, and no rule allows UDP/53 with y/c (${ipOf('y/c')})`);
    expect(e.reason).toBe(`denied: ingress: ${e.ingress.reason}`);
  });

  it('ends given by address are the pods that hold them; other addresses are not pods', () => {
    expect(explain(inputs, tcp80({ ip: ipOf('x/b') }, { ip: ipOf('x/c') })).allowed).toBe(false);
    const outside = explain(inputs, tcp80({ ip: '192.0.2.1' }, { pod: 'x/a' }));
    expect(outside.egress.reason).toBe('192.0.2.1 is not a pod: no egress policy applies');
    expect(outside.ingress.allowedBy?.origin).toBe('x/allow-b:ingress[0]');
    expect(explain(inputs, tcp80({ pod: 'x/zz' }, { pod: 'x/a' })).egress.reason).toBe('pod x/zz is unknown');
  });

  it('IPv6: an ipBlock of either family, judged on the address family of the flow', () => {
    const pods = allPods().map((p) => ({
      ...p,
      podIps: [...p.podIps, `fd00::${ipOf(`${p.namespace}/${p.name}`).split('.').slice(2).join(':')}`],
    }));
    const v6 = {
      podSelector: sel('a'),
      ingress: [{ peers: [{ ipBlock: { cidr: 'fd00::2:0/112', except: ['fd00::2:11/128'] } }] }],
    };
    const i = inputsOf({ pods, policies: { 'x/v6': v6 } });
    expect(explain(i, tcp80({ ip: 'fd00::2:10' }, { ip: 'fd00::1:10' })).ingress.allowedBy?.origin).toBe(
      'x/v6:ingress[0]',
    );
    expect(explain(i, tcp80({ ip: 'fd00::2:11' }, { ip: 'fd00::1:10' })).allowed).toBe(false);
    // By pod, the destination's first (IPv4) address decides the family: the IPv6 block does not apply.
    expect(explain(i, tcp80({ pod: 'y/a' }, { pod: 'x/a' })).allowed).toBe(false);
  });

  describe('hostNetwork pods and nodes', () => {
    // n1 runs x's pods; x/h is a hostNetwork pod on n1 (192.168.0.1), y/h one on n2.
    const pods = [
      ...allPods(),
      pod('x', 'h', { hostNetwork: true, podIps: ['192.168.0.1'], nodeName: 'n1' }),
      pod('y', 'h', { hostNetwork: true, podIps: ['192.168.0.2'], nodeName: 'n2' }),
    ];
    const denyAll = { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } as PolicySpec;
    const hn = inputsOf({ pods, policies: { 'x/deny': denyAll } });

    it('are not subject to policy, even when a policy selects them', () => {
      const e = explain(hn, tcp80({ pod: 'z/a' }, { pod: 'x/h' }));
      expect(e.allowed).toBe(true);
      expect(e.ingress.reason).toMatch(/hostNetwork pod: no policy applies/);
    });

    it("the pod's own node always reaches it (its address from a hostNetwork pod)", () => {
      const e = explain(hn, tcp80({ pod: 'x/h' }, { pod: 'x/a' }));
      expect(e.allowed).toBe(true);
      expect(e.ingress.reason).toBe(
        "x/h (192.168.0.1) is x/a (10.1.1.10)'s own node, which always reaches its pods",
      );
      expect(explain(hn, tcp80({ ip: '192.168.0.1' }, { pod: 'x/b' })).allowed).toBe(true);
      expect(explain(hn, tcp80({ pod: 'y/h' }, { pod: 'x/a' })).allowed).toBe(false);
      // The other way is egress, which the node does not get for free.
      expect(explain(hn, tcp80({ pod: 'x/a' }, { pod: 'x/h' })).allowed).toBe(false);
    });

    it("a node's addresses also come from its Node object", () => {
      const node = { name: 'n1', addresses: [{ type: 'InternalIP', address: '192.168.0.9' }] } as K8sNode;
      const withNode = { ...hn, nodes: new Map([['n1', node]]) };
      expect(explain(withNode, tcp80({ ip: '192.168.0.9' }, { pod: 'x/a' })).ingress.reason).toMatch(
        /own node/,
      );
      expect(explain(hn, tcp80({ ip: '192.168.0.9' }, { pod: 'x/a' })).allowed).toBe(false);
    });

    it("as a peer, a hostNetwork pod is its node's address", () => {
      const fromX = {
        podSelector: sel('a'),
        ingress: [{ peers: [{ namespaceSelector: { matchLabels: { ns: 'x' } } }] }],
      } as PolicySpec;
      const i = inputsOf({ pods, policies: { 'z/from-x': fromX } });
      const e = explain(i, tcp80({ pod: 'x/h' }, { pod: 'z/a' }));
      expect(e.ingress.reason).toMatch(/z\/from-x:ingress\[0\] allows TCP\/80 with x\/h \(192\.168\.0\.1\)/);
      // Anything else on n1 has that address too.
      expect(explain(i, tcp80({ ip: '192.168.0.1' }, { pod: 'z/a' })).allowed).toBe(true);
      expect(explain(i, tcp80({ pod: 'y/h' }, { pod: 'z/a' })).allowed).toBe(false);
    });
  });

  describe('malformed policies: skipped, never more allowed, and said so', () => {
    it('a policy podSelector with an unknown operator selects nothing', () => {
      const bad = {
        podSelector: { matchExpressions: [{ key: 'pod', operator: 'Equals', values: ['a'] }] },
        policyTypes: ['Ingress'],
      };
      const e = explain(inputsOf({ policies: { 'x/bad': bad } }), tcp80({ pod: 'y/a' }, { pod: 'x/a' }));
      expect(e.allowed).toBe(true);
      expect(e.ingress.isolated).toBe(false);
      expect(e.ingress.notes).toEqual([
        'x/bad podSelector matchExpressions[0] has unknown operator "Equals": the policy selects no pod',
      ]);
    });

    it('a rule whose only peer is malformed allows nothing (not everyone)', () => {
      const bad = {
        podSelector: sel('a'),
        ingress: [{ peers: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'Near' }] } }] }],
      };
      const e = explain(inputsOf({ policies: { 'x/bad': bad } }), tcp80({ pod: 'x/b' }, { pod: 'x/a' }));
      expect(e.allowed).toBe(false);
      expect(e.ingress.notes).toEqual([
        'x/bad:ingress[0] peer 0: podSelector matchExpressions[0] has unknown operator "Near": selects nothing',
        'x/bad:ingress[0]: every peer was skipped, so the rule allows nothing',
      ]);
    });

    it('a rule whose only port is malformed allows nothing (not every port)', () => {
      for (const port of [
        { protocol: 'ICMP' },
        { port: { number: 70000 } },
        { port: { number: 90 }, endPort: 80 },
        { port: { name: 'http' }, endPort: 90 },
        { endPort: 90 },
      ]) {
        const bad = { podSelector: sel('a'), ingress: [{ ports: [port] }] };
        const e = explain(inputsOf({ policies: { 'x/bad': bad } }), tcp80({ pod: 'x/b' }, { pod: 'x/a' }));
        expect(e.allowed, JSON.stringify(port)).toBe(false);
        expect(e.ingress.notes.at(-1)).toBe(
          'x/bad:ingress[0]: every port was skipped, so the rule allows nothing',
        );
      }
    });

    it('ipBlock: a bad cidr or an except outside it drops the peer; a selector beside it too', () => {
      for (const peer of [
        { ipBlock: { cidr: '10.1.0.0/33' } },
        { ipBlock: { cidr: '10.1.0.0/16', except: ['10.2.0.0/24'] } },
        { ipBlock: { cidr: '10.1.0.0/16', except: ['fd00::/64'] } },
        { ipBlock: { cidr: '10.1.0.0/16' }, podSelector: {} },
        {},
        null,
      ]) {
        const bad = { podSelector: sel('a'), ingress: [{ peers: [peer] }] };
        const e = explain(
          inputsOf({ policies: { 'x/bad': bad as PolicySpec } }),
          tcp80({ pod: 'x/b' }, { pod: 'x/a' }),
        );
        expect(e.allowed, JSON.stringify(peer)).toBe(false);
      }
    });

    it('nonsense in every field never throws', () => {
      const junk = [
        {
          podSelector: 'all',
          ingress: 'x',
          egress: [null, 1, { peers: 'y', ports: [null] }],
          policyTypes: [7],
        },
        {
          podSelector: { matchLabels: null, matchExpressions: [null] },
          ingress: [{ peers: [{ namespaceSelector: [] }] }],
        },
        { policyTypes: ['Egress'], egress: [{ ports: [{ port: { number: 'http' } }] }] },
      ];
      const policies = Object.fromEntries(junk.map((j, i) => [`x/junk${i}`, j as unknown as PolicySpec]));
      const pods = [...allPods(), { namespace: 'x', name: 'weird', podIps: null, labels: null } as never];
      expect(() =>
        explain(inputsOf({ pods, policies }), tcp80({ pod: 'x/a' }, { pod: 'x/weird' })),
      ).not.toThrow();
    });
  });
});
