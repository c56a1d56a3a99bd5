import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging.ts';
import { routeKey, snatKey, tunnelKey } from '../items/keys.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { testNodeContext } from '../renderers/testing.ts';
import type { Change } from '../scheduler/scheduler.ts';
import type { TxnRecord } from '../scheduler/txn-log.ts';
import type { NodeInfo } from '../view/decode.ts';
import { ClusterView } from '../view/view.ts';
import {
  cidrsOverlap,
  decodePlan,
  judgeRegistration,
  meshPeerName,
  meshRefusal,
  overlapProblems,
  planOf,
  remotePeers,
  renderMeshSnat,
  renderRemoteCluster,
  sameAddressing,
  type ClusterPlan,
  type RemoteCluster,
} from './plan.ts';

const A: ClusterPlan = {
  podCidr: '10.1.0.0/16',
  serviceCidr: '10.96.0.0/12',
  nodePrefixLength: 24,
  gatewayOffset: 1,
  vni: 10,
  mesh: true,
};
const B: ClusterPlan = { ...A, podCidr: '10.2.0.0/16', serviceCidr: '10.112.0.0/12' };
const ctx = testNodeContext(); // node n1 of cluster A: 10.1.1.0/24, ID 1

const info = (name: string, id: number, over: Partial<NodeInfo> = {}): NodeInfo => ({
  name,
  id,
  managementIp: `192.168.0.${id}`,
  tunnelEndpoint: `192.168.0.${id}`,
  podSubnet: `10.2.${id}.0/24`,
  ...over,
});

function remoteB(nodes: [string, number][], over: Partial<RemoteCluster> = {}): RemoteCluster {
  return {
    name: 'b',
    plan: B,
    nodeIds: new Map(nodes.map(([n, id]) => [id, n])),
    infos: new Map(nodes.map(([n, id]) => [n, info(n, id)])),
    ...over,
  };
}
const sharedOf = (cluster: string, nodes: [string, number][]): Map<number, string> =>
  new Map(nodes.map(([n, id]) => [id, `${cluster}/${n}`]));

describe('overlap checks', () => {
  it('finds overlaps in either direction and of any length, and nothing between disjoint ranges', () => {
    const cases: [string, string, boolean][] = [
      ['10.1.0.0/16', '10.1.0.0/16', true],
      ['10.1.0.0/16', '10.1.200.0/24', true],
      ['10.1.200.0/24', '10.1.0.0/16', true],
      ['10.0.0.0/8', '10.200.0.0/16', true],
      ['10.1.0.0/16', '10.2.0.0/16', false],
      ['10.96.0.0/12', '10.112.0.0/12', false],
      ['10.96.0.0/12', '10.100.0.0/16', true],
      ['10.1.255.0/24', '10.2.0.0/24', false],
      ['fd00::/64', 'fd00::/48', true],
      ['fd00::/64', '10.1.0.0/16', false],
      ['not-a-cidr', '10.1.0.0/16', false],
    ];
    for (const [a, b, want] of cases) expect([a, b, cidrsOverlap(a, b)]).toEqual([a, b, want]);
  });

  it('compares pod and service CIDRs both ways', () => {
    expect(overlapProblems(A, 'b', B)).toEqual([]);
    expect(overlapProblems(A, 'b', { ...B, podCidr: '10.1.128.0/17' })).toEqual([
      "our pod CIDR 10.1.0.0/16 overlaps cluster b's pod CIDR 10.1.128.0/17",
    ]);
    // B's pods inside our service range, and the same service range.
    expect(overlapProblems(A, 'b', { ...B, podCidr: '10.100.0.0/16', serviceCidr: A.serviceCidr })).toEqual([
      "our service CIDR 10.96.0.0/12 overlaps cluster b's pod CIDR 10.100.0.0/16",
      "our service CIDR 10.96.0.0/12 overlaps cluster b's service CIDR 10.96.0.0/12",
    ]);
  });

  it('refuses with the mesh on, warns without it, ignores its own registration', () => {
    const others = new Map([
      ['a', A],
      ['b', { ...B, serviceCidr: A.serviceCidr }],
    ]);
    const on = judgeRegistration('a', A, others);
    expect(on.refuse).toMatch(
      /^cluster a cannot join the mesh: our service CIDR 10\.96\.0\.0\/12 overlaps cluster b's/,
    );
    expect(on.refuse).not.toContain('\n');
    const off = judgeRegistration('a', { ...A, mesh: false }, others);
    expect(off.refuse).toBeUndefined();
    expect(off.warnings).toEqual([
      "our service CIDR 10.96.0.0/12 overlaps cluster b's service CIDR 10.96.0.0/12 (harmless without --mesh; the mesh would refuse it)",
    ]);
    expect(judgeRegistration('a', A, new Map([['a', A]]))).toEqual({ warnings: [] });
    expect(judgeRegistration('a', A, new Map([['b', B]]))).toEqual({ warnings: [] });
  });

  it('meshes only with clusters that have the mesh on, the same VNI and disjoint ranges', () => {
    expect(meshRefusal(A, 'b', B)).toBeUndefined();
    expect(meshRefusal(A, 'b', { ...B, mesh: false })).toBe('cluster b has the mesh off');
    expect(meshRefusal(A, 'b', { ...B, vni: 11 })).toBe('cluster b uses VNI 11, ours is 10');
    expect(meshRefusal(A, 'b', { ...B, podCidr: '10.1.0.0/16' })).toMatch(/overlaps/);
  });
});

describe('registered plans', () => {
  it('round-trips the plan an agent registers, and compares addressing without the mesh flag', () => {
    const plan = planOf({ ...A, vxlanVni: 10 });
    expect(plan).toEqual(A);
    expect(decodePlan(JSON.stringify(plan))).toEqual(A);
    expect(decodePlan(JSON.stringify({ ...plan, mesh: undefined }))).toEqual({ ...A, mesh: false });
    expect(sameAddressing(A, { ...A, mesh: false })).toBe(true);
    expect(sameAddressing(A, B)).toBe(false);
  });

  it('refuses malformed registrations', () => {
    for (const bad of [
      '[]',
      'null',
      '{"podCidr":"x","serviceCidr":"10.96.0.0/12"}',
      '{"podCidr":"10.1.0.0/16"}',
    ])
      expect(() => decodePlan(bad)).toThrow(SyntaxError);
    expect(() => decodePlan(JSON.stringify({ ...A, vni: '10' }))).toThrow(/vni/);
    expect(() => decodePlan(JSON.stringify({ ...A, mesh: 'yes' }))).toThrow(/mesh/);
  });
});

describe('remote peer trust', () => {
  it('routes a remote node by the ID both claims give it and the subnet its plan gives that ID', () => {
    const nodes: [string, number][] = [
      ['b-node1', 2],
      ['b-node2', 3],
    ];
    const { peers, distrusted } = remotePeers(remoteB(nodes), sharedOf('b', nodes));
    expect(distrusted.size).toBe(0);
    expect(peers).toEqual([
      { name: 'b-node1@b', id: 2, tunnelEndpoint: '192.168.0.2', podSubnet: '10.2.2.0/24' },
      { name: 'b-node2@b', id: 3, tunnelEndpoint: '192.168.0.3', podSubnet: '10.2.3.0/24' },
    ]);
  });

  it('corrects a forged subnet, drops a node no store-wide claim backs', () => {
    const nodes: [string, number][] = [
      ['forger', 2],
      ['unbacked', 3],
    ];
    const remote = remoteB(nodes);
    (remote.infos as Map<string, NodeInfo>).set('forger', info('forger', 2, { podSubnet: '10.1.1.0/24' }));
    const shared = sharedOf('b', [['forger', 2]]);
    shared.set(3, 'a/someone-else'); // ID 3 is held by cluster a's node store-wide
    const { peers, distrusted } = remotePeers(remote, shared);
    expect(peers).toEqual([
      { name: 'forger@b', id: 2, tunnelEndpoint: '192.168.0.2', podSubnet: '10.2.2.0/24' },
    ]);
    expect(distrusted.get('forger')).toMatch(/podSubnet is 10\.1\.1\.0\/24, ID 2 implies 10\.2\.2\.0\/24/);
    expect(distrusted.get('unbacked')).toMatch(/no matching store-wide node-ids claim/);
  });

  it('renders tunnels and routes as for local peers, refusing our own ID or a subnet outside its pod CIDR', () => {
    const nodes: [string, number][] = [['b-node1', 2]];
    const { peers } = remotePeers(remoteB(nodes), sharedOf('b', nodes));
    const items = renderRemoteCluster(ctx, remoteB(nodes), peers);
    const tKey = tunnelKey(10, meshPeerName('b', 'b-node1'));
    expect(items).toEqual([
      {
        key: tKey,
        value: {
          vni: 10,
          vrf: 0,
          peer: 'b-node1@b',
          peerId: 2,
          remoteIp: '192.168.0.2',
          localIp: '192.168.0.1',
          port: 4789,
        },
      },
      {
        key: routeKey(0, '10.2.2.0/24'),
        value: {
          vrf: 0,
          dst: '10.2.2.0/24',
          via: { type: 'interface', interface: tKey, gateway: '10.2.2.1' },
        },
      },
    ]);
    // A peer claiming our ID, or a subnet outside cluster b's pod CIDR (ours), is never routed.
    const forged = [
      { ...peers[0]!, id: 1 },
      { ...peers[0]!, podSubnet: '10.1.9.0/24' },
      { ...peers[0]!, podSubnet: '0.0.0.0/0' },
    ];
    expect(renderRemoteCluster(ctx, remoteB(nodes), forged)).toEqual([]);
  });
});

describe('mesh source NAT', () => {
  it("leaves the meshed clusters' pod CIDRs alone, under the node's own key", () => {
    expect(renderMeshSnat(ctx, ['10.3.0.0/16', '10.2.0.0/16'])).toEqual([
      {
        key: snatKey(0, '10.1.1.0/24'),
        value: {
          vrf: 0,
          source: '10.1.1.0/24',
          except: ['10.1.0.0/16', '10.96.0.0/12', '10.2.0.0/16', '10.3.0.0/16'],
          toAddress: '',
        },
      },
    ]);
  });

  it("replaces the node's source NAT in the pipeline, and keeps it across resyncs", async () => {
    const resyncs: { key: string; value: unknown }[][] = [];
    const commits: Change[][] = [];
    const scheduler = {
      commit: (changes: Iterable<Change>): Promise<TxnRecord> => {
        commits.push([...changes]);
        return Promise.resolve({} as TxnRecord);
      },
      resync: (o: { desired?: { key: string; value: unknown }[] }): Promise<TxnRecord> => {
        resyncs.push(o.desired ?? []);
        return Promise.resolve({} as TxnRecord);
      },
    };
    const pipeline = new Pipeline({
      ctx,
      view: new ClusterView(),
      scheduler,
      attachments: [],
      subnetOf: () => undefined,
      gatewayOffset: 1,
      logger: silentLogger(),
    });
    const key = snatKey(0, '10.1.1.0/24');
    const snatIn = (items: { key: string; value: unknown }[]): unknown =>
      items.find((i) => i.key === key)?.value;
    await pipeline.resync(false, 'start');
    expect(snatIn(resyncs[0]!)).toMatchObject({ except: ['10.1.0.0/16', '10.96.0.0/12'] });
    await pipeline.setExtra('mesh-snat', renderMeshSnat(ctx, ['10.2.0.0/16']), 'mesh');
    expect(commits).toEqual([
      [{ key, value: expect.objectContaining({ except: ['10.1.0.0/16', '10.96.0.0/12', '10.2.0.0/16'] }) }],
    ]);
    expect(
      await pipeline.setExtra('mesh-snat', renderMeshSnat(ctx, ['10.2.0.0/16']), 'again'),
    ).toBeUndefined();
    await pipeline.resync(false, 'later');
    expect(snatIn(resyncs[1]!)).toMatchObject({ except: ['10.1.0.0/16', '10.96.0.0/12', '10.2.0.0/16'] });
    expect(resyncs[1]!.filter((i) => i.key === key)).toHaveLength(1);
  });
});
