// Small HTTP(S) GETs for readiness probes and status: over TCP, TLS (the lab's own self-signed
// API server; netloom's etcd, which wants a client certificate) or a unix socket (an agent's API
// inside its node namespace). Bounded in time.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface GetOptions {
  /** Unix socket to send the request over (the URL's host is then only the Host header). */
  socketPath?: string;
  token?: string;
  ca?: Buffer;
  /** A client certificate and key (PEM), for a server that asks for one. */
  cert?: Buffer;
  key?: Buffer;
  timeoutMs?: number;
}

export interface GetResult {
  status: number;
  body: string;
}

export function get(url: string, opts: GetOptions = {}): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(
      u,
      {
        method: 'GET',
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
        ...(opts.socketPath ? { socketPath: opts.socketPath } : {}),
        ...(u.protocol === 'https:' ? (opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }) : {}),
        ...(opts.cert && opts.key ? { cert: opts.cert, key: opts.key } : {}),
        timeout: opts.timeoutMs ?? 2_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** True when GET answers 200 (any error or other status is false). */
export async function ok200(url: string, opts: GetOptions = {}): Promise<boolean> {
  try {
    return (await get(url, opts)).status === 200;
  } catch {
    return false;
  }
}
