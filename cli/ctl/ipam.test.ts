// `netloom ctl ipam`'s verdicts from a snapshot: a record whose pod is gone is leaked only once
// KSR has completed a full sync (before that nothing is judged, as the agents judge nothing),
// and records are grouped per node in address order.
import { describe, expect, it } from 'vitest';
import { Keyspace } from '../../lib/keyspace.ts';
import { ClusterView } from '../../agent/view/view.ts';
import { ipamReport, ipamTable } from './ipam.ts';
import type { NodeIpamRecord, Snapshot } from './snapshot.ts';

const ks = new Keyspace('t');

function record(node: string, ip: string, pod: string): NodeIpamRecord {
  const entry = {
    namespace: 'default',
    pod,
    containerId: `c-${pod}`,
    ifname: 'eth0',
    network: '',
    netns: '',
    extra: false,
    mac: '',
  };
  return { node, ip, key: ks.key({ kind: 'ipam', node, ip }), entry, modRevision: 5 };
}

function snapshot(mirrorComplete: boolean): Snapshot {
  const view = new ClusterView();
  view.apply(
    { kind: 'pod', namespace: 'default', name: 'live' },
    JSON.stringify({ namespace: 'default', name: 'live', nodeName: 'n1' }),
  );
  view.apply(
    { kind: 'nodeInfo', name: 'n1' },
    JSON.stringify({ name: 'n1', id: 1, managementIp: '192.0.2.1', podSubnet: '10.1.1.0/24' }),
  );
  if (mirrorComplete)
    view.apply({ kind: 'ksrStatus' }, JSON.stringify({ leader: 'k', lastFullSync: '2026-01-01T00:00:00Z' }));
  return {
    revision: 9,
    view,
    ipam: [
      record('n1', '10.1.1.10', 'gone'),
      record('n1', '10.1.1.9', 'live'),
      record('n2', '10.1.2.3', 'gone'),
    ],
    unreadable: [],
  };
}

describe('ipamReport', () => {
  it('calls a record whose pod is gone leaked once the mirror is complete, per node, in address order', () => {
    const r = ipamReport(snapshot(true));
    expect(r.mirrorComplete).toBe(true);
    expect(r.nodes.map((n) => [n.node, n.podSubnet, n.allocated, n.leaked])).toEqual([
      ['n1', '10.1.1.0/24', 2, 1],
      ['n2', '', 1, 1],
    ]);
    expect(r.nodes[0]!.records.map((x) => [x.ip, x.pod, x.state])).toEqual([
      ['10.1.1.9', 'live', 'in use'],
      ['10.1.1.10', 'gone', 'leaked'],
    ]);
    expect(ipamReport(snapshot(true), 'n2').nodes.map((n) => n.node)).toEqual(['n2']);
  });

  it('judges nothing before KSR has completed a full sync, and says so under the table', () => {
    const r = ipamReport(snapshot(false));
    expect(r.nodes.flatMap((n) => n.records.map((x) => x.state))).toEqual([
      'unjudged',
      'unjudged',
      'unjudged',
    ]);
    expect(r.nodes.map((n) => n.leaked)).toEqual([0, 0]);
    const text = ipamTable(r);
    expect(text).toContain('leaks not judged: KSR has not finished a full sync');
    expect(text.split('\n')[0]).toMatch(/^NODE\s+IP\s+POD\s+INTERFACE\s+CONTAINER\s+STATE$/);
    expect(text).toContain('n1: 10.1.1.0/24, 2 allocated, 0 leaked');
  });
});
