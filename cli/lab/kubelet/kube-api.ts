// The node simulator's Kubernetes client: raw JSON over HTTPS with the lab's admin token and the
// API server's own serving cert as trust anchor, a keep-alive agent, every call bounded in time,
// and watches as a stream of JSON lines. Small on purpose: the simulator needs a dozen calls.
import { Agent, request } from 'node:https';
import { NetloomError } from '../../../lib/errors.ts';

export class KubeError extends NetloomError {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, reason: string, message: string) {
    super(`${status} ${reason}: ${message}`, { retriable: status >= 500 || status === 429 || status === 0 });
    this.status = status;
    this.reason = reason;
  }
}

export type WatchEvent = {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
};

export interface KubeApiOptions {
  server: string;
  token: string;
  ca?: Buffer;
  timeoutMs?: number;
}

export class KubeApi {
  private readonly opts: KubeApiOptions;
  private readonly agent: Agent;

  constructor(opts: KubeApiOptions) {
    this.opts = opts;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 16,
      ...(opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }),
    });
  }

  close(): void {
    this.agent.destroy();
  }

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        new URL(path, this.opts.server),
        {
          method,
          agent: this.agent,
          timeout: this.opts.timeoutMs ?? 15_000,
          headers: {
            authorization: `Bearer ${this.opts.token}`,
            accept: 'application/json',
            ...(payload !== undefined
              ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new KubeError(0, 'NetworkError', err.message)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: Record<string, unknown>;
            try {
              json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
            } catch {
              json = { message: text };
            }
            const status = res.statusCode ?? 0;
            const field = (name: string, dflt: string): string =>
              typeof json[name] === 'string' ? json[name] : dflt;
            if (status >= 200 && status < 300) resolve(json as T);
            else reject(new KubeError(status, field('reason', 'Error'), field('message', text)));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', (err) => reject(new KubeError(0, 'NetworkError', err.message)));
      req.end(payload);
    });
  }

  get<T = Record<string, unknown>>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /**
   * Watches `path` from `resourceVersion`; calls `onEvent` per event and resolves when the server
   * closes the stream (normal after its timeout) or rejects on an error. `signal` ends it.
   */
  watch(
    path: string,
    resourceVersion: string,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
    idleMs = 90_000,
  ): Promise<void> {
    const url = new URL(path, this.opts.server);
    url.searchParams.set('watch', '1');
    url.searchParams.set('resourceVersion', resourceVersion);
    url.searchParams.set('allowWatchBookmarks', 'true');
    url.searchParams.set('timeoutSeconds', '300');
    return new Promise<void>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'GET',
          agent: this.agent,
          signal,
          timeout: idleMs,
          headers: { authorization: `Bearer ${this.opts.token}`, accept: 'application/json' },
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new KubeError(res.statusCode ?? 0, 'WatchFailed', `watch ${path}`));
            return;
          }
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (line.trim() === '') continue;
              try {
                onEvent(JSON.parse(line) as WatchEvent);
              } catch (err) {
                req.destroy(err instanceof Error ? err : new Error(String(err)));
                return;
              }
            }
          });
          res.on('end', () => resolve());
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`watch ${path}: no data for ${idleMs} ms`)));
      req.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
      req.end();
    });
  }
}
