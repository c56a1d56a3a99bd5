// The Kubernetes resources KSR reflects: API path, whether it may be absent (a CRD), and the
// feed that turns its objects into keys.
import type { K8sKind } from '../lib/keyspace.ts';
import { convertNamespace } from './convert/namespace.ts';
import { convertNetAttach } from './convert/netattach.ts';
import { convertNode } from './convert/node.ts';
import { convertPod } from './convert/pod.ts';
import { convertPolicy } from './convert/policy.ts';
import { convertService } from './convert/service.ts';
import { EndpointsFeed, ObjectFeed, type Feed, type FeedDeps } from './feed.ts';

export interface ResourceDef {
  kind: K8sKind;
  path: string;
  optional: boolean;
  feed: (deps: FeedDeps) => Feed;
}

export const RESOURCES: readonly ResourceDef[] = [
  {
    kind: 'namespace',
    path: '/api/v1/namespaces',
    optional: false,
    feed: (d) => new ObjectFeed('namespace', convertNamespace, d),
  },
  {
    kind: 'node',
    path: '/api/v1/nodes',
    optional: false,
    feed: (d) => new ObjectFeed('node', convertNode, d),
  },
  { kind: 'pod', path: '/api/v1/pods', optional: false, feed: (d) => new ObjectFeed('pod', convertPod, d) },
  {
    kind: 'service',
    path: '/api/v1/services',
    optional: false,
    feed: (d) => new ObjectFeed('service', convertService, d),
  },
  {
    kind: 'endpoints',
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    optional: false,
    feed: (d) => new EndpointsFeed(d),
  },
  {
    kind: 'policy',
    path: '/apis/networking.k8s.io/v1/networkpolicies',
    optional: false,
    feed: (d) => new ObjectFeed('policy', convertPolicy, d),
  },
  {
    kind: 'netattach',
    path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions',
    optional: true,
    feed: (d) => new ObjectFeed('netattach', convertNetAttach, d),
  },
];
