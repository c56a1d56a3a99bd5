// Synthetic Kubernetes objects for the KSR benchmark, shaped like what a real cluster lists
// (status, conditions, owner references and all), generated page by page so the source never
// holds them all: the reflector converts each page and drops it, as it does with a real list.
import type { K8sKind } from '../lib/keyspace.ts';

export interface Population {
  namespace: number;
  node: number;
  pod: number;
  service: number;
  /** EndpointSlices, one per service (10 endpoints each). */
  endpoints: number;
  policy: number;
}

/** 100,000 objects, mostly pods. */
export const HUNDRED_K: Population = {
  namespace: 1_000,
  node: 500,
  pod: 92_000,
  service: 3_000,
  endpoints: 3_000,
  policy: 500,
};

export function total(p: Population): number {
  return p.namespace + p.node + p.pod + p.service + p.endpoints + p.policy;
}

const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const uid = (i: number): string =>
  `${(0x1000_0000 + i).toString(16)}-7c1e-4d2a-9f3b-${i.toString(16).padStart(12, '0')}`;

export function pod(i: number, generation = 0): object {
  const app = `app-${i % 300}`;
  return {
    metadata: {
      namespace: `ns-${i % 1000}`,
      name: `${app}-7f9c8d6b5-${i.toString(36)}`,
      uid: uid(i),
      resourceVersion: String(1000 + i + generation),
      creationTimestamp: '2026-11-01T10:00:00Z',
      labels: {
        app,
        'pod-template-hash': '7f9c8d6b5',
        tier: i % 2 ? 'backend' : 'frontend',
        version: `v${generation}`,
      },
      annotations: {
        'kubectl.kubernetes.io/restartedAt': '2026-11-01T09:59:00Z',
        ...(i % 10 === 0 ? { 'k8s.v1.cni.cncf.io/networks': 'macvlan-conf' } : {}),
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${app}-7f9c8d6b5`,
          uid: uid(i + 1),
          controller: true,
        },
      ],
    },
    spec: {
      nodeName: `node-${i % 500}`,
      containers: [
        {
          name: 'app',
          image: `registry.example/${app}:1.2.3`,
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
          ],
          env: [{ name: 'MODE', value: 'production' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
        },
      ],
      serviceAccountName: 'default',
    },
    status: {
      phase: 'Running',
      podIP: ip(i),
      podIPs: [{ ip: ip(i) }],
      hostIP: `192.168.${(i % 500) >> 8}.${i % 256}`,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-11-01T10:00:05Z' }],
      containerStatuses: [
        { name: 'app', ready: true, restartCount: 0, image: `registry.example/${app}:1.2.3` },
      ],
    },
  };
}

function namespace(i: number): object {
  return {
    metadata: {
      name: `ns-${i}`,
      uid: uid(i),
      labels: { 'kubernetes.io/metadata.name': `ns-${i}`, team: `t${i % 20}` },
    },
    status: { phase: 'Active' },
  };
}

function node(i: number): object {
  return {
    metadata: {
      name: `node-${i}`,
      uid: uid(i),
      labels: {
        'kubernetes.io/hostname': `node-${i}`,
        'kubernetes.io/os': 'linux',
        'topology.kubernetes.io/zone': `z${i % 3}`,
      },
    },
    spec: { podCIDR: `10.${i >> 8}.${i & 255}.0/24`, podCIDRs: [`10.${i >> 8}.${i & 255}.0/24`] },
    status: {
      addresses: [
        { type: 'InternalIP', address: `192.168.${i >> 8}.${i & 255}` },
        { type: 'Hostname', address: `node-${i}` },
      ],
    },
  };
}

function service(i: number): object {
  return {
    metadata: {
      namespace: `ns-${i % 1000}`,
      name: `svc-${i}`,
      uid: uid(i),
      labels: { app: `app-${i % 300}` },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: `10.96.${i >> 8}.${i & 255}`,
      clusterIPs: [`10.96.${i >> 8}.${i & 255}`],
      selector: { app: `app-${i % 300}` },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' }],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    },
  };
}

function slice(i: number): object {
  return {
    metadata: {
      namespace: `ns-${i % 1000}`,
      name: `svc-${i}-abcde`,
      labels: { 'kubernetes.io/service-name': `svc-${i}` },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: 10 }, (_, j) => ({
      addresses: [ip(i * 10 + j)],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${(i + j) % 500}`,
      targetRef: { kind: 'Pod', namespace: `ns-${i % 1000}`, name: `p-${i * 10 + j}` },
    })),
  };
}

function policy(i: number): object {
  return {
    metadata: { namespace: `ns-${i % 1000}`, name: `pol-${i}` },
    spec: {
      podSelector: { matchLabels: { app: `app-${i % 300}` } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { role: 'client' } } },
            { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
          ],
          ports: [{ protocol: 'TCP', port: 8080 }],
        },
      ],
    },
  };
}

const MAKERS: Record<keyof Population, (i: number) => object> = {
  namespace,
  node,
  pod,
  service,
  endpoints: slice,
  policy,
};

/** Pages of raw objects per kind, in the order KSR's resources are listed. */
export function* pages(p: Population, pageSize = 500): Generator<{ kind: K8sKind; items: object[] }> {
  for (const kind of Object.keys(MAKERS) as (keyof Population)[]) {
    for (let start = 0; start < p[kind]; start += pageSize) {
      const end = Math.min(p[kind], start + pageSize);
      yield { kind, items: Array.from({ length: end - start }, (_, k) => MAKERS[kind](start + k)) };
    }
  }
}
