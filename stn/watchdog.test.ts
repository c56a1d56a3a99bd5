import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logging.ts';
import { Watchdog, type Probe } from './watchdog.ts';

function setup(opts: { grace?: number; threshold?: number } = {}) {
  let clock = 1_000;
  let healthy = true;
  const trips: string[] = [];
  const probe: Probe = { name: 'agent', check: () => Promise.resolve(healthy ? null : 'down') };
  const wd = new Watchdog({
    probes: [probe],
    intervalMs: 60_000, // ticks are driven by hand
    failureThreshold: opts.threshold ?? 3,
    graceMs: opts.grace ?? 0,
    onTrip: (reason) => {
      trips.push(reason);
      return Promise.resolve();
    },
    logger: silentLogger(),
    now: () => clock,
  });
  return {
    wd,
    trips,
    setHealthy: (h: boolean) => (healthy = h),
    advance: (ms: number) => (clock += ms),
  };
}

describe('Watchdog', () => {
  it('trips once after the threshold of consecutive failures and disarms', async () => {
    const t = setup();
    t.wd.arm();
    t.setHealthy(false);
    await t.wd.tick();
    await t.wd.tick();
    expect(t.trips).toEqual([]);
    expect(t.wd.status()).toMatchObject({
      enabled: true,
      consecutiveFailures: 2,
      failureThreshold: 3,
      lastError: 'agent: down',
    });
    await t.wd.tick();
    expect(t.trips).toHaveLength(1);
    expect(t.trips[0]).toMatch(/3 consecutive failed checks, last: agent: down/);
    expect(t.wd.armed).toBe(false);
    await t.wd.tick();
    expect(t.trips).toHaveLength(1);
  });

  it('resets the count on a healthy check', async () => {
    const t = setup();
    t.wd.arm();
    t.setHealthy(false);
    await t.wd.tick();
    await t.wd.tick();
    t.setHealthy(true);
    await t.wd.tick();
    expect(t.wd.status().consecutiveFailures).toBe(0);
    t.setHealthy(false);
    await t.wd.tick();
    await t.wd.tick();
    expect(t.trips).toEqual([]);
  });

  it('does not count failures during the start-up grace before the first healthy check', async () => {
    const t = setup({ grace: 10_000, threshold: 1 });
    t.wd.arm();
    t.setHealthy(false);
    await t.wd.tick();
    t.advance(9_000);
    await t.wd.tick();
    expect(t.trips).toEqual([]);
    t.advance(2_000);
    await t.wd.tick();
    expect(t.trips).toHaveLength(1);
  });

  it('ends the grace at the first healthy check', async () => {
    const t = setup({ grace: 10_000, threshold: 1 });
    t.wd.arm();
    await t.wd.tick();
    t.setHealthy(false);
    await t.wd.tick();
    expect(t.trips).toHaveLength(1);
  });

  it('turns a throwing probe into a failure and is disabled without probes', async () => {
    const trips: string[] = [];
    const wd = new Watchdog({
      probes: [{ name: 'x', check: () => Promise.reject(new Error('boom')) }],
      intervalMs: 60_000,
      failureThreshold: 1,
      graceMs: 0,
      logger: silentLogger(),
      onTrip: (r) => (trips.push(r), Promise.resolve()),
    });
    wd.arm();
    await wd.tick();
    expect(trips[0]).toMatch(/x: boom/);
    const none = new Watchdog({
      probes: [],
      intervalMs: 1_000,
      failureThreshold: 1,
      graceMs: 0,
      logger: silentLogger(),
      onTrip: () => Promise.resolve(),
    });
    none.arm();
    expect(none.armed).toBe(false);
    expect(none.status().enabled).toBe(false);
  });

  it('checks on its own timer once armed', async () => {
    let checks = 0;
    const wd = new Watchdog({
      probes: [{ name: 'x', check: () => (checks++, Promise.resolve(null)) }],
      intervalMs: 50,
      failureThreshold: 1,
      graceMs: 0,
      logger: silentLogger(),
      onTrip: () => Promise.resolve(),
    });
    wd.arm();
    await new Promise((r) => setTimeout(r, 300));
    wd.disarm();
    const seen = checks;
    expect(seen).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 150));
    expect(checks).toBe(seen);
  });
});
