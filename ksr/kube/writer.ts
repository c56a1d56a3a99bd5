// KSR's writes to Kubernetes for the LoadBalancer allocator: a Service's status.loadBalancer (the
// status subresource) and Events on a Service, through kube/write.ts (shared with the network
// registry's port, ksr/networks/kube.ts, and the network-status writer's, ksr/netstatus/kube.ts).
// Least privilege in RBAC mirrors these: services/status patch, events create.
import type { KubeConfig } from '@kubernetes/client-node';
import {
  DEFAULT_WRITE_TIMEOUT_MS,
  mergePatch,
  postEvent,
  type KubeEvent,
  type KubeWriteOptions,
} from './write.ts';

export interface ServiceRef {
  namespace: string;
  name: string;
  /** The object written must still be this one (a deleted and recreated service is not). */
  uid: string;
}

/** The narrow port the allocator writes through (a fake in unit tests). */
export interface KubeWriter {
  /**
   * Sets status.loadBalancer.ingress to these addresses (none: clears it). Resolves with the
   * service as the API server now holds it, or undefined when it is gone or was replaced.
   */
  setLoadBalancerStatus(ref: ServiceRef, ips: readonly string[]): Promise<object | undefined>;
  event(ref: ServiceRef, e: KubeEvent): Promise<void>;
}

const seg = encodeURIComponent;

export function createKubeWriter(kc: KubeConfig, options: KubeWriteOptions): KubeWriter {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
  return {
    setLoadBalancerStatus: (ref, ips) =>
      // A merge patch replaces the ingress list whole; the uid in it is a precondition (409 if
      // the service was recreated under the same name: the new one gets its own pass).
      mergePatch(
        kc,
        `/api/v1/namespaces/${seg(ref.namespace)}/services/${seg(ref.name)}/status`,
        {
          metadata: { uid: ref.uid },
          status: { loadBalancer: { ingress: ips.length > 0 ? ips.map((ip) => ({ ip })) : null } },
        },
        timeoutMs,
      ),

    event: (ref, e) => postEvent(kc, options, { apiVersion: 'v1', kind: 'Service', ...ref }, e, timeoutMs),
  };
}
