import { describe, expect, it } from 'vitest';
import { ConvertError, toJson } from './common.ts';
import { convertNamespace } from './namespace.ts';
import { convertNode } from './node.ts';
import { convertNetAttach } from './netattach.ts';

describe('convertNamespace', () => {
  it.each([
    [{ metadata: { name: 'default' } }, '{"name":"default"}'],
    [
      {
        metadata: {
          name: 'team-a',
          labels: { 'kubernetes.io/metadata.name': 'team-a', env: 'prod' },
          annotations: {
            'opencontrail.org/isolation': 'true',
            'opencontrail.org/isolation.service': 'false',
            'kubectl.kubernetes.io/last-applied-configuration': '{}',
          },
          resourceVersion: '12',
          uid: 'u',
        },
        status: { phase: 'Active' },
      },
      '{"name":"team-a","labels":{"env":"prod","kubernetes.io/metadata.name":"team-a"},"annotations":{"opencontrail.org/isolation":"true","opencontrail.org/isolation.service":"false"}}',
    ],
    [
      { metadata: { name: 'n', annotations: { 'netloom.io/note': 'ünïcødé 🚀 日本' } } },
      '{"name":"n","annotations":{"netloom.io/note":"ünïcødé 🚀 日本"}}',
    ],
  ])('%#', (obj, json) => {
    expect(toJson(convertNamespace(obj as never))).toBe(json);
  });

  it('rejects a namespace without a name', () => {
    expect(() => convertNamespace({ metadata: {} })).toThrow(ConvertError);
    expect(() => convertNamespace({})).toThrow(/without metadata.name/);
  });

  it('carries a huge label set, sorted', () => {
    const labels = Object.fromEntries(
      Array.from({ length: 2000 }, (_, i) => [`l${String(1999 - i).padStart(4, '0')}`, `v${i}`]),
    );
    const out = convertNamespace({ metadata: { name: 'big', labels } });
    const keys = Object.keys(out.labels ?? {});
    expect(keys).toHaveLength(2000);
    expect(keys).toEqual([...keys].sort());
  });
});

describe('convertNode', () => {
  it('keeps addresses in kubelet order, pod CIDRs and cordon state', () => {
    const node = {
      metadata: {
        name: 'worker-1',
        labels: { 'kubernetes.io/hostname': 'worker-1' },
        annotations: { 'netloom.io/tunnel-ip': '192.0.2.1', 'node.alpha.kubernetes.io/ttl': '0' },
      },
      spec: { podCIDR: '10.1.1.0/24', podCIDRs: ['10.1.1.0/24', 'fd00:1::/64'], unschedulable: true },
      status: {
        addresses: [
          { type: 'InternalIP', address: '192.168.1.10' },
          { type: 'Hostname', address: 'worker-1' },
          { type: 'ExternalIP', address: '203.0.113.5' },
        ],
      },
    };
    expect(toJson(convertNode(node as never))).toBe(
      '{"name":"worker-1","labels":{"kubernetes.io/hostname":"worker-1"},"annotations":{"netloom.io/tunnel-ip":"192.0.2.1"},' +
        '"addresses":[{"type":"InternalIP","address":"192.168.1.10"},{"type":"Hostname","address":"worker-1"},{"type":"ExternalIP","address":"203.0.113.5"}],' +
        '"podCidrs":["10.1.1.0/24","fd00:1::/64"],"unschedulable":true}',
    );
  });

  it('falls back to the single podCIDR and omits defaults', () => {
    expect(toJson(convertNode({ metadata: { name: 'n' }, spec: { podCIDR: '10.1.2.0/24' } }))).toBe(
      '{"name":"n","podCidrs":["10.1.2.0/24"]}',
    );
    expect(toJson(convertNode({ metadata: { name: 'n' }, spec: {}, status: {} }))).toBe('{"name":"n"}');
  });

  it('rejects an address without address', () => {
    expect(() =>
      convertNode({ metadata: { name: 'n' }, status: { addresses: [{ type: 'InternalIP' }] } } as never),
    ).toThrow(ConvertError);
  });
});

describe('convertNetAttach', () => {
  it('keeps the CNI config string verbatim and the resource name', () => {
    const config =
      '{"cniVersion":"1.0.0","type":"macvlan","master":"eth0","mode":"bridge","ipam":{"type":"host-local","subnet":"192.0.2.0/24"},"x":"ünï"}';
    const obj = {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: {
        namespace: 'a',
        name: 'macvlan-conf',
        annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov', other: 'x' },
      },
      spec: { config },
    };
    expect(JSON.parse(toJson(convertNetAttach(obj)))).toEqual({
      namespace: 'a',
      name: 'macvlan-conf',
      config,
      resourceName: 'intel.com/sriov',
    });
    expect(toJson(convertNetAttach(obj)).startsWith('{"namespace":"a","name":"macvlan-conf","config":')).toBe(
      true,
    );
  });

  it('accepts an empty spec and rejects a non-string config', () => {
    expect(toJson(convertNetAttach({ metadata: { namespace: 'a', name: 'b' } }))).toBe(
      '{"namespace":"a","name":"b"}',
    );
    expect(() =>
      convertNetAttach({ metadata: { namespace: 'a', name: 'b' }, spec: { config: { type: 'x' } as never } }),
    ).toThrow(ConvertError);
    expect(() => convertNetAttach({ metadata: { name: 'b' } })).toThrow(/namespace/);
  });

  it('carries the netloom and Contrail annotations (sorted) and whether it is being deleted', () => {
    const obj = {
      metadata: {
        namespace: 'a',
        name: 'red',
        deletionTimestamp: '2026-12-02T10:00:00Z',
        annotations: {
          'opencontrail.org/ip_fabric_snat': 'true',
          'opencontrail.org/cidr': '10.10.10.0/24',
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
          'netloom.io/x': 'y',
        },
      },
    };
    expect(toJson(convertNetAttach(obj))).toBe(
      '{"namespace":"a","name":"red","annotations":{"netloom.io/x":"y","opencontrail.org/cidr":"10.10.10.0/24",' +
        '"opencontrail.org/ip_fabric_snat":"true"},"terminating":true}',
    );
    expect(
      toJson(convertNetAttach({ metadata: { namespace: 'a', name: 'b', deletionTimestamp: null } })),
    ).toBe('{"namespace":"a","name":"b"}');
  });
});
