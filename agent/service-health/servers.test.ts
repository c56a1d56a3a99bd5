// The listeners against real sockets on loopback: open, answer, change in place, close, and a
// port taken by someone else retried until it frees up.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging.ts';
import { Registry } from '../../lib/metrics.ts';
import { sleep } from '../../lib/timing.ts';
import type { HealthCheck } from './plan.ts';
import { HealthCheckServers } from './servers.ts';

/** Ports the kernel hands out now (bound, then released), so runs never collide. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const check = (port: number, localEndpoints: number): HealthCheck => ({
  port,
  namespace: 'default',
  name: `svc-${port}`,
  localEndpoints,
});
const get = async (port: number): Promise<{ status: number; body: unknown; weight: string | null }> => {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`);
  return {
    status: r.status,
    body: await r.json(),
    weight: r.headers.get('x-load-balancing-endpoint-weight'),
  };
};

let servers: HealthCheckServers | undefined;
afterEach(async () => {
  await servers?.close();
});

describe('health-check node port listeners', () => {
  it('opens, answers, changes answers in place, and closes ports no Service needs', async () => {
    const [a, b] = await freePorts(2);
    let healthy = true;
    const registry = new Registry();
    servers = new HealthCheckServers({
      host: '127.0.0.1',
      healthy: () => healthy,
      logger: silentLogger(),
      registry,
    });
    await servers.update(
      new Map([
        [a!, check(a!, 2)],
        [b!, check(b!, 0)],
      ]),
    );
    expect(servers.listening().sort()).toEqual([a, b].sort());
    expect(await get(a!)).toEqual({
      status: 200,
      body: {
        service: { namespace: 'default', name: `svc-${a}` },
        localEndpoints: 2,
        serviceProxyHealthy: true,
      },
      weight: '2',
    });
    expect((await get(b!)).status).toBe(503);
    healthy = false;
    expect((await get(a!)).status).toBe(503);
    healthy = true;
    await servers.update(new Map([[b!, check(b!, 1)]]));
    expect(servers.listening()).toEqual([b]);
    expect((await get(b!)).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${a}/`)).rejects.toThrow();
    expect(await registry.getSingleMetricAsString('netloom_service_health_check_ports')).toContain(
      'netloom_service_health_check_ports{state="listening"} 1',
    );
  });

  it('a port held by another process is retried, not fatal, and answered once it is free', async () => {
    const [port] = await freePorts(1);
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', () => r()));
    servers = new HealthCheckServers({ host: '127.0.0.1', healthy: () => true, logger: silentLogger() });
    await servers.update(new Map([[port!, check(port!, 1)]]));
    expect(servers.listening()).toEqual([]);
    await new Promise((r) => squatter.close(r));
    // The next update (any view change) tries again; the timer would too, within seconds.
    await servers.update(new Map([[port!, check(port!, 1)]]));
    expect(servers.listening()).toEqual([port]);
    expect((await get(port!)).status).toBe(200);
  });

  it('closes everything on close, and ignores updates after it', async () => {
    const [port] = await freePorts(1);
    servers = new HealthCheckServers({ host: '127.0.0.1', healthy: () => true, logger: silentLogger() });
    await servers.update(new Map([[port!, check(port!, 1)]]));
    await servers.close();
    await servers.update(new Map([[port!, check(port!, 1)]]));
    expect(servers.listening()).toEqual([]);
    await sleep(10);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});
