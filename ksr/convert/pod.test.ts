import { describe, expect, it } from 'vitest';
import { ConvertError, toJson } from './common.ts';
import { convertPod } from './pod.ts';

const running = {
  metadata: {
    namespace: 'default',
    name: 'web-0',
    uid: '6f1c',
    resourceVersion: '991',
    labels: { app: 'web', 'pod-template-hash': 'abc' },
    annotations: {
      'k8s.v1.cni.cncf.io/networks': 'macvlan-conf',
      'k8s.v1.cni.cncf.io/network-status': '[]',
      'opencontrail.org/network': 'blue',
      'prometheus.io/scrape': 'true',
    },
    ownerReferences: [{ kind: 'StatefulSet', name: 'web' }],
  },
  spec: {
    nodeName: 'worker-1',
    containers: [
      {
        name: 'app',
        image: 'x',
        ports: [
          { name: 'http', containerPort: 8080, protocol: 'TCP' },
          { containerPort: 9090, protocol: 'UDP' },
        ],
      },
      { name: 'side', image: 'y', ports: [{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }] },
    ],
    initContainers: [
      { name: 'init', image: 'z', ports: [{ name: 'ignored', containerPort: 1, protocol: 'TCP' }] },
      {
        name: 'proxy',
        image: 'p',
        restartPolicy: 'Always',
        ports: [{ name: 'proxy', containerPort: 15001, protocol: 'TCP' }],
      },
    ],
  },
  status: {
    phase: 'Running',
    podIP: '10.1.1.5',
    podIPs: [{ ip: '10.1.1.5' }, { ip: 'fd00:1::5' }],
    conditions: [{ type: 'Ready', status: 'True' }],
  },
};

describe('convertPod', () => {
  it('keeps what a data plane needs, in proto field order', () => {
    expect(toJson(convertPod(running as never))).toBe(
      '{"namespace":"default","name":"web-0","uid":"6f1c","labels":{"app":"web","pod-template-hash":"abc"},' +
        '"annotations":{"k8s.v1.cni.cncf.io/networks":"macvlan-conf","opencontrail.org/network":"blue"},"nodeName":"worker-1",' +
        '"podIps":["10.1.1.5","fd00:1::5"],"phase":"Running","containerPorts":[{"name":"http","containerPort":8080,"protocol":"TCP"},' +
        '{"containerPort":9090,"protocol":"UDP"},{"name":"metrics","containerPort":9100,"protocol":"TCP"},{"name":"proxy","containerPort":15001,"protocol":"TCP"}]}',
    );
  });

  it('ignores status churn that does not matter to a data plane', () => {
    const later = structuredClone(running) as typeof running & { status: { conditions: unknown[] } };
    later.metadata.resourceVersion = '992';
    later.status.conditions = [{ type: 'Ready', status: 'False' }];
    expect(toJson(convertPod(later as never))).toBe(toJson(convertPod(running as never)));
  });

  it.each([
    [
      'pending, unscheduled',
      {
        metadata: { namespace: 'a', name: 'p' },
        spec: { containers: [{ name: 'c' }] },
        status: { phase: 'Pending' },
      },
      '{"namespace":"a","name":"p","phase":"Pending"}',
    ],
    [
      'host network',
      {
        metadata: { namespace: 'a', name: 'h' },
        spec: { hostNetwork: true, nodeName: 'n1', containers: [] },
        status: { podIP: '192.168.1.10' },
      },
      '{"namespace":"a","name":"h","nodeName":"n1","hostNetwork":true,"podIps":["192.168.1.10"]}',
    ],
    [
      'terminating',
      {
        metadata: { namespace: 'a', name: 't', deletionTimestamp: '2026-01-01T00:00:00Z' },
        spec: {},
        status: { phase: 'Running' },
      },
      '{"namespace":"a","name":"t","phase":"Running","terminating":true}',
    ],
    [
      'terminating (client model Date)',
      { metadata: { namespace: 'a', name: 't', deletionTimestamp: new Date(0) }, spec: {} },
      '{"namespace":"a","name":"t","terminating":true}',
    ],
    [
      'unicode name',
      { metadata: { namespace: 'ns-ü', name: 'pöd-日本' }, spec: {} },
      '{"namespace":"ns-ü","name":"pöd-日本"}',
    ],
  ])('%s', (_, obj, json) => {
    expect(toJson(convertPod(obj as never))).toBe(json);
  });

  it('rejects what it cannot represent', () => {
    expect(() => convertPod({ metadata: { name: 'x' } })).toThrow(/namespace/);
    expect(() =>
      convertPod({
        metadata: { namespace: 'a', name: 'x' },
        spec: { containers: [{ name: 'c', ports: [{ name: 'p' }] }] },
      } as never),
    ).toThrow(ConvertError);
    expect(() => convertPod({ metadata: { namespace: 'a', name: 'x', labels: { a: 5 } } } as never)).toThrow(
      ConvertError,
    );
  });
});
