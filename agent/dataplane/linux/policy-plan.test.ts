// Policies in nftables, pure parts: golden `nft -f` text for representative pods and changes,
// and the read-back of a table listed by the real nft (testdata/, nft 1.0.6, written by
// policy-samples.ts) into the same objects the plan wrote.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTable, scriptOf, type NftOp } from './nft.ts';
import {
  ownerComment,
  peerSetName,
  peerSetOps,
  peerSetsIn,
  planPeerSet,
  planPolicy,
  podChain,
  policiesIn,
  policyBaseIntact,
  policyFrom,
  policyOps,
  policySetupOps,
  samePolicy,
} from './policy-plan.ts';
import { SAMPLE_POLICIES, SAMPLE_SETS, sampleScript } from './policy-samples.ts';
import { hashOf } from './service-plan.ts';
import { allow, peerSetItem, policyItem } from './test-items.ts';

const script = (ops: readonly NftOp[]): string[] =>
  scriptOf('netloom-policy', ops, 'inet').trimEnd().split('\n');
const T = 'inet netloom-policy';
const pod = { namespace: 'ns', name: 'a', ip: '10.1.1.11' };

describe('policies in nftables: rendering', () => {
  it('the fixed part: maps by interface name, dispatched from the forward hook after replies', () => {
    expect(script(policySetupOps())).toEqual([
      `add table ${T}`,
      `add map ${T} pod-ingress { type ifname : verdict; }`,
      `add map ${T} pod-egress { type ifname : verdict; }`,
      `add chain ${T} forward { type filter hook forward priority 0; policy accept; }`,
      `flush chain ${T} forward`,
      `add rule ${T} forward ct state established,related accept`,
      `add rule ${T} forward meta oifname vmap @pod-ingress`,
      `add rule ${T} forward meta iifname vmap @pod-egress`,
    ]);
  });

  it('a pod isolated for ingress: a rule per peer with merged port ranges, then drop', () => {
    const item = policyItem(pod, {
      ingress: [
        allow(
          ['web', '10.0.0.0/8^10.1.0.0/16,192.168.0.0/16'],
          ['tcp/8000-8080', 'tcp/80', 'udp/53', 'tcp/8080-8090'],
        ),
      ],
    });
    const h = hashOf(item.key);
    const web = peerSetName('peer-set/web', 4);
    const ports = 'meta l4proto . th dport { tcp . 80, tcp . 8000-8090, udp . 53 }';
    expect(script(policyOps(item.key, undefined, planPolicy(item.key, item.value, 'lxc1')))).toEqual([
      `add chain ${T} pod-${h}-in`,
      `flush chain ${T} pod-${h}-in`,
      `add rule ${T} pod-${h}-in ip saddr @${web} ${ports} return`,
      `add rule ${T} pod-${h}-in ip saddr 10.0.0.0/8 ip saddr != 10.1.0.0/16 ${ports} return`,
      `add rule ${T} pod-${h}-in drop comment "policy/ns/a/eth0"`,
      `add element ${T} pod-ingress { "lxc1" comment "policy/ns/a/eth0" : jump pod-${h}-in }`,
    ]);
  });

  it('egress matches destinations; viaService needs a DNATed connection; a dual-stack pod gets both families', () => {
    const item = policyItem(pod, { egress: [allow(['db'], ['tcp/5432']), allow([], [], true)] });
    item.value.podIps.push('fd00::11');
    const rules = planPolicy(item.key, item.value, 'lxc1').chains[0]!.rules;
    expect(rules).toEqual([
      `ip daddr @${peerSetName('peer-set/db', 4)} meta l4proto . th dport { tcp . 5432 } return`,
      `ip6 daddr @${peerSetName('peer-set/db', 6)} meta l4proto . th dport { tcp . 5432 } return`,
      'ct status dnat return',
      'drop comment "policy/ns/a/eth0"',
    ]);
  });

  it('a direction that is not isolated has no chain and no element; deny-all is a lone drop', () => {
    const open = policyItem(pod, {});
    expect(planPolicy(open.key, open.value, 'lxc1')).toEqual({ elements: [], chains: [] });
    const deny = policyItem(pod, { ingress: [], egress: [] });
    const plan = planPolicy(deny.key, deny.value, 'lxc1');
    expect(plan.chains.map((c) => c.rules)).toEqual([
      ['drop comment "policy/ns/a/eth0"'],
      ['drop comment "policy/ns/a/eth0"'],
    ]);
    expect(plan.elements.map((e) => `${e.map} ${e.ifname} ${e.verdict}`)).toEqual([
      `pod-ingress lxc1 jump ${podChain(deny.key, 'ingress')}`,
      `pod-egress lxc1 jump ${podChain(deny.key, 'egress')}`,
    ]);
  });

  it('a changed rule rewrites only its own chain, in one transaction; lifting isolation removes it', () => {
    const a = policyItem(pod, { ingress: [allow(['web'])], egress: [] });
    const b = policyItem(pod, { ingress: [allow(['db'])], egress: [] });
    const pa = planPolicy(a.key, a.value, 'lxc1');
    const pb = planPolicy(b.key, b.value, 'lxc1');
    const h = hashOf(a.key);
    expect(script(policyOps(a.key, pa, pb))).toEqual([
      `add chain ${T} pod-${h}-in`,
      `add chain ${T} pod-${h}-out`,
      `flush chain ${T} pod-${h}-in`,
      `flush chain ${T} pod-${h}-out`,
      `add rule ${T} pod-${h}-in ip saddr @${peerSetName('peer-set/db', 4)} return`,
      `add rule ${T} pod-${h}-in drop comment "policy/ns/a/eth0"`,
      `add rule ${T} pod-${h}-out drop comment "policy/ns/a/eth0"`,
    ]);
    const open = policyItem(pod, { egress: [] });
    const lines = script(policyOps(a.key, pa, planPolicy(open.key, open.value, 'lxc1')));
    expect(lines).toContain(`delete element ${T} pod-ingress { "lxc1" }`);
    expect(lines).toContain(`delete chain ${T} pod-${h}-in`);
    expect(lines.indexOf(`delete element ${T} pod-ingress { "lxc1" }`)).toBeLessThan(
      lines.indexOf(`delete chain ${T} pod-${h}-in`),
    );
  });

  it('a peer set change touches only the members that differ', () => {
    const key = 'peer-set/web';
    const old = planPeerSet(peerSetItem('web', ['10.1.1.20', '10.1.1.21']).value);
    const next = planPeerSet(peerSetItem('web', ['10.1.1.21', '10.1.1.22', 'fd00::22']).value);
    const [s4, s6] = [peerSetName(key, 4), peerSetName(key, 6)];
    expect(script(peerSetOps(key, old, next))).toEqual([
      `add set ${T} ${s4} { type ipv4_addr; comment "peer-set/web"; }`,
      `add element ${T} ${s4} { 10.1.1.20 }`,
      `delete element ${T} ${s4} { 10.1.1.20 }`,
      `add element ${T} ${s4} { 10.1.1.22 }`,
      `add set ${T} ${s6} { type ipv6_addr; comment "peer-set/web"; }`,
      `add element ${T} ${s6} { fd00::22 }`,
    ]);
    expect(script(peerSetOps(key, next, undefined))).toEqual([
      `add set ${T} ${s4} { type ipv4_addr; comment "peer-set/web"; }`,
      `delete set ${T} ${s4}`,
      `add set ${T} ${s6} { type ipv6_addr; comment "peer-set/web"; }`,
      `delete set ${T} ${s6}`,
    ]);
  });

  it('keeps comments within what nft takes', () => {
    const long = `policy/ns/${'p'.repeat(200)}/eth0`;
    expect(ownerComment(long).length).toBeLessThanOrEqual(128);
    expect(ownerComment(long)).toContain(hashOf(long));
    expect(ownerComment('peer-set/a"b')).not.toContain('"');
    expect(ownerComment('policy/ns/a/eth0')).toBe('policy/ns/a/eth0');
  });
});

describe('policies in nftables: reading back what nft 1.0.6 listed', () => {
  const listing = JSON.parse(
    readFileSync(new URL('./testdata/policy-nft-1.0.6.json', import.meta.url), 'utf8'),
  ) as unknown;
  const table = parseTable(listing);

  it('the samples are what the testdata was made from', () => {
    // Regenerate with `node agent/dataplane/linux/policy-samples.ts <netns>` when they change.
    expect(sampleScript('netloom-policy').split('\n').length).toBeGreaterThan(40);
  });

  it('finds the fixed part intact', () => {
    expect(policyBaseIntact(table)).toBe(true);
    const broken = parseTable(listing);
    broken.chains.get('forward')!.rules.pop();
    expect(policyBaseIntact(broken)).toBe(false);
  });

  it('reads every pod back as exactly what was planned (unknown keys by their comments)', () => {
    const found = policiesIn(table, []);
    for (const { host, item } of SAMPLE_POLICIES) {
      const plan = planPolicy(item.key, item.value, host);
      if (plan.chains.length === 0) expect(found.has(item.key)).toBe(false);
      else expect(samePolicy(found.get(item.key)!, plan), item.key).toBe(true);
    }
  });

  it('reads every peer set back as planned (IPv6 as nft spells it)', () => {
    const found = peerSetsIn(
      table,
      SAMPLE_SETS.map((s) => s.key),
    );
    for (const s of SAMPLE_SETS) expect(found.get(s.key)).toEqual(planPeerSet(s.value));
    expect(found.get('peer-set/web')!.v6).toEqual(['fd00::20']);
  });

  it('takes set literals in any order, as nft lists them', () => {
    const { host, item } = SAMPLE_POLICIES[0]!;
    const found = policiesIn(table, [item.key]).get(item.key)!;
    const ingress = found.chains.find((c) => c.name.endsWith('-in'))!;
    const listed = '{ tcp . 80-81, tcp . 8000-8090, udp . 53 }';
    expect(ingress.rules[0]).toContain(listed);
    ingress.rules = ingress.rules.map((r) => r.replace(listed, '{ udp . 53, tcp . 8000-8090, tcp . 80-81 }'));
    expect(samePolicy(found, planPolicy(item.key, item.value, host))).toBe(true);
  });

  it('describes a drifted pod by the rules it holds', () => {
    const { host, item } = SAMPLE_POLICIES[2]!;
    const found = policiesIn(table, [item.key]).get(item.key)!;
    found.chains[0]!.rules.unshift('return');
    expect(samePolicy(found, planPolicy(item.key, item.value, host))).toBe(false);
    const v = policyFrom(item.key, found, item.value);
    expect(v).not.toEqual(item.value);
    expect(v.ingress.rules.map((r) => r.origin)).toEqual([
      'nft: return',
      'nft: drop comment "policy/ns/c/eth0"',
    ]);
  });
});
