// The registry's writes to Kubernetes: the finalizer list of a NetworkAttachmentDefinition, and
// Events on it (through kube/write.ts). RBAC mirrors this: network-attachment-definitions patch,
// events create.
import type { KubeConfig } from '@kubernetes/client-node';
import {
  DEFAULT_WRITE_TIMEOUT_MS,
  mergePatch,
  postEvent,
  type KubeEvent,
  type KubeWriteOptions,
} from '../kube/write.ts';
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

export function createNadWriter(kc: KubeConfig, options: KubeWriteOptions): NadWriter {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
  return {
    setFinalizers: (nad, finalizers) =>
      // A merge patch replaces the list whole, so it carries the resourceVersion it was computed
      // from: another controller's finalizer added meanwhile is never dropped (409 instead).
      mergePatch(
        kc,
        `/apis/k8s.cni.cncf.io/v1/namespaces/${seg(nad.namespace)}/network-attachment-definitions/${seg(nad.name)}`,
        { metadata: { uid: nad.uid, resourceVersion: nad.resourceVersion, finalizers: [...finalizers] } },
        timeoutMs,
      ),
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
