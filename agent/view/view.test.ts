import { describe, expect, it } from 'vitest';
import { Keyspace } from '../../lib/keyspace.ts';
import { ClusterView } from './view.ts';

const ks = new Keyspace('c1');
const put = (v: ClusterView, key: string, value: unknown) =>
  v.apply(ks.parse(ks.root + key), JSON.stringify(value));
const del = (v: ClusterView, key: string) => v.apply(ks.parse(ks.root + key), undefined);

describe('ClusterView', () => {
  it('fills proto3 defaults and reports old and new values', () => {
    const v = new ClusterView();
    const c1 = put(v, 'k8s/pod/default/web', { namespace: 'default', name: 'web', nodeName: 'n1' });
    expect(c1).toMatchObject({
      kind: 'pod',
      name: 'default/web',
      old: undefined,
      new: { labels: {}, podIps: [], nodeName: 'n1' },
    });
    const c2 = del(v, 'k8s/pod/default/web');
    expect(c2).toMatchObject({ kind: 'pod', old: { nodeName: 'n1' }, new: undefined });
  });

  it('indexes pods by node and by label, following moves and relabels', () => {
    const v = new ClusterView();
    put(v, 'k8s/pod/a/p1', { namespace: 'a', name: 'p1', nodeName: 'n1', labels: { app: 'web' } });
    put(v, 'k8s/pod/a/p2', { namespace: 'a', name: 'p2', nodeName: 'n1', labels: { app: 'db' } });
    expect([...v.podsOnNode('n1')]).toEqual(['a/p1', 'a/p2']);
    expect([...v.podsWithLabel('app', 'web')]).toEqual(['a/p1']);
    put(v, 'k8s/pod/a/p1', { namespace: 'a', name: 'p1', nodeName: 'n2', labels: { app: 'db' } });
    expect([...v.podsOnNode('n1')]).toEqual(['a/p2']);
    expect([...v.podsOnNode('n2')]).toEqual(['a/p1']);
    expect([...v.podsWithLabel('app', 'web')]).toEqual([]);
    expect([...v.podsWithLabel('app', 'db')].sort()).toEqual(['a/p1', 'a/p2']);
    del(v, 'k8s/pod/a/p2');
    expect([...v.podsOnNode('n1')]).toEqual([]);
  });

  it('keeps every family the agent reads', () => {
    const v = new ClusterView();
    put(v, 'k8s/namespace/a', { name: 'a', annotations: { 'opencontrail.org/isolation': 'true' } });
    put(v, 'k8s/node/n1', { name: 'n1', addresses: [{ type: 'InternalIP', address: '192.168.1.1' }] });
    put(v, 'k8s/service/a/s', { namespace: 'a', name: 's', clusterIps: ['10.96.0.10'] });
    put(v, 'k8s/endpoints/a/s', { namespace: 'a', service: 's' });
    put(v, 'k8s/policy/a/deny', { namespace: 'a', name: 'deny' });
    put(v, 'k8s/netattach/a/macvlan', { namespace: 'a', name: 'macvlan', config: '{}' });
    put(v, 'nodes/info/n1', { name: 'n1', id: 1, podSubnet: '10.1.1.0/24' });
    v.apply(ks.parse(ks.root + 'nodes/id/1'), 'n1');
    put(v, 'networks/default/blue', { name: 'default/blue', id: 5 });
    put(v, 'network-ids/5', { network: 'default/blue' });
    put(v, 'ksr/status', { leader: 'x', lastFullSync: '2025-01-01T00:00:00Z' });
    expect(v.namespaces.get('a')?.labels).toEqual({});
    expect(v.nodes.get('n1')?.podCidrs).toEqual([]);
    expect(v.services.get('a/s')?.ports).toEqual([]);
    expect(v.endpoints.get('a/s')?.subsets).toEqual([]);
    expect(v.policies.get('a/deny')?.ingress).toEqual([]);
    expect(v.netattachs.get('a/macvlan')?.config).toBe('{}');
    expect(v.nodeInfos.get('n1')?.tunnelEndpoint).toBe('');
    expect(v.nodeIds.get('1')).toBe('n1');
    expect([...v.idsOfNode('n1')]).toEqual(['1']);
    expect(v.networks.get('default/blue')?.subnets).toEqual([]);
    expect(v.networkIds.get('5')?.network).toBe('default/blue');
    expect(v.ksrStatus?.lastFullSync).toBe('2025-01-01T00:00:00Z');
    expect(v.apply(ks.parse(ks.root + 'ipam/n1/10.1.1.2'), '{}')).toBeUndefined();
    v.clear();
    expect(v.pods.size + v.nodes.size + v.nodeInfos.size).toBe(0);
    expect(v.ksrStatus).toBeUndefined();
  });

  it('throws on unreadable values (the watcher skips them)', () => {
    const v = new ClusterView();
    expect(() => v.apply(ks.parse(ks.root + 'k8s/pod/a/b'), 'not json')).toThrow();
    expect(() => v.apply(ks.parse(ks.root + 'k8s/pod/a/b'), '[1]')).toThrow('not a JSON object');
  });
});
