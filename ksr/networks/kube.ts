// The registry's writes to Kubernetes: the finalizer list of a NetworkAttachmentDefinition, and
// Events on it. RBAC mirrors this: network-attachment-definitions patch, events create.
import { HttpMethod, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, kubeFetch } from '../kube/client.ts';
import { postEvent, type KubeEvent } from '../kube/writer.ts';
import type { NadRef } from './plan.ts';

/** The narrow port the registry writes through (a fake in unit tests). */
export interface NadWriter {
  /**
   * Sets metadata.finalizers, provided the NAD is still at `resourceVersion` (else 409: the
   * next pass sees the newer object). Resolves with the NAD as the API server now holds it, or
   * undefined when it is gone or changed meanwhile.
   */
  setFinalizers(
    nad: NadRef & { resourceVersion: string },
    finalizers: readonly string[],
  ): Promise<object | undefined>;
  event(nad: NadRef, e: KubeEvent): Promise<void>;
}

const seg = encodeURIComponent;

export function createNadWriter(
  kc: KubeConfig,
  options: { component: string; instance: string; requestTimeoutMs?: number },
): NadWriter {
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  return {
    async setFinalizers(nad, finalizers) {
      const path = `/apis/k8s.cni.cncf.io/v1/namespaces/${seg(nad.namespace)}/network-attachment-definitions/${seg(nad.name)}`;
      // A merge patch replaces the list whole, so it carries the resourceVersion it was computed
      // from: another controller's finalizer added meanwhile is never dropped (409 instead).
      const body = JSON.stringify({
        metadata: { uid: nad.uid, resourceVersion: nad.resourceVersion, finalizers: [...finalizers] },
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
    event: (nad, e) =>
      postEvent(
        kc,
        options,
        { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', ...nad },
        e,
        timeoutMs,
      ),
  };
}
