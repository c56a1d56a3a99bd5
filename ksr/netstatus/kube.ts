// The network-status writer's one write to Kubernetes: a merge patch of one pod annotation
// (through kube/write.ts). RBAC mirrors this: pods patch.
import type { KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_WRITE_TIMEOUT_MS, mergePatchApplied } from '../kube/write.ts';

export interface PodRef {
  namespace: string;
  name: string;
  /** The pod written must still be this one (a pod recreated under the same name is not). */
  uid: string;
}

/** The narrow port the writer patches through (a fake in unit tests). */
export interface PodAnnotator {
  /**
   * Sets one annotation (null: removes it). Resolves true when written, false when the pod is
   * gone or was replaced (404, or 409 on the uid precondition): nothing to retry.
   */
  annotate(pod: PodRef, key: string, value: string | null): Promise<boolean>;
}

const seg = encodeURIComponent;

export function createPodAnnotator(
  kc: KubeConfig,
  options: { requestTimeoutMs?: number } = {},
): PodAnnotator {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
  return {
    annotate: (pod, key, value) =>
      // Only this annotation changes (a merge patch of metadata.annotations leaves the others);
      // the uid is a precondition.
      mergePatchApplied(
        kc,
        `/api/v1/namespaces/${seg(pod.namespace)}/pods/${seg(pod.name)}`,
        { metadata: { uid: pod.uid, annotations: { [key]: value } } },
        timeoutMs,
      ),
  };
}
