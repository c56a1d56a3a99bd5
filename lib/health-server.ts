// The tiny HTTP server every daemon runs: /livez (its loops are alive: lib/liveness.ts; 503
// with the reasons when one is dead or wedged, so the kubelet restarts it), /readyz (its own
// readiness checks all pass), /metrics (its prom-client registry), plus read-only JSON routes
// a daemon adds (the agent's API). Nothing here mutates state.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, rmSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logging.ts';
import { errorMessage } from './errors.ts';
import type { LivenessCheck } from './liveness.ts';

/** A readiness check: returns null when ready, or the reason it is not. */
export type ReadinessCheck = () => string | null;

/** A JSON route: returns the body to serialise, or undefined for 404. */
export type JsonRoute = (url: URL) => unknown;

export interface HealthServerOptions {
  /**
   * host:port (port 0 picks a free one), or `unix:/path` for a unix socket (reachable from other
   * network namespaces, as the lab's node agents are; a socket file left by a dead process is
   * replaced).
   */
  address: string;
  registry: Registry;
  logger: Logger;
  readiness?: Record<string, ReadinessCheck>;
  /** Every check null: /livez 200; else 503 naming each failing one. */
  liveness?: Record<string, LivenessCheck>;
  routes?: Record<string, JsonRoute>;
}

export interface HealthServer {
  readonly url: string;
  close(): Promise<void>;
}

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = i > 0 ? address.slice(0, i).replace(/^\[|\]$/g, '') : '127.0.0.1';
  const port = Number(i >= 0 ? address.slice(i + 1) : address);
  return { host, port: Number.isInteger(port) ? port : 0 };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function handle(opts: HealthServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'read-only\n');
  if (url.pathname === '/livez') return sendChecks(res, opts.liveness);
  if (url.pathname === '/readyz') return sendChecks(res, opts.readiness);
  if (url.pathname === '/metrics') {
    return send(res, 200, opts.registry.contentType, await opts.registry.metrics());
  }
  const route = opts.routes?.[url.pathname];
  const body = route?.(url);
  if (body === undefined) return send(res, 404, 'text/plain', 'not found\n');
  return send(
    res,
    200,
    'application/json',
    JSON.stringify(body, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n',
  );
}

/** 200 `ok` when every check passes, else 503 with one `name: reason` line per failing check. */
function sendChecks(res: ServerResponse, checks: Record<string, () => string | null> | undefined): void {
  const failing = Object.entries(checks ?? {})
    .map(([name, check]) => [name, check()] as const)
    .filter(([, reason]) => reason !== null);
  if (failing.length === 0) return send(res, 200, 'text/plain', 'ok\n');
  return send(res, 503, 'text/plain', failing.map(([n, r]) => `${n}: ${r}`).join('\n') + '\n');
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      opts.logger.warn({ err: errorMessage(err), path: req.url }, 'http handler failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
    });
  });
  if (opts.address.startsWith('unix:')) {
    const path = opts.address.slice('unix:'.length);
    if (await staleSocket(path)) rmSync(path, { force: true });
    await listen(server, (cb) => server.listen(path, cb));
    return { url: opts.address, close: () => closeServer(server) };
  }
  const { host, port } = splitAddress(opts.address);
  await listen(server, (cb) => server.listen(port, host, cb));
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: () => closeServer(server),
  };
}

function listen(server: Server, start: (cb: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    start(() => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A socket file nobody accepts on (its server died): safe to replace. */
function staleSocket(path: string): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const sock = connect(path);
    sock.once('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}
