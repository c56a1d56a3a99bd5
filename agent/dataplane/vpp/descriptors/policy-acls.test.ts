// PolicyAcls (what writes policy ACLs, and re-writes them when a peer set changes) and the
// policy descriptor's validation, against a recording fake of the two ACL calls.
import { describe, expect, it } from 'vitest';
import type { PodPolicy, PolicyRule } from '../../../items/values.ts';
import { VppApiError } from '../api/errors.ts';
import type { AclRule } from '../calls/acl.ts';
import { policyProblems } from './policy.ts';
import { PolicyAcls, type MembersOf } from './policy-acls.ts';
import { allow, podPolicy, setPeer } from '../testing/policies.ts';

class FakeAcl {
  readonly acls = new Map<number, { tag: string; rules: readonly AclRule[] }>();
  readonly calls: string[] = [];
  failOn: ((tag: string) => boolean) | undefined;
  private next = 0;

  addReplace(index: number | undefined, tag: string, rules: readonly AclRule[]): Promise<number> {
    this.calls.push(`addReplace ${index ?? 'new'} ${tag}`);
    if (this.failOn?.(tag) === true) return Promise.reject(new VppApiError('acl_add_replace', -1));
    const i = index ?? this.next++;
    this.acls.set(i, { tag, rules });
    return Promise.resolve(i);
  }

  delete(index: number): Promise<void> {
    this.calls.push(`delete ${index}`);
    this.acls.delete(index);
    return Promise.resolve();
  }
}

const rule = (set: string): PolicyRule => allow([setPeer(set)]);
const policy = (ingress: PolicyRule[] | undefined, egress?: PolicyRule[]): PodPolicy =>
  podPolicy({ namespace: 'ns', pod: 'p', ip: '10.1.1.5' }, ingress, egress);
const sets =
  (s: Record<string, string[]>): MembersOf =>
  (id) =>
    s[id];
const sources = (fake: FakeAcl, index: number): string[] =>
  fake.acls
    .get(index)!
    .rules.filter((r) => r.action !== 0)
    .map((r) => r.src);

describe('PolicyAcls', () => {
  it('writes both ACLs once, then only the direction whose rules changed', async () => {
    const fake = new FakeAcl();
    const acls = new PolicyAcls(fake);
    const a = await acls.program('policy/ns/p/eth0', policy([rule('web')]), [], sets({ web: ['10.1.1.20'] }));
    expect(a).toEqual({ egressAcl: 0, ingressAcl: 1 });
    fake.calls.length = 0;
    await acls.program('policy/ns/p/eth0', policy([rule('web')], []), [], sets({ web: ['10.1.1.20'] }), a);
    // Egress became isolated: its ACL changes; ingress stays (its permits now reflect, though).
    expect(fake.calls).toEqual(['addReplace 0 policy/ns/p/eth0#eg', 'addReplace 1 policy/ns/p/eth0#in']);
    fake.calls.length = 0;
    await acls.program('policy/ns/p/eth0', policy([rule('web')], []), [], sets({ web: ['10.1.1.20'] }), a);
    expect(fake.calls).toEqual([]);
  });

  it('a set change re-writes only the ACLs of policies naming the set, in place', async () => {
    const fake = new FakeAcl();
    const acls = new PolicyAcls(fake);
    const members = { web: ['10.1.1.20'], db: ['10.1.3.9'] };
    const a = await acls.program('policy/ns/a/eth0', policy([rule('web')]), [], sets(members));
    const b = await acls.program('policy/ns/b/eth0', policy(undefined, [rule('web')]), [], sets(members));
    await acls.program('policy/ns/c/eth0', policy([rule('db')]), [], sets(members));
    // A set named only where the direction is open is in no ACL.
    await acls.program(
      'policy/ns/d/eth0',
      { ...policy([]), egress: { isolated: false, rules: [rule('web')] } },
      [],
      sets(members),
    );
    fake.calls.length = 0;
    await acls.setChanged('web', sets({ ...members, web: ['10.1.1.20', '10.1.1.21'] }));
    expect(fake.calls).toEqual(['addReplace 1 policy/ns/a/eth0#in', 'addReplace 2 policy/ns/b/eth0#eg']);
    expect(sources(fake, a.ingressAcl)).toEqual(['10.1.1.20/32', '10.1.1.21/32']);
    expect(
      fake.acls
        .get(b.egressAcl)!
        .rules.filter((r) => r.action !== 0)
        .map((r) => r.dst),
    ).toEqual(['10.1.1.20/32', '10.1.1.21/32']);
  });

  it('a failed re-write keeps the policy tracked; the retry re-writes it', async () => {
    const fake = new FakeAcl();
    const acls = new PolicyAcls(fake);
    const a = await acls.program('policy/ns/a/eth0', policy([rule('web')]), [], sets({ web: ['10.1.1.20'] }));
    await acls.program('policy/ns/b/eth0', policy([rule('web')]), [], sets({ web: ['10.1.1.20'] }));
    fake.failOn = (tag): boolean => tag.startsWith('policy/ns/a/');
    const next = sets({ web: ['10.1.1.30'] });
    await expect(acls.setChanged('web', next)).rejects.toBeInstanceOf(VppApiError);
    // The other policy got the change all the same.
    expect(sources(fake, 3)).toEqual(['10.1.1.30/32']);
    fake.failOn = undefined;
    fake.calls.length = 0;
    await acls.setChanged('web', next);
    expect(fake.calls).toEqual(['addReplace 0 policy/ns/a/eth0#eg', 'addReplace 1 policy/ns/a/eth0#in']);
    expect(sources(fake, a.ingressAcl)).toEqual(['10.1.1.30/32']);
  });

  it('a failed first write leaves no ACL behind', async () => {
    const fake = new FakeAcl();
    fake.failOn = (tag): boolean => tag.endsWith('#in');
    const acls = new PolicyAcls(fake);
    await expect(acls.program('policy/ns/a/eth0', policy([]), [], sets({}))).rejects.toBeInstanceOf(
      VppApiError,
    );
    expect(fake.acls.size).toBe(0);
    expect(fake.calls).toContain('delete 0');
  });

  it('refuses (retriably) to compile a policy whose set is not applied', async () => {
    const acls = new PolicyAcls(new FakeAcl());
    await expect(
      acls.program('policy/ns/a/eth0', policy([rule('gone')]), [], sets({})),
    ).rejects.toMatchObject({
      retriable: true,
      message: expect.stringContaining('peer set gone') as unknown,
    });
  });
});

describe('policy validation (what VPP ACLs cannot express)', () => {
  const problems = (p: PodPolicy): string[] => policyProblems(p).filter((x): x is string => x !== false);
  const via: PolicyRule = { origin: 'ns/isolation#service', peers: [], ports: [], viaService: true };

  it('takes what ACLs cannot express (viaService, SCTP ports): those rules fail closed, the item stays valid', () => {
    const sctp = (port: number): PolicyRule => ({
      ...rule('web'),
      ports: [{ protocol: 'SCTP', port, endPort: port }],
    });
    expect(problems(policy([via]))).toEqual([]);
    expect(problems(policy(undefined, [sctp(9000)]))).toEqual([]);
    // "every port of a protocol" as the engine writes it
    const every: PolicyRule = { ...rule('web'), ports: [{ protocol: 'UDP', port: 0, endPort: 65_535 }] };
    expect(problems(policy([every]))).toEqual([]);
  });

  it('refuses malformed peers, port ranges and interfaces', () => {
    const bad: PolicyRule = {
      origin: 'o',
      peers: [
        { type: 'cidr', cidr: '10.0.0.0/33', except: ['x'] },
        { type: 'set', set: 'a/b' },
      ],
      ports: [
        { protocol: 'TCP', port: 90, endPort: 80 },
        { protocol: 'UDP', port: 0, endPort: 5 },
        { protocol: 'TCP', port: 1, endPort: 65536 },
      ],
      viaService: false,
    };
    expect(problems({ ...policy([bad]), interface: 'tunnel/10/n2' })).toEqual([
      'interface "tunnel/10/n2" is not a pod interface',
      'ingress rule o: "10.0.0.0/33" is not a CIDR',
      'ingress rule o: "x" is not a CIDR',
      'ingress rule o: peer set "a/b" invalid',
      'ingress rule o: port range 90-80 invalid',
      'ingress rule o: port range 0-5 invalid',
      'ingress rule o: port range 1-65536 invalid',
    ]);
  });
});
