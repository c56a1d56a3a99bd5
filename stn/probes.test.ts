// The watchdog's data-plane check against the fake VPP API server: healthy while it answers
// control_ping; a failure (naming why) when it is gone or hung; healthy again once a restarted
// VPP listens; one session kept between checks.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logging.ts';
import { fakeLab, type FakeLab } from '../agent/dataplane/vpp/testing/fake.ts';
import { vppApiProbe } from './probes.ts';

const check = (p: ReturnType<typeof vppApiProbe>): Promise<string | null> =>
  p.check(AbortSignal.timeout(5_000));

describe('vppApiProbe', () => {
  let lab: FakeLab | undefined;
  afterEach(async () => {
    await lab?.cleanup();
    lab = undefined;
  });

  it('answers null while VPP answers control_ping, with one session across checks', async () => {
    lab = await fakeLab();
    const server = await lab.start();
    const probe = vppApiProbe(lab.socketPath, silentLogger());
    try {
      expect(await check(probe)).toBeNull();
      expect(await check(probe)).toBeNull();
      expect(await check(probe)).toBeNull();
      expect(server.stats.connections).toBe(1);
    } finally {
      probe.close();
    }
  });

  it('fails while VPP is gone or hung, and recovers when a new VPP listens', async () => {
    lab = await fakeLab();
    let server = await lab.start();
    const probe = vppApiProbe(lab.socketPath, silentLogger());
    try {
      expect(await check(probe)).toBeNull();
      await server.stop();
      expect(await check(probe)).toMatch(/control_ping failed: .*ENOENT|control_ping failed: .*closed/);
      expect(await check(probe)).toMatch(/control_ping failed: .*ENOENT/);
      server = await lab.start();
      expect(await check(probe)).toBeNull();
      server.pause();
      const t0 = performance.now();
      expect(await check(probe)).toMatch(/control_ping failed: .*(timed out|no reply|within)/i);
      expect(performance.now() - t0).toBeLessThan(3_000);
      server.resume();
    } finally {
      probe.close();
    }
  });
});
