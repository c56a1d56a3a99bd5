// KSR's writes to Kubernetes, whatever the object: a merge patch whose preconditions may fail,
// and an Event. The narrow ports build the paths and bodies (kube/writer.ts: a Service's status;
// networks/kube.ts: a NAD's finalizers; netstatus/kube.ts: a pod's annotation); how the API
// server's answers are read is decided here once.
import { HttpMethod, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, kubeFetch } from './client.ts';

/** What every port's writes are made with. */
export interface KubeWriteOptions {
  /** Events' source and reporting component. */
  component: string;
  /** Events' reporting instance (the replica). */
  instance: string;
  /** Per request; default 30 s. */
  requestTimeoutMs?: number;
}

export const DEFAULT_WRITE_TIMEOUT_MS = 30_000;

/**
 * Sends a JSON merge patch. The 200 answer, its body unread; undefined when the object is gone
 * (404) or a precondition in the patch (uid, resourceVersion) failed (409): nothing to retry, the
 * object's next watch event says what is there now. Any other status throws KubeApiError.
 */
async function sendMergePatch(
  kc: KubeConfig,
  path: string,
  patch: object,
  timeoutMs: number,
): Promise<Response | undefined> {
  const res = await kubeFetch(kc, HttpMethod.PATCH, path, {
    body: JSON.stringify(patch),
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
  return res;
}

/** A merge patch (see sendMergePatch); the object as the API server now holds it. */
export async function mergePatch(
  kc: KubeConfig,
  path: string,
  patch: object,
  timeoutMs: number,
): Promise<object | undefined> {
  const res = await sendMergePatch(kc, path, patch, timeoutMs);
  return res === undefined ? undefined : ((await res.json()) as object);
}

/**
 * A merge patch (see sendMergePatch) whose answer is not wanted (a pod's is large): true when
 * written, false when the object is gone or was replaced.
 */
export async function mergePatchApplied(
  kc: KubeConfig,
  path: string,
  patch: object,
  timeoutMs: number,
): Promise<boolean> {
  const res = await sendMergePatch(kc, path, patch, timeoutMs);
  await res?.body?.cancel();
  return res !== undefined;
}

export interface KubeEvent {
  warning: boolean;
  reason: string;
  message: string;
}

/** The object an Event is about. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

const seg = encodeURIComponent;

/** Creates an Event about `obj` (Services for the allocator, NADs for the network registry). */
export async function postEvent(
  kc: KubeConfig,
  options: Pick<KubeWriteOptions, 'component' | 'instance'>,
  obj: InvolvedObject,
  e: KubeEvent,
  timeoutMs = DEFAULT_WRITE_TIMEOUT_MS,
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
