// The listeners of the health-check node ports (./plan.ts says which and what they answer). One
// HTTP server per port on the node's addresses; update() opens the new ports, closes the ones no
// Service needs any more and changes answers in place. A port that cannot be opened (taken by
// another process) is logged once and tried again on every update and every few seconds: it is
// the load balancer's view of this node, not a reason to stop the agent.
import { createServer, type Server } from 'node:http';
import type { Logger } from '../../lib/logging.ts';
import { errorMessage } from '../../lib/errors.ts';
import { Gauge, type Registry } from '../../lib/metrics.ts';
import { healthAnswer, type HealthCheck } from './plan.ts';

const RETRY_MS = 5_000;

interface Listener {
  server?: Server;
  opening?: Promise<void>;
  failed?: string;
}

export interface HealthServersOptions {
  /** The address listened on ('0.0.0.0': every address of the node, as node ports are). */
  host: string;
  /** Whether the agent itself is fit to serve (its readiness): false answers 503 everywhere. */
  healthy: () => boolean;
  logger: Logger;
  registry?: Registry;
}

export class HealthCheckServers {
  private readonly opts: HealthServersOptions;
  private checks = new Map<number, HealthCheck>();
  private readonly listeners = new Map<number, Listener>();
  private readonly gauge: Gauge | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: HealthServersOptions) {
    this.opts = opts;
    this.gauge = opts.registry
      ? new Gauge({
          name: 'netloom_service_health_check_ports',
          help: 'Health-check node ports of LoadBalancer Services with the Local policy, by state',
          labelNames: ['state'],
          registers: [opts.registry],
        })
      : undefined;
  }

  /** The ports being answered now (listening), for status and tests. */
  listening(): number[] {
    return [...this.listeners].filter(([, l]) => l.server?.listening === true).map(([p]) => p);
  }

  /** Makes the listeners match `checks`. Resolves once every new port is open or has failed. */
  async update(checks: Map<number, HealthCheck>): Promise<void> {
    if (this.closed) return;
    this.checks = checks;
    const work: Promise<void>[] = [];
    for (const [port, l] of this.listeners) {
      if (checks.has(port)) continue;
      this.listeners.delete(port);
      if (l.server) work.push(closeServer(l.server));
    }
    for (const port of checks.keys()) work.push(this.open(port));
    await Promise.all(work);
    this.report();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map(async (l) => (await l.opening, l.server && closeServer(l.server))));
  }

  private open(port: number): Promise<void> {
    const l = this.listeners.get(port) ?? {};
    this.listeners.set(port, l);
    if (l.server?.listening) return Promise.resolve();
    if (l.opening) return l.opening;
    const server = createServer((req, res) => {
      const check = this.checks.get(port);
      if (!check) {
        res.writeHead(503).end();
        return;
      }
      const a = healthAnswer(check, this.opts.healthy());
      res.writeHead(a.status, {
        'Content-Type': 'application/json',
        'X-Content-Type-Options': 'nosniff',
        'X-Load-Balancing-Endpoint-Weight': String(check.localEndpoints),
      });
      res.end(a.body);
    });
    l.opening = new Promise<void>((resolve) => {
      const fail = (err: Error): void => {
        if (l.failed === undefined)
          this.opts.logger.warn(
            { port, err: errorMessage(err) },
            'health-check node port not opened; retrying',
          );
        l.failed = errorMessage(err);
        server.close();
        this.scheduleRetry();
        resolve();
      };
      server.once('error', fail);
      server.listen({ port, host: this.opts.host, exclusive: true }, () => {
        server.off('error', fail);
        // Later errors on an open server (a bad client) must not throw from the emitter.
        server.on('error', (err) =>
          this.opts.logger.warn({ port, err: errorMessage(err) }, 'health-check server'),
        );
        if (this.closed || this.listeners.get(port) !== l) {
          void closeServer(server);
        } else {
          if (l.failed !== undefined) this.opts.logger.info({ port }, 'health-check node port opened');
          l.server = server;
          delete l.failed;
        }
        resolve();
      });
    }).finally(() => delete l.opening);
    return l.opening;
  }

  private scheduleRetry(): void {
    if (this.retry || this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.update(this.checks);
    }, RETRY_MS);
    this.retry.unref();
  }

  private report(): void {
    if (!this.gauge) return;
    const open = this.listening().length;
    this.gauge.set({ state: 'listening' }, open);
    this.gauge.set({ state: 'failed' }, this.listeners.size - open);
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
