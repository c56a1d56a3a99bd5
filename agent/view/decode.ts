// Values in etcd are proto3 JSON with default values omitted; the view fills the top-level
// defaults so the rest of the agent reads `pod.labels` without `?? {}` everywhere.
import type { Endpoints__Output as Endpoints } from '../../proto/gen/netloom/model/v1/Endpoints.ts';
import type { Namespace__Output as Namespace } from '../../proto/gen/netloom/model/v1/Namespace.ts';
import type { NetworkAttachmentDefinition__Output as NetAttach } from '../../proto/gen/netloom/model/v1/NetworkAttachmentDefinition.ts';
import type { Network__Output as Network } from '../../proto/gen/netloom/model/v1/Network.ts';
import type { NetworkIdClaim__Output as NetworkIdClaim } from '../../proto/gen/netloom/model/v1/NetworkIdClaim.ts';
import type { Node__Output as K8sNode } from '../../proto/gen/netloom/model/v1/Node.ts';
import type { NodeInfo__Output as NodeInfo } from '../../proto/gen/netloom/model/v1/NodeInfo.ts';
import type { Pod__Output as Pod } from '../../proto/gen/netloom/model/v1/Pod.ts';
import type { Policy__Output as Policy } from '../../proto/gen/netloom/model/v1/Policy.ts';
import type { Service__Output as Service } from '../../proto/gen/netloom/model/v1/Service.ts';
import type { KsrStatus__Output as KsrStatus } from '../../proto/gen/netloom/model/v1/KsrStatus.ts';

export type {
  Endpoints,
  Namespace,
  NetAttach,
  Network,
  NetworkIdClaim,
  K8sNode,
  NodeInfo,
  Pod,
  Policy,
  Service,
  KsrStatus,
};

/**
 * Refuses a field of the wrong JSON type, for records the agent turns into routes and tunnels
 * (a peer's nodes/info): a string where an ID belongs must not reach arithmetic or an item.
 */
function typed<T extends object>(value: T, fields: Record<string, 'string' | 'uint'>, what: string): T {
  for (const [field, kind] of Object.entries(fields)) {
    const v = (value as Record<string, unknown>)[field];
    const ok = kind === 'string' ? typeof v === 'string' : Number.isSafeInteger(v) && (v as number) >= 0;
    if (!ok)
      throw new SyntaxError(
        `${what}: ${field} is not ${kind === 'string' ? 'a string' : 'a non-negative integer'}`,
      );
  }
  return value;
}

function withDefaults<T>(defaults: T, text: string): T {
  const parsed = JSON.parse(text) as Partial<T>;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new SyntaxError('not a JSON object');
  return { ...defaults, ...parsed };
}

export const decode = {
  namespace: (t: string): Namespace => withDefaults<Namespace>({ name: '', labels: {}, annotations: {} }, t),
  node: (t: string): K8sNode =>
    withDefaults<K8sNode>(
      { name: '', labels: {}, annotations: {}, addresses: [], podCidrs: [], unschedulable: false },
      t,
    ),
  pod: (t: string): Pod =>
    withDefaults<Pod>(
      {
        namespace: '',
        name: '',
        uid: '',
        labels: {},
        annotations: {},
        nodeName: '',
        hostNetwork: false,
        podIps: [],
        phase: '',
        containerPorts: [],
        terminating: false,
      },
      t,
    ),
  service: (t: string): Service =>
    withDefaults<Service>(
      {
        namespace: '',
        name: '',
        labels: {},
        annotations: {},
        type: '',
        clusterIps: [],
        externalIps: [],
        loadBalancerIps: [],
        loadBalancerClass: '',
        selector: {},
        hasSelector: false,
        ports: [],
        sessionAffinity: '',
        sessionAffinityTimeoutSeconds: 0,
        externalTrafficPolicy: '',
        internalTrafficPolicy: '',
        healthCheckNodePort: 0,
        externalName: '',
        publishNotReadyAddresses: false,
        loadBalancerSourceRanges: [],
      },
      t,
    ),
  endpoints: (t: string): Endpoints =>
    withDefaults<Endpoints>({ namespace: '', service: '', subsets: [] }, t),
  policy: (t: string): Policy =>
    withDefaults<Policy>(
      { namespace: '', name: '', podSelector: null, policyTypes: [], ingress: [], egress: [] },
      t,
    ),
  netattach: (t: string): NetAttach =>
    withDefaults<NetAttach>(
      { namespace: '', name: '', config: '', resourceName: '', annotations: {}, terminating: false },
      t,
    ),
  nodeInfo: (t: string): NodeInfo =>
    typed(
      withDefaults<NodeInfo>({ name: '', id: 0, managementIp: '', tunnelEndpoint: '', podSubnet: '' }, t),
      { name: 'string', id: 'uint', managementIp: 'string', tunnelEndpoint: 'string', podSubnet: 'string' },
      'nodes/info',
    ),
  network: (t: string): Network =>
    typed(
      withDefaults<Network>(
        { name: '', id: 0, subnets: [], vni: 0, nodePrefixLength: 0, gatewayOffset: 0, snat: false },
        t,
      ),
      { name: 'string', id: 'uint', vni: 'uint', nodePrefixLength: 'uint', gatewayOffset: 'uint' },
      'networks/',
    ),
  networkId: (t: string): NetworkIdClaim => withDefaults<NetworkIdClaim>({ network: '' }, t),
  ksrStatus: (t: string): KsrStatus =>
    withDefaults<KsrStatus>(
      { leader: '', lastFullSync: '', lastFullSyncRevision: '', counts: {}, heartbeat: '' },
      t,
    ),
};
