// The network-status writer's one write to Kubernetes: a merge patch of one pod annotation.
// RBAC mirrors this: pods patch.
import { HttpMethod, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, kubeFetch } from '../kube/client.ts';

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
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  return {
    async annotate(pod, key, value) {
      const path = `/api/v1/namespaces/${seg(pod.namespace)}/pods/${seg(pod.name)}`;
      // Only this annotation changes (a merge patch of metadata.annotations leaves the others);
      // the uid is a precondition.
      const body = JSON.stringify({ metadata: { uid: pod.uid, annotations: { [key]: value } } });
      const res = await kubeFetch(kc, HttpMethod.PATCH, path, {
        body,
        contentType: 'application/merge-patch+json',
        timeoutMs,
      });
      if (res.status === 200 || res.status === 404 || res.status === 409) {
        await res.body?.cancel();
        return res.status === 200;
      }
      const text = await res.text().catch(() => '');
      throw new KubeApiError(res.status, `PATCH ${path}: ${text.slice(0, 300)}`);
    },
  };
}
