import { describe, expect, it } from 'vitest';
import type { Service } from '../items/values.ts';
import type { Endpoints, Service as K8sService } from '../view/decode.ts';
import { testNodeContext } from './testing.ts';
import { renderService } from './services.ts';

const ctx = testNodeContext();

const svc = (over: Partial<K8sService> = {}): K8sService => ({
  namespace: 'default',
  name: 'web',
  labels: {},
  annotations: {},
  type: 'ClusterIP',
  clusterIps: ['10.96.0.10'],
  externalIps: [],
  loadBalancerIps: [],
  loadBalancerClass: '',
  selector: { app: 'web' },
  hasSelector: true,
  ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: null, nodePort: 0, appProtocol: '' }],
  sessionAffinity: 'None',
  sessionAffinityTimeoutSeconds: 0,
  externalTrafficPolicy: 'Cluster',
  internalTrafficPolicy: 'Cluster',
  healthCheckNodePort: 0,
  externalName: '',
  publishNotReadyAddresses: false,
  loadBalancerSourceRanges: [],
  ...over,
});

type Ep = { ip: string; node?: string; ready?: boolean; serving?: boolean; terminating?: boolean };
const eps = (
  subsets: { ports: { name: string; port: number; protocol?: string }[]; endpoints: Ep[] }[],
): Endpoints => ({
  namespace: 'default',
  service: 'web',
  subsets: subsets.map((s) => ({
    ports: s.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: s.endpoints.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node ?? 'n2',
      ready: e.ready ?? true,
      serving: e.serving ?? e.ready ?? true,
      terminating: e.terminating ?? false,
      pod: '',
      zone: '',
    })),
  })),
});

const values = (items: { key: string; value: unknown }[]): Service[] => items.map((i) => i.value as Service);
const keys = (items: { key: string }[]): string[] => items.map((i) => i.key);
const backends = (v: Service | undefined): string[] =>
  (v?.backends ?? []).map((b) => `${b.ip}:${b.port}${b.local ? '*' : ''}`);

const http8080 = (endpoints: Ep[]) => eps([{ ports: [{ name: 'http', port: 8080 }], endpoints }]);

describe('renderService', () => {
  it('a ClusterIP frontend per port, backends sorted, masquerade only from outside the pod CIDR, reject when empty', () => {
    const items = renderService(ctx, svc(), http8080([{ ip: '10.1.2.7' }, { ip: '10.1.1.5', node: 'n1' }]));
    expect(keys(items)).toEqual(['service/0/tcp/10.96.0.10/80']);
    expect(items[0]!.value).toEqual({
      namespace: 'default',
      name: 'web',
      portName: 'http',
      vrf: 0,
      kind: 'cluster-ip',
      vip: '10.96.0.10',
      protocol: 'TCP',
      port: 80,
      backends: [
        { ip: '10.1.1.5', port: 8080, weight: 1, local: true },
        { ip: '10.1.2.7', port: 8080, weight: 1, local: false },
      ],
      noBackends: 'reject',
      masqueradeOutside: ['10.1.0.0/16'],
      affinitySeconds: 0,
    });
    const empty = renderService(ctx, svc(), undefined);
    expect(values(empty)[0]).toMatchObject({ backends: [], noBackends: 'reject' });
  });

  it('resolves named target ports per subset (endpoints may use different numbers) and matches the protocol', () => {
    const e = eps([
      { ports: [{ name: 'http', port: 8080 }], endpoints: [{ ip: '10.1.2.7' }] },
      { ports: [{ name: 'http', port: 9090 }], endpoints: [{ ip: '10.1.3.9' }] },
      { ports: [{ name: 'http', port: 53, protocol: 'UDP' }], endpoints: [{ ip: '10.1.4.4' }] },
      { ports: [{ name: 'other', port: 7000 }], endpoints: [{ ip: '10.1.5.5' }] },
    ]);
    expect(backends(values(renderService(ctx, svc(), e))[0])).toEqual(['10.1.2.7:8080', '10.1.3.9:9090']);
  });

  it('every port and protocol (TCP, UDP, SCTP, default TCP); unknown protocols and bad ports are skipped', () => {
    const s = svc({
      ports: [
        { name: 'a', protocol: '', port: 80, targetPort: null, nodePort: 0, appProtocol: '' },
        { name: 'b', protocol: 'UDP', port: 53, targetPort: null, nodePort: 0, appProtocol: '' },
        { name: 'c', protocol: 'SCTP', port: 3868, targetPort: null, nodePort: 0, appProtocol: '' },
        { name: 'd', protocol: 'ICMP', port: 1, targetPort: null, nodePort: 0, appProtocol: '' },
        { name: 'e', protocol: 'TCP', port: 70_000, targetPort: null, nodePort: 0, appProtocol: '' },
      ],
    });
    expect(keys(renderService(ctx, s, undefined))).toEqual([
      'service/0/tcp/10.96.0.10/80',
      'service/0/udp/10.96.0.10/53',
      'service/0/sctp/10.96.0.10/3868',
    ]);
  });

  it('NodePort and LoadBalancer: node port, external IPs and ingress IPs as frontends; external traffic masqueraded', () => {
    const s = svc({
      type: 'LoadBalancer',
      externalIps: ['198.51.100.7'],
      loadBalancerIps: ['192.0.2.10'],
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: null, nodePort: 30080, appProtocol: '' },
      ],
    });
    const items = renderService(ctx, s, http8080([{ ip: '10.1.2.7' }]));
    expect(keys(items)).toEqual([
      'service/0/tcp/10.96.0.10/80',
      'service/0/tcp/198.51.100.7/80',
      'service/0/tcp/192.0.2.10/80',
      'service/0/tcp/node/30080',
    ]);
    expect(values(items).map((v) => [v.kind, v.masqueradeOutside, v.noBackends])).toEqual([
      ['cluster-ip', ['10.1.0.0/16'], 'reject'],
      ['external-ip', [], 'reject'],
      ['load-balancer', [], 'reject'],
      ['node-port', [], 'reject'],
    ]);
    // A ClusterIP Service with a nodePort field set (leftover) gets no node port.
    expect(
      keys(renderService(ctx, { ...s, type: 'ClusterIP', externalIps: [], loadBalancerIps: [] }, undefined)),
    ).toEqual(['service/0/tcp/10.96.0.10/80']);
  });

  it('externalTrafficPolicy Local: external frontends keep only local endpoints, the client address, and drop when none', () => {
    const s = svc({
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: null, nodePort: 30080, appProtocol: '' },
      ],
    });
    const items = values(
      renderService(ctx, s, http8080([{ ip: '10.1.2.7' }, { ip: '10.1.1.5', node: 'n1' }])),
    );
    expect(items.map((v) => [v.kind, backends(v), v.masqueradeOutside, v.noBackends])).toEqual([
      ['cluster-ip', ['10.1.1.5:8080*', '10.1.2.7:8080'], ['10.1.0.0/16'], 'reject'],
      ['node-port', ['10.1.1.5:8080*'], null, 'drop'],
    ]);
    const elsewhere = values(renderService(ctx, s, http8080([{ ip: '10.1.2.7' }])));
    expect(elsewhere[1]).toMatchObject({ backends: [], noBackends: 'drop' });
    // Clients inside the cluster are served by every endpoint, as kube-proxy does; the ClusterIP
    // has no such split.
    expect(items[0]!.inCluster).toBeUndefined();
    expect(items[1]!.inCluster?.sources).toEqual(['10.1.0.0/16']);
    expect(backends({ ...items[1]!, backends: items[1]!.inCluster!.backends })).toEqual([
      '10.1.1.5:8080*',
      '10.1.2.7:8080',
    ]);
    expect(elsewhere[1]!.inCluster?.backends.map((b) => b.ip)).toEqual(['10.1.2.7']);
    // Custom networks' pods are inside the cluster too.
    const withNets = values(renderService(ctx, s, http8080([{ ip: '10.1.2.7' }]), ['10.20.0.0/16']));
    expect(withNets[1]!.inCluster?.sources).toEqual(['10.1.0.0/16', '10.20.0.0/16']);
  });

  it('loadBalancerSourceRanges restrict the load-balancer IPs only; an unreadable list admits nobody', () => {
    const lb = (ranges: string[]): Service[] =>
      values(
        renderService(
          ctx,
          svc({
            type: 'LoadBalancer',
            externalIps: ['198.51.100.7'],
            loadBalancerIps: ['203.0.113.10'],
            loadBalancerSourceRanges: ranges,
            ports: [
              { name: 'http', protocol: 'TCP', port: 80, targetPort: null, nodePort: 30080, appProtocol: '' },
            ],
          }),
          http8080([{ ip: '10.1.2.7' }]),
        ),
      );
    const by = (list: Service[]): Record<string, string[] | undefined> =>
      Object.fromEntries(list.map((v) => [v.kind, v.sourceRanges]));
    expect(by(lb(['192.0.2.9/24', '198.51.100.0/25', '192.0.2.0/24']))).toEqual({
      'cluster-ip': undefined,
      'external-ip': undefined,
      'load-balancer': ['192.0.2.0/24', '198.51.100.0/25'],
      'node-port': undefined,
    });
    expect(by(lb([]))['load-balancer']).toBeUndefined();
    expect(by(lb(['not-a-cidr', '10.0.0.0/33']))['load-balancer']).toEqual([]);
    // Only IPv6 ranges: they restrict the IPv6 addresses, not the IPv4 ones (kube-proxy's reading).
    expect(by(lb(['2001:db8::/32']))['load-balancer']).toBeUndefined();
    expect(by(lb(['2001:db8::/32', 'junk', '192.0.2.0/24']))['load-balancer']).toEqual(['192.0.2.0/24']);
  });

  it('Local policies fall back to local serving+terminating endpoints even when other nodes have ready ones', () => {
    const mixed = http8080([
      { ip: '10.1.2.7', ready: true }, // ready, elsewhere
      { ip: '10.1.1.5', node: 'n1', ready: false, serving: true, terminating: true },
      { ip: '10.1.1.6', node: 'n1', ready: false, serving: false, terminating: true },
    ]);
    const [cluster] = values(renderService(ctx, svc({ internalTrafficPolicy: 'Local' }), mixed));
    expect(backends(cluster)).toEqual(['10.1.1.5:8080*']);
    // The Cluster policy prefers the ready one anywhere.
    expect(backends(values(renderService(ctx, svc(), mixed))[0])).toEqual(['10.1.2.7:8080']);
  });

  it("ignores Services meant for another proxy or labelled headless, as kube-proxy does; serves netloom's", () => {
    const e = http8080([{ ip: '10.1.2.7' }]);
    const with_ = (labels: Record<string, string>): string[] => keys(renderService(ctx, svc({ labels }), e));
    expect(with_({ 'service.kubernetes.io/service-proxy-name': 'foo-bar' })).toEqual([]);
    expect(with_({ 'service.kubernetes.io/service-proxy-name': '' })).toEqual([]);
    expect(with_({ 'service.kubernetes.io/headless': '' })).toEqual([]);
    expect(with_({ 'service.kubernetes.io/service-proxy-name': 'netloom' })).toEqual([
      'service/0/tcp/10.96.0.10/80',
    ]);
    expect(with_({ app: 'web' })).toEqual(['service/0/tcp/10.96.0.10/80']);
  });

  it('internalTrafficPolicy Local: the ClusterIP keeps only local endpoints and drops when none', () => {
    const s = svc({ internalTrafficPolicy: 'Local' });
    expect(values(renderService(ctx, s, http8080([{ ip: '10.1.2.7' }])))[0]).toMatchObject({
      backends: [],
      noBackends: 'drop',
      masqueradeOutside: null,
    });
    expect(
      backends(
        values(renderService(ctx, s, http8080([{ ip: '10.1.2.7' }, { ip: '10.1.1.5', node: 'n1' }])))[0],
      ),
    ).toEqual(['10.1.1.5:8080*']);
  });

  it('endpoint conditions: ready ones; when none is ready, serving+terminating ones; never not-serving ones', () => {
    const mixed = http8080([
      { ip: '10.1.2.1', ready: true },
      { ip: '10.1.2.2', ready: false, serving: true, terminating: true },
      { ip: '10.1.2.3', ready: false, serving: false },
    ]);
    expect(backends(values(renderService(ctx, svc(), mixed))[0])).toEqual(['10.1.2.1:8080']);
    const draining = http8080([
      { ip: '10.1.2.2', ready: false, serving: true, terminating: true },
      { ip: '10.1.2.3', ready: false, serving: false, terminating: true },
      { ip: '10.1.2.4', ready: false, serving: true, terminating: false },
    ]);
    expect(backends(values(renderService(ctx, svc(), draining))[0])).toEqual(['10.1.2.2:8080']);
  });

  it('ClientIP affinity with its timeout (default 3 h, at most a day)', () => {
    const at = (over: Partial<K8sService>): number =>
      values(renderService(ctx, svc(over), undefined))[0]!.affinitySeconds;
    expect(at({ sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 60 })).toBe(60);
    expect(at({ sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 0 })).toBe(10_800);
    expect(at({ sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 10 ** 9 })).toBe(86_400);
    expect(at({ sessionAffinity: 'None', sessionAffinityTimeoutSeconds: 60 })).toBe(0);
  });

  it('headless and ExternalName Services program nothing; a selector-less Service uses its hand-written endpoints', () => {
    expect(renderService(ctx, svc({ clusterIps: ['None'] }), http8080([{ ip: '10.1.2.7' }]))).toEqual([]);
    expect(
      renderService(
        ctx,
        svc({ type: 'ExternalName', clusterIps: [], externalName: 'example.org' }),
        undefined,
      ),
    ).toEqual([]);
    const manual = svc({ hasSelector: false, selector: {} });
    expect(backends(values(renderService(ctx, manual, http8080([{ ip: '192.168.50.4' }])))[0])).toEqual([
      '192.168.50.4:8080',
    ]);
  });

  it('skips malformed values a peer could have written (bad IPs, missing lists) and dedups an address seen twice', () => {
    const bad = {
      ...svc({ clusterIps: ['10.96.0.10', 'not-an-ip', '2001:db8::1'] }),
      ports: undefined,
    } as unknown as K8sService;
    expect(renderService(ctx, bad, undefined)).toEqual([]);
    const dup = eps([
      { ports: [{ name: 'http', port: 8080 }], endpoints: [{ ip: '10.1.2.7' }, { ip: 'x.y' }] },
      { ports: [{ name: 'http', port: 8080 }], endpoints: [{ ip: '10.1.2.7' }] },
    ]);
    expect(
      backends(values(renderService(ctx, svc({ clusterIps: ['10.96.0.10', 'bogus'] }), dup))[0]),
    ).toEqual(['10.1.2.7:8080']);
  });
});

describe('renderService with custom networks', () => {
  it("keeps the address of clients in the networks' subnets, as of the pod CIDR's", () => {
    const [v] = values(renderService(ctx, svc(), http8080([{ ip: '10.20.2.7' }]), ['10.20.0.0/16']));
    expect(v).toMatchObject({ masqueradeOutside: ['10.1.0.0/16', '10.20.0.0/16'] });
  });
});
