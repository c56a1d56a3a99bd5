// The Kubernetes side of KSR's I/O: paginated lists and watches of raw JSON. Authentication,
// TLS and the watch stream come from @kubernetes/client-node (KubeConfig, Watch); lists go
// through undici with the same request context, because client-node's typed lists deserialise
// whole objects into model classes and the reflector only needs a few fields of raw JSON.
import { HttpMethod, KubeConfig, RequestContext, Watch } from '@kubernetes/client-node';
import { fetch, type Response } from 'undici';
import { ConfigError, errorMessage, NetloomError } from '../../lib/errors.ts';

/** An HTTP error from the API server; `status` 410 means "relist", 404 "no such resource". */
export class KubeApiError extends NetloomError {
  readonly status: number;

  constructor(status: number, message: string) {
    super(`${status} ${message}`, { retriable: status >= 500 || status === 429 });
    this.status = status;
  }
}

export interface ListPage {
  items: unknown[];
  resourceVersion: string;
  continueToken: string | undefined;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchHandle {
  abort(): void;
}

export interface KubeClient {
  list(
    path: string,
    options: { limit: number; continueToken?: string | undefined; signal?: AbortSignal },
  ): Promise<ListPage>;
  /** Starts a watch; `done` is called exactly once when it ends (null: closed cleanly). */
  watch(
    path: string,
    query: Record<string, string>,
    onEvent: (type: WatchEventType, obj: Record<string, unknown>) => void,
    done: (err: unknown) => void,
  ): Promise<WatchHandle>;
}

interface RawList {
  items?: unknown[] | null;
  metadata?: { resourceVersion?: string; continue?: string };
}

export interface KubeRequest {
  query?: Record<string, string>;
  /** JSON text, sent with `contentType`. */
  body?: string;
  contentType?: string;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
}

/** One request to the API server, authenticated as the kubeconfig says. */
export async function kubeFetch(
  kc: KubeConfig,
  method: HttpMethod,
  path: string,
  r: KubeRequest,
): Promise<Response> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new NetloomError('kubeconfig has no current cluster');
  const url = new URL(cluster.server + path);
  for (const [k, v] of Object.entries(r.query ?? {})) url.searchParams.set(k, v);
  const ctx = new RequestContext(url.toString(), method);
  await kc.applySecurityAuthentication(ctx);
  const timeout = AbortSignal.timeout(r.timeoutMs);
  return fetch(url, {
    method,
    headers: {
      ...ctx.getHeaders(),
      accept: 'application/json',
      ...(r.contentType ? { 'content-type': r.contentType } : {}),
    },
    ...(r.body !== undefined ? { body: r.body } : {}),
    dispatcher: ctx.getDispatcher(),
    signal: r.signal ? AbortSignal.any([r.signal, timeout]) : timeout,
  });
}

export function createKubeClient(
  kc: KubeConfig,
  options: { requestTimeoutMs?: number; watchIdleMs?: number } = {},
): KubeClient {
  const watcher = new Watch(kc);
  // client-node aborts a watch with no bytes for this long (its own inactivity timer); keep it
  // above the reflector's watchdog so the watchdog, which is counted and logged, fires first.
  (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = options.watchIdleMs ?? 300_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 60_000;

  return {
    async list(path, { limit, continueToken, signal }) {
      const query: Record<string, string> = { limit: String(limit) };
      if (continueToken) query['continue'] = continueToken;
      const res = await kubeFetch(kc, HttpMethod.GET, path, { query, signal, timeoutMs: requestTimeoutMs });
      if (res.status !== 200) {
        const text = await res.text().catch(() => '');
        throw new KubeApiError(res.status, `GET ${path}: ${text.slice(0, 300)}`);
      }
      const body = (await res.json()) as RawList;
      return {
        items: body.items ?? [],
        resourceVersion: body.metadata?.resourceVersion ?? '',
        continueToken: body.metadata?.continue || undefined,
      };
    },

    async watch(path, query, onEvent, done) {
      const controller = await watcher.watch(
        path,
        query,
        (type: string, obj: Record<string, unknown>) => onEvent(type as WatchEventType, obj),
        done,
      );
      return { abort: () => controller.abort() };
    },
  };
}

/** The kubeconfig a KSR or a one-shot command uses: a file, in-cluster, or the default; one home. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else if (process.env['KUBERNETES_SERVICE_HOST']) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    throw new ConfigError(
      'kubeconfig',
      `cannot load ${path ?? 'the default kubeconfig'}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  if (!kc.getCurrentCluster()) throw new ConfigError('kubeconfig', 'no current cluster');
  return kc;
}
