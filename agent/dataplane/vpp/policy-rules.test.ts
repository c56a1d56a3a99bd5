// policy-rules.ts: golden ACL rule lists per direction (printed one rule a line), and packets
// traced through them with VPP's first-match semantics.
import { describe, expect, it } from 'vitest';
import { containsIp } from '../../../lib/cidr.ts';
import type { PodPolicy, PolicyPeer, PolicyPort, PolicyRule } from '../../items/values.ts';
import { ACL_DENY, ACL_PERMIT, type AclRule } from './calls/acl.ts';
import { compileDirection, compilePolicy, setsOf, type Direction, type PolicyEnv } from './policy-rules.ts';
import { allow, podPolicy, setPeer, tcp } from './testing/policies.ts';

const SETS: Record<string, string[]> = {
  web: ['10.1.1.20', '10.1.2.7', 'fd00::7'],
  db: ['10.1.3.9'],
  empty: [],
};
const env: PolicyEnv = { members: (id) => SETS[id] ?? [], nodeAddresses: ['10.1.1.1', '192.168.0.1'] };

const set = setPeer;
const cidr = (c: string, ...except: string[]): PolicyPeer => ({ type: 'cidr', cidr: c, except });
const udp = (port: number, endPort = port): PolicyPort => ({ protocol: 'UDP', port, endPort });
const rule = allow;
const policy = (ingress?: PolicyRule[], egress?: PolicyRule[]): PodPolicy =>
  podPolicy({ namespace: 'ns', pod: 'p', ip: '10.1.1.5' }, ingress, egress);

const ACTION = ['deny', 'permit', 'permit+reflect'];
const PROTO: Record<number, string> = { 0: 'any', 6: 'tcp', 17: 'udp', 132: 'sctp' };
/** One rule a line: `action src -> dst proto [ports]` (ports only when they narrow). */
const show = (rules: readonly AclRule[]): string[] =>
  rules.map((r) => {
    expect(r.srcPorts).toEqual([0, 65535]);
    const ports = r.dstPorts[0] === 0 && r.dstPorts[1] === 65535 ? '' : ` ${r.dstPorts[0]}-${r.dstPorts[1]}`;
    return `${ACTION[r.action]} ${r.src} -> ${r.dst} ${PROTO[r.proto]}${ports}`;
  });
const compile = (p: PodPolicy, d: Direction): string[] => show(compileDirection(p, d, env));

/** VPP's decision for one packet: the first matching rule's action (no match: deny). */
function decide(rules: readonly AclRule[], src: string, dst: string, proto: number, port: number): string {
  const hit = rules.find(
    (r) =>
      containsIp(r.src, src) &&
      containsIp(r.dst, dst) &&
      (r.proto === 0 || r.proto === proto) &&
      (r.proto === 0 || (port >= r.dstPorts[0] && port <= r.dstPorts[1])),
  );
  return hit === undefined || hit.action === ACL_DENY ? 'deny' : 'permit';
}

describe('compileDirection: isolation', () => {
  it('permits everything, without sessions, when neither direction is isolated', () => {
    for (const d of ['ingress', 'egress'] as const)
      expect(compile(policy(), d)).toEqual(['permit 0.0.0.0/0 -> 0.0.0.0/0 any', 'permit ::/0 -> ::/0 any']);
  });

  it('an isolated ingress without rules lets in only the node; egress stays open but reflects for the replies', () => {
    const p = policy([]);
    expect(compile(p, 'ingress')).toEqual([
      'permit 10.1.1.1/32 -> 0.0.0.0/0 any',
      'permit 192.168.0.1/32 -> 0.0.0.0/0 any',
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
    // Replies to the pod's own connections come back through the isolated output ACL.
    expect(compile(p, 'egress')).toEqual([
      'permit+reflect 0.0.0.0/0 -> 0.0.0.0/0 any',
      'permit+reflect ::/0 -> ::/0 any',
    ]);
  });

  it('an isolated egress has no node exception and puts peers on the destination', () => {
    const p = policy(undefined, [rule([set('db')], [tcp(5432)])]);
    expect(compile(p, 'egress')).toEqual([
      'permit 0.0.0.0/0 -> 10.1.3.9/32 tcp 5432-5432',
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
    expect(compile(p, 'ingress')).toEqual([
      'permit+reflect 0.0.0.0/0 -> 0.0.0.0/0 any',
      'permit+reflect ::/0 -> ::/0 any',
    ]);
  });

  it('both isolated: every permit reflects, node included', () => {
    const p = policy([rule([set('db')])], [rule([set('db')])]);
    expect(compile(p, 'ingress')).toEqual([
      'permit+reflect 10.1.1.1/32 -> 0.0.0.0/0 any',
      'permit+reflect 192.168.0.1/32 -> 0.0.0.0/0 any',
      'permit+reflect 10.1.3.9/32 -> 0.0.0.0/0 any',
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
    expect(compile(p, 'egress')).toEqual([
      'permit+reflect 0.0.0.0/0 -> 10.1.3.9/32 any',
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
  });
});

describe('compileDirection: peers and ports', () => {
  const noNode: PolicyEnv = { ...env, nodeAddresses: [] };
  const ingress = (...rules: PolicyRule[]): string[] =>
    show(compileDirection(policy(rules), 'ingress', noNode));

  it('expands a set into host prefixes of both families, crossed with every port match', () => {
    expect(ingress(rule([set('web')], [tcp(80), udp(53, 60)]))).toEqual([
      'permit 10.1.1.20/32 -> 0.0.0.0/0 tcp 80-80',
      'permit 10.1.1.20/32 -> 0.0.0.0/0 udp 53-60',
      'permit 10.1.2.7/32 -> 0.0.0.0/0 tcp 80-80',
      'permit 10.1.2.7/32 -> 0.0.0.0/0 udp 53-60',
      'permit fd00::7/128 -> ::/0 tcp 80-80',
      'permit fd00::7/128 -> ::/0 udp 53-60',
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
  });

  it('an empty set allows nothing; no peers means everyone, no ports every protocol', () => {
    expect(ingress(rule([set('empty')], [tcp(80)]))).toEqual([
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
    expect(ingress(rule([]))).toEqual([
      'permit 0.0.0.0/0 -> 0.0.0.0/0 any',
      'permit ::/0 -> ::/0 any',
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
    expect(ingress(rule([], [tcp(443)]))).toEqual([
      'permit 0.0.0.0/0 -> 0.0.0.0/0 tcp 443-443',
      'permit ::/0 -> ::/0 tcp 443-443',
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
  });

  it('port 0 is every port of its protocol; SCTP without a port is the whole protocol', () => {
    expect(ingress(rule([set('db')], [tcp(0, 0), { protocol: 'SCTP', port: 0, endPort: 0 }]))).toEqual([
      'permit 10.1.3.9/32 -> 0.0.0.0/0 tcp',
      'permit 10.1.3.9/32 -> 0.0.0.0/0 sctp',
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
  });

  it('subtracts ipBlock excepts from the CIDR; excepts of the other family are moot', () => {
    expect(ingress(rule([cidr('10.0.0.0/8', '10.1.0.0/16', 'fd00::/8')], [tcp(80)]))).toEqual([
      'permit 10.0.0.0/16 -> 0.0.0.0/0 tcp 80-80',
      'permit 10.2.0.0/15 -> 0.0.0.0/0 tcp 80-80',
      'permit 10.4.0.0/14 -> 0.0.0.0/0 tcp 80-80',
      'permit 10.8.0.0/13 -> 0.0.0.0/0 tcp 80-80',
      'permit 10.16.0.0/12 -> 0.0.0.0/0 tcp 80-80',
      'permit 10.32.0.0/11 -> 0.0.0.0/0 tcp 80-80',
      'permit 10.64.0.0/10 -> 0.0.0.0/0 tcp 80-80',
      'permit 10.128.0.0/9 -> 0.0.0.0/0 tcp 80-80',
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
    expect(ingress(rule([cidr('fd00::/16', 'fd00:8000::/17')]))).toEqual([
      'permit fd00::/17 -> ::/0 any',
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
  });

  it('writes a rule once when two rules produce it', () => {
    expect(ingress(rule([set('db')], [tcp(80)]), rule([set('db'), cidr('10.1.3.9/32')], [tcp(80)]))).toEqual([
      'permit 10.1.3.9/32 -> 0.0.0.0/0 tcp 80-80',
      'deny 0.0.0.0/0 -> 0.0.0.0/0 any',
      'deny ::/0 -> ::/0 any',
    ]);
  });

  it('fails closed on a viaService rule: an ACL cannot see the DNAT, so the rule allows nothing', () => {
    expect(ingress(rule([], [], true))).toEqual(['deny 0.0.0.0/0 -> 0.0.0.0/0 any', 'deny ::/0 -> ::/0 any']);
  });
});

describe('packets traced through the compiled ACLs (first match wins)', () => {
  const p = policy(
    [rule([cidr('10.0.0.0/8', '10.1.0.0/16')], [tcp(80)]), rule([set('web')], [tcp(80, 90)])],
    [rule([set('db')], [tcp(5432)]), rule([cidr('0.0.0.0/0', '10.0.0.0/8')])],
  );
  const { ingress, egress } = compilePolicy(p, env);

  it('an address another rule allows is not hidden by an except', () => {
    // 10.1.1.20 is excepted from the ipBlock, but the set rule allows it.
    expect(decide(ingress, '10.1.1.20', '10.1.1.5', 6, 85)).toBe('permit');
    expect(decide(ingress, '10.1.1.21', '10.1.1.5', 6, 80)).toBe('deny');
    expect(decide(ingress, '10.9.0.1', '10.1.1.5', 6, 80)).toBe('permit');
    expect(decide(ingress, '10.9.0.1', '10.1.1.5', 6, 81)).toBe('deny');
    expect(decide(ingress, '10.9.0.1', '10.1.1.5', 17, 80)).toBe('deny');
    expect(decide(ingress, '192.168.0.1', '10.1.1.5', 6, 10250)).toBe('permit');
    expect(decide(ingress, 'fd00::7', 'fd00::5', 6, 80)).toBe('permit');
    expect(decide(ingress, 'fd00::8', 'fd00::5', 6, 80)).toBe('deny');
  });

  it('egress: the cluster is excepted from the open internet, the database port allowed', () => {
    expect(decide(egress, '10.1.1.5', '10.1.3.9', 6, 5432)).toBe('permit');
    expect(decide(egress, '10.1.1.5', '10.1.3.9', 6, 22)).toBe('deny');
    expect(decide(egress, '10.1.1.5', '10.200.0.1', 17, 53)).toBe('deny');
    expect(decide(egress, '10.1.1.5', '8.8.8.8', 17, 53)).toBe('permit');
  });
});

describe('setsOf', () => {
  it('names the sets of isolated directions only (the only ones written into ACLs)', () => {
    const p = policy([rule([set('web'), cidr('10.0.0.0/8')])], undefined);
    p.egress.rules = [rule([set('db')])];
    expect([...setsOf(p)]).toEqual(['web']);
    expect([...setsOf({ ...p, egress: { ...p.egress, isolated: true } })].sort()).toEqual(['db', 'web']);
  });

  it('uses plain permit where nothing filters the way back', () => {
    expect(compileDirection(policy(), 'ingress', env).every((r) => r.action === ACL_PERMIT)).toBe(true);
  });
});
