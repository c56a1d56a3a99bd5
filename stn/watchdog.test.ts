import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logging.ts';
import { Watchdog, type Probe } from './watchdog.ts';

function setup(opts: { grace?: number; threshold?: number; periodMs?: number } = {}) {
  let clock = 1_000;
  let healthy = true;
  const trips: string[] = [];
  const probe: Probe = { name: 'agent', check: () => Promise.resolve(healthy ? null : 'down') };
  const wd = new Watchdog({
    probes: [probe],
    intervalMs: 60_000, // ticks are driven by hand
    failureThreshold: opts.threshold ?? 3,
    failurePeriodMs: opts.periodMs ?? 0,
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
    expect(t.trips[0]).toMatch(/3 consecutive failed checks over 0 ms, last: agent: down/);
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

  describe('threshold: failures in a row over a period (the daemon defaults: 1 s, 10, 10 s)', () => {
    /**
     * Ticks every `intervalMs` on the fake clock for `forMs`; `healthyAt(t)` is the data plane's
     * state at time t. Answers when it tripped (ms after the start), or undefined.
     */
    async function timeline(
      healthyAt: (t: number) => boolean,
      forMs: number,
      o = { intervalMs: 1_000, threshold: 10, periodMs: 10_000 },
    ): Promise<{ trippedAt: number | undefined; maxConsecutive: number }> {
      const t = setup({ threshold: o.threshold, periodMs: o.periodMs });
      t.wd.arm();
      let maxConsecutive = 0;
      for (let at = 0; at <= forMs; at += o.intervalMs) {
        t.setHealthy(healthyAt(at));
        await t.wd.tick();
        maxConsecutive = Math.max(maxConsecutive, t.wd.status().consecutiveFailures ?? 0);
        if (t.trips.length > 0) return { trippedAt: at, maxConsecutive };
        t.advance(o.intervalMs);
      }
      return { trippedAt: undefined, maxConsecutive };
    }

    it('a data plane that dies for good: tripped 10 s after the first failed check', async () => {
      // healthy until 5 s, dead from then on: checks fail at 5, 6, … 15 s; 15 s is the 11th
      // failure and the first one 10 s after the first.
      const r = await timeline((at) => at < 5_000, 60_000);
      expect(r.trippedAt).toBe(15_000);
    });

    it('a data plane restart of 9 s (VPP restarted by its supervisor) does not trip', async () => {
      const r = await timeline((at) => at < 5_000 || at >= 14_000, 60_000);
      expect(r.trippedAt).toBeUndefined();
      expect(r.maxConsecutive).toBe(9);
    });

    it('failures that keep being interrupted by one healthy check never trip', async () => {
      const r = await timeline((at) => at % 8_000 === 0, 120_000);
      expect(r.trippedAt).toBeUndefined();
      expect(r.maxConsecutive).toBe(7);
    });

    it('a short interval does not shorten the period: 3 failures at 50 ms wait out 1 s', async () => {
      const r = await timeline((at) => at < 100, 5_000, { intervalMs: 50, threshold: 3, periodMs: 1_000 });
      // first failure at 100 ms; the count is reached at 200 ms, the period at 1,100 ms.
      expect(r.trippedAt).toBe(1_100);
    });

    it('slow checks do not shorten the count: 10 failures even when the period is long past', async () => {
      // A hung data plane makes each check wait for its timeout: one check every 5 s.
      const r = await timeline((at) => at === 0, 120_000, {
        intervalMs: 5_000,
        threshold: 10,
        periodMs: 10_000,
      });
      expect(r.trippedAt).toBe(50_000);
    });

    it('a healthy check resets the period as well as the count', async () => {
      const t = setup({ threshold: 2, periodMs: 1_000 });
      t.wd.arm();
      t.setHealthy(false);
      await t.wd.tick();
      t.advance(900);
      t.setHealthy(true);
      await t.wd.tick();
      t.setHealthy(false);
      t.advance(200);
      await t.wd.tick();
      t.advance(200);
      await t.wd.tick();
      expect(t.trips).toEqual([]);
      t.advance(800);
      await t.wd.tick();
      expect(t.trips[0]).toMatch(/3 consecutive failed checks over 1000 ms/);
    });
  });
});
