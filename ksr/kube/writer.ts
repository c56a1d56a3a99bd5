// KSR's writes to Kubernetes for the LoadBalancer allocator: a Service's status.loadBalancer (the
// status subresource) and Events on a Service. `postEvent` is shared with the network registry
// (Events on NetworkAttachmentDefinitions, ksr/networks/kube.ts); the network-status writer has
// its own port (ksr/netstatus/kube.ts). Least privilege in RBAC mirrors these: services/status
// patch, events create.
import { HttpMethod, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, kubeFetch } from './client.ts';

export interface ServiceRef {
  namespace: string;
  name: string;
  /** The object written must still be this one (a deleted and recreated service is not). */
  uid: string;
}

export interface KubeEvent {
  warning: boolean;
  reason: string;
  message: string;
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

export function createKubeWriter(
  kc: KubeConfig,
  options: { component: string; instance: string; requestTimeoutMs?: number },
): KubeWriter {
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  return {
    async setLoadBalancerStatus(ref, ips) {
      const path = `/api/v1/namespaces/${seg(ref.namespace)}/services/${seg(ref.name)}/status`;
      // A merge patch replaces the ingress list whole; the uid in it is a precondition (409 if
      // the service was recreated under the same name: the new one gets its own pass).
      const body = JSON.stringify({
        metadata: { uid: ref.uid },
        status: { loadBalancer: { ingress: ips.length > 0 ? ips.map((ip) => ({ ip })) : null } },
      });
      const res = await kubeFetch(kc, HttpMethod.PATCH, path, {
        body,
        contentType: 'application/merge-patch+json',
        timeoutMs,
      });
      if (res.status === 404 || res.status === 409) {
        await res.body?.cancel();
        return undefined;
      }
      if (res.status !== 200) {
        const text = await res.text().catch(() => '');
        throw new KubeApiError(res.status, `PATCH ${path}: ${text.slice(0, 300)}`);
      }
      return (await res.json()) as object;
    },

    event: (ref, e) => postEvent(kc, options, { apiVersion: 'v1', kind: 'Service', ...ref }, e, timeoutMs),
  };
}

/** The object an Event is about. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

/** Creates an Event about `obj` (Services here; NetworkAttachmentDefinitions for the network registry). */
export async function postEvent(
  kc: KubeConfig,
  options: { component: string; instance: string },
  obj: InvolvedObject,
  e: KubeEvent,
  timeoutMs = 30_000,
): Promise<void> {
  const path = `/api/v1/namespaces/${seg(obj.namespace)}/events`;
  const now = new Date().toISOString();
  const body = JSON.stringify({
    metadata: { generateName: `${obj.name}.`, namespace: obj.namespace },
    involvedObject: obj,
    type: e.warning ? 'Warning' : 'Normal',
    reason: e.reason,
    message: e.message,
    source: { component: options.component },
    reportingComponent: options.component,
    reportingInstance: options.instance,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  });
  const res = await kubeFetch(kc, HttpMethod.POST, path, {
    body,
    contentType: 'application/json',
    timeoutMs,
  });
  if (res.status !== 201 && res.status !== 200) {
    const text = await res.text().catch(() => '');
    throw new KubeApiError(res.status, `POST ${path}: ${text.slice(0, 300)}`);
  }
  await res.body?.cancel();
}
