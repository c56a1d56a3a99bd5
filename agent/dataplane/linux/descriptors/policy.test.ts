// The peer-set and policy descriptors through the KV scheduler over the fake kernel's nft
// table: a pod's chains and its dispatch elements, set member changes that leave every chain
// alone, interface before policy in one transaction, zero changes on an unchanged restart,
// repair of hand-made damage, removal of what no item wants, validation.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../lib/logging.ts';
import type { PodPolicy } from '../../../items/values.ts';
import type { Item } from '../../../scheduler/descriptor.ts';
import { KvScheduler } from '../../../scheduler/scheduler.ts';
import { linuxDriverWith } from '../driver.ts';
import { FakeKernel } from '../fake/kernel.ts';
import { peerSetName, podChain } from '../policy-plan.ts';
import { hashOf } from '../service-plan.ts';
import {
  allow,
  nodeItems,
  peerSetItem,
  podItems,
  policyItem,
  testPod,
  type TestNode,
  type TestPod,
} from '../test-items.ts';

const node: TestNode = { name: 'n1', id: 1, underlayIp: '192.168.1.1' };
const pods: TestPod[] = [0, 1, 2, 3].map((i) => testPod(i, `/run/netns/p${i}`, 'lxc', 'ns'));

const SETS = [peerSetItem('front', [pods[1]!.ip]), peerSetItem('db', [pods[2]!.ip, '10.1.2.9'])];
const POLICIES = [
  policyItem(pods[0]!, { ingress: [allow(['front'], ['tcp/80'])], egress: [allow(['db'], ['tcp/5432'])] }),
  policyItem(pods[1]!, { ingress: [] }),
  policyItem(pods[2]!, { ingress: [allow(['10.0.0.0/8^10.1.3.0/24'], [], true)] }),
  policyItem(pods[3]!, {}),
];
const items = (): Item[] => [
  ...nodeItems(node, [node]),
  ...pods.flatMap((p) => podItems(node, p)),
  ...SETS,
  ...POLICIES,
];

const scheduler = (kernel: FakeKernel): KvScheduler =>
  new KvScheduler({ driver: linuxDriverWith(kernel.ports), logger: silentLogger(), retry: { auto: false } });

function fakeKernel(): FakeKernel {
  const kernel = new FakeKernel();
  for (const p of pods) kernel.namespaces.add(p.netns);
  return kernel;
}

async function applied(): Promise<{ kernel: FakeKernel; s: KvScheduler }> {
  const kernel = fakeKernel();
  const s = scheduler(kernel);
  const rec = await s.resync({ desired: items() });
  expect(rec.errors).toEqual([]);
  return { kernel, s };
}

const table = (kernel: FakeKernel): string[] => kernel.policies.nft.dump();
const chainLines = (kernel: FakeKernel): string[] => table(kernel).filter((l) => l.startsWith('nft chain'));

describe('peer-set and policy descriptors over the fake kernel', () => {
  it('writes a chain per isolated direction and an element per chain; nothing for an open pod', async () => {
    const { kernel, s } = await applied();
    expect(s.statuses().filter((st) => st.state !== 'configured')).toEqual([]);
    const t = kernel.policies.nft.table!;
    const [p0, p1] = [POLICIES[0]!.key, POLICIES[1]!.key];
    expect(
      Object.fromEntries([...t.sets.get('pod-ingress')!.elements].map(([k, e]) => [k, e.value])),
    ).toEqual({
      lxc0: `jump ${podChain(p0, 'ingress')}`,
      lxc1: `jump ${podChain(p1, 'ingress')}`,
      lxc2: `jump ${podChain(POLICIES[2]!.key, 'ingress')}`,
    });
    expect([...t.sets.get('pod-egress')!.elements.keys()]).toEqual(['lxc0']);
    expect(t.chains.get(podChain(p0, 'egress'))!.rules).toEqual([
      `ip daddr @${peerSetName(SETS[1]!.key, 4)} meta l4proto . th dport { tcp . 5432 } return`,
      `drop comment "${p0}"`,
    ]);
    expect(t.chains.get(podChain(p1, 'ingress'))!.rules).toEqual([`drop comment "${p1}"`]);
    expect(table(kernel).some((l) => l.includes(hashOf(POLICIES[3]!.key)))).toBe(false);
    expect([...t.sets.get(peerSetName(SETS[1]!.key, 4))!.elements.keys()]).toEqual(['10.1.1.13', '10.1.2.9']);
  });

  it('changes set members without touching a chain', async () => {
    const { kernel, s } = await applied();
    const chains = chainLines(kernel);
    const calls = kernel.calls.length;
    const rec = await s.commit([peerSetItem('front', [pods[1]!.ip, pods[3]!.ip])]);
    expect(rec.errors).toEqual([]);
    expect(rec.operations.map((o) => `${o.operation} ${o.key}`)).toEqual(['update peer-set/front']);
    expect(kernel.calls.slice(calls)).toEqual(['policies apply 3']); // two add-sets, one element
    expect(chainLines(kernel)).toEqual(chains);
    expect([...kernel.policies.nft.table!.sets.get(peerSetName(SETS[0]!.key, 4))!.elements.keys()]).toEqual([
      pods[1]!.ip,
      pods[3]!.ip,
    ]);
  });

  it('applies a new pod interface before its policy, in the same transaction', async () => {
    const { kernel, s } = await applied();
    const pod: TestPod = {
      ...pods[0]!,
      name: 'new',
      containerId: 'c9',
      netns: '/run/netns/new',
      ip: '10.1.1.40',
      hostIfName: 'lxc9',
    };
    kernel.namespaces.add(pod.netns);
    const calls = kernel.calls.length;
    const rec = await s.commit([...podItems(node, pod), policyItem(pod, { ingress: [] })]);
    expect(rec.errors).toEqual([]);
    const after = kernel.calls.slice(calls);
    expect(after.indexOf('wire lxc9')).toBeGreaterThanOrEqual(0);
    expect(after.indexOf('wire lxc9')).toBeLessThan(after.findIndex((c) => c.startsWith('policies apply')));
    expect(kernel.policies.nft.table!.sets.get('pod-ingress')!.elements.has('lxc9')).toBe(true);
  });

  it('removes the policy before its pod interface', async () => {
    const { kernel, s } = await applied();
    const calls = kernel.calls.length;
    const rec = await s.commit(podItems(node, pods[1]!).map((i) => ({ key: i.key, value: undefined })));
    expect(rec.errors).toEqual([]);
    const after = kernel.calls.slice(calls);
    expect(after.findIndex((c) => c.startsWith('policies apply'))).toBeLessThan(after.indexOf('unwire lxc1'));
    expect(s.status(POLICIES[1]!.key)?.state).toBe('pending');
    expect(table(kernel).some((l) => l.includes(hashOf(POLICIES[1]!.key)))).toBe(false);
  });

  it('makes no change when a restarted agent resyncs an unchanged table', async () => {
    const { kernel } = await applied();
    const before = kernel.changes().length;
    const rec = await scheduler(kernel).resync({ desired: items() });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(kernel.changes().length).toBe(before);
  });

  it('repairs a chain deleted by hand, a set member removed by hand, and a damaged fixed part', async () => {
    const { kernel, s } = await applied();
    const good = kernel.dump();
    const t = kernel.policies.nft.table!;
    t.sets.get('pod-ingress')!.elements.delete('lxc1');
    t.chains.delete(podChain(POLICIES[1]!.key, 'ingress'));
    t.sets.get(peerSetName(SETS[1]!.key, 4))!.elements.delete('10.1.2.9');
    let rec = await s.resync();
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 1, update: 1, delete: 0 });
    expect(kernel.dump()).toBe(good);
    kernel.policies.nft.table!.chains.get('forward')!.rules = [];
    rec = await s.resync();
    expect(rec.errors).toEqual([]);
    expect(rec.counts.update).toBe(3); // every policy with a chain; the fixed part went first
    expect(kernel.dump()).toBe(good);
  });

  it('deletes sets and chains no item wants, and only theirs', async () => {
    const { kernel } = await applied();
    const keep = items().filter((i) => i.key !== POLICIES[0]!.key && i.key !== SETS[1]!.key);
    const rec = await scheduler(kernel).resync({ desired: keep });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 2 });
    const fresh = fakeKernel();
    await scheduler(fresh).resync({ desired: keep });
    expect(table(kernel).sort()).toEqual(table(fresh).sort());
  });

  it('redoes a change from the table when an element was left with another verdict', async () => {
    const { kernel, s } = await applied();
    const p = POLICIES[3]!; // open: nothing written yet
    kernel.policies.nft.table!.sets.get('pod-ingress')!.elements.set('lxc3', { value: 'drop' });
    const rec = await s.commit([policyItem(pods[3]!, { ingress: [] })]);
    expect(rec.errors).toEqual([]);
    expect(kernel.policies.nft.table!.sets.get('pod-ingress')!.elements.get('lxc3')?.value).toBe(
      `jump ${podChain(p.key, 'ingress')}`,
    );
  });

  it('refuses values the table cannot hold', async () => {
    const { s } = await applied();
    const base = POLICIES[0]!;
    const bad: [string, Partial<PodPolicy>][] = [
      ['port', { ingress: { isolated: true, rules: [allow([], ['tcp/90-80'])] } }],
      ['protocol', { egress: { isolated: true, rules: [allow([], ['icmp/1'])] } }],
      ['cidr', { ingress: { isolated: true, rules: [allow(['10.0.0.0/33'])] } }],
      ['podIp', { podIps: ['nope'] }],
      ['interface', { interface: 'pod-interface/ns/other/eth0' }],
    ];
    for (const [what, change] of bad) {
      await s.commit([{ key: base.key, value: { ...base.value, ...change } }]);
      expect(s.status(base.key)?.state, what).toBe('invalid');
    }
    await s.commit([{ key: 'peer-set/x', value: { id: 'x', addresses: ['10.1.1.1/32'] } }]);
    expect(s.status('peer-set/x')?.state).toBe('invalid');
    await s.commit([{ key: 'peer-set/x', value: { id: 'y', addresses: [] } }]);
    expect(s.status('peer-set/x')?.state).toBe('invalid');
  });
});
