// Pod policies and peer sets on the vpp driver, under the KV scheduler, against the fake VPP:
// ACLs bound to the TAP and replaced in place, a peer set's member change re-writing exactly
// the ACLs that name it, zero changes on an agent restart, repair after a change missed while
// the agent was down, VPP restarting empty, and what VPP refuses.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { peerSetKey, policyKey, tunnelKey } from '../../items/keys.ts';
import type { PeerSet, PodPolicy, PolicyRule } from '../../items/values.ts';
import type { Item } from '../../scheduler/descriptor.ts';
import { podItems } from '../linux/test-items.ts';
import { AclCalls } from './calls/acl.ts';
import { renderState } from './fake/render.ts';
import { driverLab, type DriverLab } from './testing/driver-lab.ts';
import { node1, nodes, pod } from './testing/items.ts';
import { allow, podPolicy, setPeer, tcp } from './testing/policies.ts';

let lab: DriverLab;
beforeEach(async () => {
  lab = await driverLab();
});
afterEach(async () => {
  await lab.close();
});

const aclLines = (): string[] =>
  renderState(lab.fake.state)
    .split('\n')
    .filter((l) => l.startsWith('acl'));
/** Far-side prefixes and ports of the permits of ACL `index`, as VPP holds them. */
async function permits(index: number): Promise<string[]> {
  const acl = (await new AclCalls(lab.client).list()).find((a) => a.index === index)!;
  return acl.rules
    .filter((r) => r.action !== 0)
    .map((r) => `${r.src === '0.0.0.0/0' ? r.dst : r.src}:${r.proto}:${r.dstPorts.join('-')}`);
}
const zero = { create: 0, update: 0, delete: 0 };

const setItem = (id: string, addresses: string[]): Item<PeerSet> => ({
  key: peerSetKey(id),
  value: { id, addresses },
});
const rule = allow;
const policyItem = (i: number, ingress?: PolicyRule[], egress?: PolicyRule[]): Item<PodPolicy> => ({
  key: policyKey('default', `p${i}`, 'eth0'),
  value: podPolicy({ namespace: 'default', pod: `p${i}`, ip: pod(i).ip }, ingress, egress),
});
const web = setPeer('web');
const db = setPeer('db');
/** The node's permits at the head of an isolated ingress ACL (pod gateway, uplink, cnat's hairpin). */
const NODE_IN = ['10.1.1.1/32:0:0-65535', '192.168.0.1/32:0:0-65535', '169.254.1.2/32:0:0-65535'];

/** p1 lets web in on 8080; p2 may reach web, and db on 5432. */
const items = (webMembers = ['10.1.1.12', '10.1.2.7']): Item[] => [
  ...node1(),
  ...podItems(nodes[0]!, pod(1)),
  ...podItems(nodes[0]!, pod(2)),
  setItem('web', webMembers),
  setItem('db', ['10.1.3.9']),
  policyItem(1, [rule([web], [tcp(8080)])]),
  policyItem(2, undefined, [rule([web]), rule([db], [tcp(5432)])]),
];
const ACLS = [
  'acl 0 policy/default/p1/eth0#eg rules 2',
  'acl 1 policy/default/p1/eth0#in rules 7',
  'acl 2 policy/default/p2/eth0#eg rules 5',
  'acl 3 policy/default/p2/eth0#in rules 2',
  'acl-bind tap0 input 0 output 1',
  'acl-bind tap1 input 2 output 3',
];

describe('vpp driver: pod policies as ACLs', () => {
  it('compiles a policy into two ACLs bound to the TAP, updated in place, removed with the policy', async () => {
    const key = policyKey('default', 'p1', 'eth0');
    const policy = (port: number): Item =>
      policyItem(1, [rule([{ type: 'cidr', cidr: '10.1.0.0/16', except: ['10.1.2.0/24'] }], [tcp(port)])]);
    const rec = await lab.scheduler.commit([...node1(), ...podItems(nodes[0]!, pod(1)), policy(8080)]);
    expect(rec.errors).toEqual([]);
    // ingress: the node (gateway, uplink), 10.1.0.0/16 minus 10.1.2.0/24 (8 prefixes), two
    // denies; egress is not isolated: one permit per family.
    const golden = [
      'acl 0 policy/default/p1/eth0#eg rules 2',
      'acl 1 policy/default/p1/eth0#in rules 13',
      'acl-bind tap0 input 0 output 1',
    ];
    expect(aclLines()).toEqual(golden);
    expect(await permits(1)).toEqual([
      ...NODE_IN,
      ...['10.1.0.0/23', '10.1.3.0/24', '10.1.4.0/22', '10.1.8.0/21', '10.1.16.0/20'].map(
        (p) => `${p}:6:8080-8080`,
      ),
      ...['10.1.32.0/19', '10.1.64.0/18', '10.1.128.0/17'].map((p) => `${p}:6:8080-8080`),
    ]);
    expect((await lab.restartAgent().resync({ desired: lab.scheduler.desiredItems() })).counts).toEqual(zero);

    lab.requests.length = 0;
    await lab.scheduler.commit([policy(9090)]);
    expect(aclLines()).toEqual(golden);
    expect((await permits(1))[NODE_IN.length]).toBe('10.1.0.0/23:6:9090-9090');
    // Only the ingress ACL changed; the binding is confirmed.
    expect(lab.requests).toEqual(['acl_add_replace', 'acl_interface_set_acl_list']);

    await lab.scheduler.commit([{ key, value: null }]);
    expect(aclLines()).toEqual([]);
    expect(lab.scheduler.status(tunnelKey(10, 'n2'))?.state).toBe('configured');
  });

  it('a peer set change re-writes in place exactly the ACLs naming the set', async () => {
    expect((await lab.scheduler.commit(items())).errors).toEqual([]);
    expect(aclLines()).toEqual(ACLS);
    expect(await permits(1)).toEqual([...NODE_IN, '10.1.1.12/32:6:8080-8080', '10.1.2.7/32:6:8080-8080']);

    lab.requests.length = 0;
    const rec = await lab.scheduler.commit([setItem('web', ['10.1.1.12', '10.1.2.7', '10.1.2.8'])]);
    expect(rec.errors).toEqual([]);
    // One item changed (the set); its two ACLs were replaced, nothing else was sent.
    expect(rec.counts).toEqual({ create: 0, update: 1, delete: 0 });
    expect(lab.requests).toEqual(['acl_add_replace', 'acl_add_replace']);
    expect(aclLines()).toEqual(
      ACLS.map((l) => l.replace('#in rules 7', '#in rules 8').replace('#eg rules 5', '#eg rules 6')),
    );
    expect(await permits(1)).toContain('10.1.2.8/32:6:8080-8080');
    expect(await permits(2)).toEqual([
      '10.1.1.12/32:0:0-65535',
      '10.1.2.7/32:0:0-65535',
      '10.1.2.8/32:0:0-65535',
      '10.1.3.9/32:6:5432-5432',
    ]);

    lab.requests.length = 0;
    await lab.scheduler.commit([setItem('db', ['10.1.3.9', '10.1.3.10'])]);
    expect(lab.requests).toEqual(['acl_add_replace']);
    expect(await permits(2)).toContain('10.1.3.10/32:6:5432-5432');

    // An agent restart: sets are not re-created, ACLs not re-written.
    lab.requests.length = 0;
    const again = lab.restartAgent();
    const resync = await again.resync({ desired: lab.scheduler.desiredItems() });
    expect(resync.errors).toEqual([]);
    expect(resync.counts).toEqual(zero);
    // Reads only: dumps and the lookups retrieve makes (an interface's table, the decap arc, the
    // uplink's cnat lookup).
    const reads = new Set(['sw_interface_get_table', 'get_next_index', 'feature_is_enabled']);
    expect(lab.requests.filter((r) => !r.endsWith('_dump') && !reads.has(r))).toEqual([]);
    // The restarted agent's driver knows the ACLs again: a set change still reaches them.
    lab.requests.length = 0;
    await again.commit([setItem('web', ['10.1.1.12'])]);
    expect(lab.requests).toEqual(['acl_add_replace', 'acl_add_replace']);
    expect(await permits(1)).toEqual([...NODE_IN, '10.1.1.12/32:6:8080-8080']);
  });

  it('repairs the ACLs of a set change missed while the agent was down, in place', async () => {
    await lab.scheduler.commit(items());
    const again = lab.restartAgent();
    const rec = await again.resync({ desired: items(['10.1.2.7']) });
    expect(rec.errors).toEqual([]);
    // The set is taken as held; the two policies whose ACLs are behind are updated.
    expect(rec.counts).toEqual({ create: 0, update: 2, delete: 0 });
    expect(aclLines()).toEqual(
      ACLS.map((l) => l.replace('#in rules 7', '#in rules 6').replace('#eg rules 5', '#eg rules 4')),
    );
    expect(await permits(1)).toEqual([...NODE_IN, '10.1.2.7/32:6:8080-8080']);
    expect((await lab.restartAgent().resync({ desired: items(['10.1.2.7']) })).counts).toEqual(zero);
  });

  it('repairs ACL rules changed by hand and rebuilds everything after VPP restarts empty', async () => {
    await lab.scheduler.resync({ desired: items() });
    const before = renderState(lab.fake.state);
    lab.fake.state.acls.get(2)!.rules.pop();
    const rec = await lab.scheduler.resync();
    expect(rec.counts).toEqual({ create: 0, update: 1, delete: 0 });
    expect(renderState(lab.fake.state)).toBe(before);

    await lab.restartVpp();
    const after = await lab.scheduler.resync();
    expect(after.errors).toEqual([]);
    // Every item but the two sets, which hold no VPP object.
    expect(after.counts).toEqual({ create: items().length - 2, update: 0, delete: 0 });
    expect(renderState(lab.fake.state)).toBe(before);
  });

  it('waits for its peer sets; what VPP ACLs cannot express fails closed (never an unprotected pod)', async () => {
    const base = items().filter((i) => !i.key.startsWith('peer-set/') && !i.key.startsWith('policy/'));
    await lab.scheduler.commit([...base, policyItem(1, [rule([web], [tcp(80)])])]);
    const key = policyKey('default', 'p1', 'eth0');
    expect(lab.scheduler.status(key)).toMatchObject({ state: 'pending' });
    await lab.scheduler.commit([setItem('web', ['10.1.2.7'])]);
    expect(lab.scheduler.status(key)?.state).toBe('configured');

    await lab.scheduler.commit([policyItem(2, [rule([], [], true)])]);
    // A viaService-only policy: applied, and its ACL allows nothing but the node's own traffic.
    expect(lab.scheduler.status(policyKey('default', 'p2', 'eth0'))?.state).toBe('configured');
  });
});
