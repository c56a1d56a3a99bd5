import { describe, expect, it } from 'vitest';
import type { Endpoints, Service } from '../view/decode.ts';
import { healthAnswer, localReadyEndpoints, planHealthChecks } from './plan.ts';

const svc = (name: string, over: Partial<Service> = {}): [string, Service] => [
  `default/${name}`,
  {
    namespace: 'default',
    name,
    labels: {},
    annotations: {},
    type: 'LoadBalancer',
    clusterIps: ['10.96.0.10'],
    externalIps: [],
    loadBalancerIps: [],
    loadBalancerClass: '',
    selector: {},
    hasSelector: true,
    ports: [],
    sessionAffinity: '',
    sessionAffinityTimeoutSeconds: 0,
    externalTrafficPolicy: 'Local',
    internalTrafficPolicy: '',
    healthCheckNodePort: 32000,
    externalName: '',
    publishNotReadyAddresses: false,
    loadBalancerSourceRanges: [],
    ...over,
  },
];

type Ep = { ips: string[]; node: string; ready: boolean };
const eps = (...slices: Ep[][]): Endpoints => ({
  namespace: 'default',
  service: 'web',
  subsets: slices.map((list) => ({
    ports: [{ name: '', port: 8080, protocol: 'TCP' }],
    endpoints: list.map((e) => ({
      addresses: e.ips,
      nodeName: e.node,
      ready: e.ready,
      serving: true,
      terminating: !e.ready,
      pod: '',
      zone: '',
    })),
  })),
});

describe('health-check node ports: which, and what they say', () => {
  it('counts ready endpoints on this node only, each address once across slices', () => {
    const e = eps(
      [
        { ips: ['10.1.1.5'], node: 'n1', ready: true },
        { ips: ['10.1.1.6'], node: 'n1', ready: false }, // terminating: not counted
        { ips: ['10.1.2.5'], node: 'n2', ready: true },
      ],
      [{ ips: ['10.1.1.5', '10.1.1.7'], node: 'n1', ready: true }],
    );
    expect(localReadyEndpoints(e, 'n1')).toBe(2);
    expect(localReadyEndpoints(e, 'n2')).toBe(1);
    expect(localReadyEndpoints(e, 'n3')).toBe(0);
    expect(localReadyEndpoints(undefined, 'n1')).toBe(0);
  });

  it('only LoadBalancer Services with the Local policy and a valid port; the first by name keeps a shared port', () => {
    const plan = planHealthChecks(
      [
        svc('b-web', { healthCheckNodePort: 32001 }),
        svc('a-web', { healthCheckNodePort: 32001 }),
        svc('cluster', { externalTrafficPolicy: 'Cluster', healthCheckNodePort: 32002 }),
        svc('nodeport', { type: 'NodePort', healthCheckNodePort: 32003 }),
        svc('none', { healthCheckNodePort: 0 }),
        svc('junk', { healthCheckNodePort: 70_000 }),
        svc('ok', { healthCheckNodePort: 32004 }),
      ],
      (name) => (name === 'default/ok' ? eps([{ ips: ['10.1.1.5'], node: 'n1', ready: true }]) : undefined),
      'n1',
    );
    expect([...plan.values()]).toEqual([
      { port: 32001, namespace: 'default', name: 'a-web', localEndpoints: 0 },
      { port: 32004, namespace: 'default', name: 'ok', localEndpoints: 1 },
    ]);
  });

  it("answers 200 with a local endpoint and a healthy proxy, 503 otherwise, in kube-proxy's fields", () => {
    const check = { port: 32000, namespace: 'shop', name: 'web', localEndpoints: 2 };
    expect(healthAnswer(check, true)).toEqual({
      status: 200,
      body: '{"service":{"namespace":"shop","name":"web"},"localEndpoints":2,"serviceProxyHealthy":true}',
    });
    expect(healthAnswer({ ...check, localEndpoints: 0 }, true).status).toBe(503);
    expect(healthAnswer(check, false)).toEqual({
      status: 503,
      body: '{"service":{"namespace":"shop","name":"web"},"localEndpoints":2,"serviceProxyHealthy":false}',
    });
  });
});
