// kill -9 the STN daemon (a real child process) between every step of a steal and of a
// release, restart it, and check the NIC ends fully stolen or fully restored — never half.
// Steals use unbind, so the vfio-pci rebinding (fake sysfs) is among the steps. The daemon's
// --debug-step-pause-ms holds it after each step long enough for the test to kill it there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StnClient } from '../stn/client.ts';
import { netnsAvailable, skipUnless } from './harness/availability.ts';
import { KERNEL_DRIVER, NIC, PCI, StnLab, type IpView, type StnDaemonProcess } from './stn-lab.ts';

const skip = skipUnless('STN crash tests', netnsAvailable());
const STEAL_STEPS = ['record', 'routes', 'addresses', 'link-down', 'verify', 'bind-vfio', 'commit'];
const RELEASE_STEPS = ['record', 'rebind', 'link', 'addresses', 'routes', 'verify', 'forget'];
const PAUSE_MS = 400;

type Outcome = 'stolen' | 'restored';

describe.skipIf(skip)('STN daemon killed with SIGKILL mid-operation', () => {
  const lab = new StnLab();
  let baseline: IpView;
  const outcomes: string[] = [];
  let run = 0;

  beforeAll(async () => {
    await lab.setup();
    baseline = lab.view();
  });

  afterAll(async () => {
    if (outcomes.length) console.log(`crash outcomes:\n  ${outcomes.join('\n  ')}`);
    await lab.cleanup();
  });

  async function withDaemon<T>(
    flags: Record<string, string | number>,
    fn: (d: StnDaemonProcess, c: StnClient) => Promise<T>,
  ): Promise<T> {
    const d = await lab.daemon(`stn-${run++}`, flags).start();
    const c = new StnClient({ socket: lab.socket, callTimeoutMs: 30_000 });
    try {
      return await fn(d, c);
    } finally {
      c.close();
      await d.proc.stop();
    }
  }

  /** Fully stolen or fully restored, else the test fails with what is half-done. */
  async function outcome(c: StnClient): Promise<Outcome> {
    const state = lab.stateFile();
    const driver = await lab.sysfs.driverOf(PCI);
    const held = (await c.status()).stolen;
    if (state) {
      expect(state.phase).toBe('stolen');
      expect(held.map((h) => [h.config?.name, h.state])).toEqual([[NIC, 'stolen']]);
      expect(driver).toBe('vfio-pci');
      const v = lab.view();
      expect({ addresses: v.addresses, routes: v.routes, up: v.link.up }).toEqual({
        addresses: [],
        routes: [],
        up: false,
      });
      return 'stolen';
    }
    expect(held).toEqual([]);
    expect(driver).toBe(KERNEL_DRIVER);
    await lab.settled();
    expect(lab.view()).toEqual(baseline);
    return 'restored';
  }

  async function killAt(
    op: 'steal' | 'release',
    step: string,
    start: (c: StnClient) => Promise<unknown>,
  ): Promise<void> {
    await withDaemon({ 'debug-step-pause-ms': PAUSE_MS }, async (d, c) => {
      const call = start(c).then(
        () => 'answered',
        (e: unknown) => String(e),
      );
      await d.waitForLog((l) => l.operation === op && l.step === step, 20_000, `${op} step ${step}`);
      await d.proc.kill();
      expect(await call).toMatch(/UNAVAILABLE|Connection dropped|No connection/);
    });
  }

  it.each(STEAL_STEPS)(
    'killed after steal step "%s": the restart leaves it fully stolen or fully restored',
    async (step) => {
      await killAt('steal', step, (c) => c.steal(NIC, { unbind: true }));
      await withDaemon({}, async (d, c) => {
        const result = await outcome(c);
        const recovery = d.lines().find((l) => l.msg?.startsWith('found ') === true);
        outcomes.push(`steal killed after ${step}: ${result} (${recovery?.action ?? 'nothing to recover'})`);
        // Designed policy: an unfinished steal is rolled back; a committed one is kept.
        expect(result).toBe(step === 'commit' ? 'stolen' : 'restored');
        if (result === 'stolen') {
          await c.release(NIC);
          await lab.settled();
          expect(lab.view()).toEqual(baseline);
        }
      });
    },
  );

  it.each(RELEASE_STEPS)('killed after release step "%s": the restart finishes the release', async (step) => {
    await withDaemon({}, (_d, c) => c.steal(NIC, { unbind: true }));
    await killAt('release', step, (c) => c.release(NIC));
    await withDaemon({}, async (d, c) => {
      const result = await outcome(c);
      const recovery = d.lines().find((l) => l.msg?.startsWith('found ') === true);
      outcomes.push(`release killed after ${step}: ${result} (${recovery?.action ?? 'nothing to recover'})`);
      expect(result).toBe('restored');
    });
  });
});
