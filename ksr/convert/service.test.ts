import { describe, expect, it } from 'vitest';
import { ConvertError, toJson } from './common.ts';
import { convertService } from './service.ts';

const meta = { namespace: 'default', name: 'svc' };

describe('convertService', () => {
  it.each([
    [
      'ClusterIP with a named target port',
      {
        metadata: meta,
        spec: {
          type: 'ClusterIP',
          clusterIP: '10.96.0.10',
          clusterIPs: ['10.96.0.10'],
          selector: { app: 'web' },
          ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' }],
          sessionAffinity: 'None',
          internalTrafficPolicy: 'Cluster',
          ipFamilies: ['IPv4'],
        },
      },
      '{"namespace":"default","name":"svc","type":"ClusterIP","clusterIps":["10.96.0.10"],"selector":{"app":"web"},"hasSelector":true,"ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":{"name":"http"}}],"sessionAffinity":"None","internalTrafficPolicy":"Cluster"}',
    ],
    [
      'headless',
      {
        metadata: meta,
        spec: {
          type: 'ClusterIP',
          clusterIP: 'None',
          clusterIPs: ['None'],
          selector: { app: 'db' },
          ports: [{ port: 5432, targetPort: 5432, protocol: 'TCP' }],
          publishNotReadyAddresses: true,
        },
      },
      '{"namespace":"default","name":"svc","type":"ClusterIP","clusterIps":["None"],"selector":{"app":"db"},"hasSelector":true,"ports":[{"protocol":"TCP","port":5432,"targetPort":{"number":5432}}],"publishNotReadyAddresses":true}',
    ],
    [
      'without selector',
      {
        metadata: meta,
        spec: {
          type: 'ClusterIP',
          clusterIP: '10.96.0.11',
          ports: [{ port: 443, targetPort: 8443, protocol: 'TCP' }],
        },
      },
      '{"namespace":"default","name":"svc","type":"ClusterIP","clusterIps":["10.96.0.11"],"ports":[{"protocol":"TCP","port":443,"targetPort":{"number":8443}}]}',
    ],
    [
      'LoadBalancer, dual stack, affinity, local traffic',
      {
        metadata: {
          ...meta,
          annotations: { 'netloom.io/lb-pool': 'public', 'service.beta.kubernetes.io/aws': 'x' },
          labels: { app: 'web' },
        },
        spec: {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.12',
          clusterIPs: ['10.96.0.12', 'fd00:96::12'],
          externalIPs: ['198.51.100.7'],
          loadBalancerClass: 'netloom.io/lb',
          selector: { app: 'web' },
          ports: [
            {
              name: 'https',
              protocol: 'TCP',
              port: 443,
              targetPort: 8443,
              nodePort: 30443,
              appProtocol: 'https',
            },
          ],
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
          externalTrafficPolicy: 'Local',
          healthCheckNodePort: 32000,
        },
        status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }, { hostname: 'lb.example' }] } },
      },
      '{"namespace":"default","name":"svc","labels":{"app":"web"},"annotations":{"netloom.io/lb-pool":"public"},"type":"LoadBalancer","clusterIps":["10.96.0.12","fd00:96::12"],' +
        '"externalIps":["198.51.100.7"],"loadBalancerIps":["203.0.113.10"],"loadBalancerClass":"netloom.io/lb","selector":{"app":"web"},"hasSelector":true,' +
        '"ports":[{"name":"https","protocol":"TCP","port":443,"targetPort":{"number":8443},"nodePort":30443,"appProtocol":"https"}],"sessionAffinity":"ClientIP",' +
        '"sessionAffinityTimeoutSeconds":600,"externalTrafficPolicy":"Local","healthCheckNodePort":32000}',
    ],
    [
      'LoadBalancer with source ranges in the field (the annotation is then ignored)',
      {
        metadata: {
          ...meta,
          annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '192.0.2.0/24' },
        },
        spec: {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.14',
          ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }],
          loadBalancerSourceRanges: ['198.51.100.0/24', '203.0.113.7/32'],
        },
      },
      '{"namespace":"default","name":"svc","type":"LoadBalancer","clusterIps":["10.96.0.14"],"ports":[{"protocol":"TCP","port":80,"nodePort":30080}],' +
        '"loadBalancerSourceRanges":["198.51.100.0/24","203.0.113.7/32"]}',
    ],
    [
      'LoadBalancer with source ranges in the annotation only',
      {
        metadata: {
          ...meta,
          annotations: {
            'service.beta.kubernetes.io/load-balancer-source-ranges': ' 192.0.2.0/24 ,, not-a-cidr',
          },
        },
        spec: { type: 'LoadBalancer', clusterIP: '10.96.0.15', ports: [{ port: 80, protocol: 'TCP' }] },
      },
      '{"namespace":"default","name":"svc","type":"LoadBalancer","clusterIps":["10.96.0.15"],"ports":[{"protocol":"TCP","port":80}],' +
        '"loadBalancerSourceRanges":["192.0.2.0/24","not-a-cidr"]}',
    ],
    [
      'ExternalName',
      { metadata: meta, spec: { type: 'ExternalName', externalName: 'db.example.com' } },
      '{"namespace":"default","name":"svc","type":"ExternalName","externalName":"db.example.com"}',
    ],
    [
      'clusterIP only (old object)',
      { metadata: meta, spec: { clusterIP: '10.96.0.13', ports: [] } },
      '{"namespace":"default","name":"svc","clusterIps":["10.96.0.13"]}',
    ],
  ])('%s', (_, obj, json) => {
    expect(toJson(convertService(obj as never))).toBe(json);
  });

  it('rejects ports without a port number', () => {
    expect(() => convertService({ metadata: meta, spec: { ports: [{ name: 'x' }] } } as never)).toThrow(
      ConvertError,
    );
    expect(() =>
      convertService({ metadata: meta, spec: { ports: [{ port: 80, targetPort: { x: 1 } }] } } as never),
    ).toThrow(/targetPort/);
  });
});
