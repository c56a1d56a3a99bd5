// The watchdog with real processes: an agent stand-in (a tiny HTTP server serving /readyz, a
// child process) and the data plane's host-side interface (a veth in the lab namespace). When
// either dies, the STN daemon gives the NIC back by itself and traffic flows again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { StnClient } from '../stn/client.ts';
import { netnsAvailable, skipUnless } from './harness/availability.ts';
import { freePort } from '../lib/free-ports.ts';
import { TestProcess } from './harness/process.ts';
import { ip, NIC, StnLab, type StnDaemonProcess } from './stn-lab.ts';
import { sleep } from '../lib/timing.ts';

const skip = skipUnless('STN watchdog tests', netnsAvailable());
const INTERVAL_MS = 200;
const FAILURES = 3;
const KERNEL_TIMEOUT_MS = 5_000;
const NODE = join(new URL('..', import.meta.url).pathname, 'node_modules/.bin/node');

function agentStandIn(lab: StnLab, port: number): TestProcess {
  const script = `require('node:http').createServer((q, s) => s.end(q.url === '/readyz' ? 'ok' : '')).listen(${port}, '127.0.0.1')`;
  return new TestProcess({
    name: 'agent-stand-in',
    command: NODE,
    args: ['-e', script],
    logFile: join(lab.dir, 'agent.log'),
  });
}

async function startAgent(agent: TestProcess, url: string): Promise<void> {
  agent.start();
  await agent.waitUntil(async () => (await fetch(url)).ok, 10_000, 'serving /readyz');
}

async function waitHealthy(client: StnClient): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const w = (await client.status()).watchdog;
    if (w?.enabled && w.lastCheck !== '' && w.lastError === '') return;
    await sleep(50);
  }
  throw new Error('watchdog never saw the agent healthy');
}

/** Polls until the daemon has given the NIC back (state file gone, link up); returns ms waited. */
async function waitReleased(lab: StnLab, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (lab.stateFile() === undefined && lab.view().link.up) return performance.now() - t0;
    await sleep(20);
  }
  throw new Error(`NIC not given back within ${timeoutMs} ms`);
}

describe.skipIf(skip)('STN watchdog', () => {
  const lab = new StnLab();
  let daemon: StnDaemonProcess;
  let client: StnClient;
  let agent: TestProcess;
  let readyz: string;

  beforeAll(async () => {
    await lab.setup();
    ip(lab.host, 'link', 'add', 'dp0', 'type', 'veth', 'peer', 'name', 'dp1');
    ip(lab.host, 'link', 'set', 'dp0', 'up');
    ip(lab.host, 'link', 'set', 'dp1', 'up');
    readyz = `http://127.0.0.1:${await freePort()}/readyz`;
    agent = agentStandIn(lab, Number(new URL(readyz).port));
    daemon = await lab
      .daemon('stn-watchdog', {
        'agent-readyz-url': readyz,
        'data-plane-interface': 'dp0',
        'watchdog-interval-ms': INTERVAL_MS,
        'watchdog-failures': FAILURES,
        'watchdog-grace-ms': 10_000,
        'kernel-timeout-ms': KERNEL_TIMEOUT_MS,
      })
      .start();
    client = new StnClient({ socket: lab.socket });
  });

  afterAll(async () => {
    client?.close();
    await agent?.kill();
    await daemon?.proc.stop();
    await lab.cleanup();
  });

  it('kill -9 the agent: the NIC comes back within the configured time and ping works again', async () => {
    await startAgent(agent, readyz);
    const before = lab.view();
    expect(lab.ping(lab.host, '10.251.0.1')).toBe(true);
    await client.steal(NIC);
    expect(lab.ping(lab.host, '10.251.0.1')).toBe(false);
    await waitHealthy(client);

    await agent.kill();
    const killedAt = Date.now();
    // Detection: FAILURES checks INTERVAL_MS apart; then the release, which waits for the kernel.
    const budget = INTERVAL_MS * (FAILURES + 1) + KERNEL_TIMEOUT_MS;
    const backMs = await waitReleased(lab, budget);
    const trip = await daemon.waitForLog(
      (l) => l.msg?.startsWith('watchdog: the data plane is gone') === true,
    );
    const detectMs = Date.parse(trip.time ?? '') - killedAt;
    const routesBack = await daemon.waitForLog((l) => l.operation === 'release' && l.step === 'routes');
    const routesMs = Date.parse(routesBack.time ?? '') - killedAt;
    expect(trip.reason).toMatch(/agent: GET .* failed: ECONNREFUSED/);
    await lab.settled();
    expect(lab.view()).toEqual(before);
    expect(lab.ping(lab.host, '10.251.0.1')).toBe(true);
    expect((await client.status()).watchdog).toMatchObject({ enabled: false });
    console.log(
      `agent killed → watchdog tripped after ${detectMs} ms (configured ${FAILURES} × ${INTERVAL_MS} ms); ` +
        `addresses and routes re-added after ${routesMs} ms; release verified (IPv6 DAD included) after ${backMs.toFixed(0)} ms (budget ${budget} ms)`,
    );
  });

  it("the data plane's host interface disappears: the NIC comes back", async () => {
    await startAgent(agent, readyz);
    const before = lab.view();
    await client.steal(NIC);
    await waitHealthy(client);
    ip(lab.host, 'link', 'del', 'dp0');
    const backMs = await waitReleased(lab, INTERVAL_MS * (FAILURES + 1) + KERNEL_TIMEOUT_MS);
    const trip = await daemon.waitForLog((l) =>
      /data-plane-interface: dp0 does not exist/.test(l.reason ?? ''),
    );
    expect(trip).toBeDefined();
    await lab.settled();
    expect(lab.view()).toEqual(before);
    expect(lab.ping(lab.host, '10.251.0.1')).toBe(true);
    console.log(`data-plane interface deleted → NIC back after ${backMs.toFixed(0)} ms`);
  });
});

describe.skipIf(skip)('STN watchdog start-up grace', () => {
  const lab = new StnLab();
  let daemon: StnDaemonProcess;

  afterAll(async () => {
    await daemon?.proc.stop();
    await lab.cleanup();
  });

  it('an agent that never becomes ready gets the grace period, then the NIC comes back', async () => {
    await lab.setup();
    const grace = 1_500;
    daemon = await lab
      .daemon('stn-grace', {
        'agent-readyz-url': `http://127.0.0.1:${await freePort()}/readyz`,
        'watchdog-interval-ms': INTERVAL_MS,
        'watchdog-failures': FAILURES,
        'watchdog-grace-ms': grace,
      })
      .start();
    const client = new StnClient({ socket: lab.socket });
    await client.steal(NIC);
    await sleep(grace / 2);
    expect(lab.stateFile()?.phase).toBe('stolen');
    const w = (await client.status()).watchdog;
    expect(w).toMatchObject({ enabled: true, consecutiveFailures: 0 });
    expect(w?.lastError).toMatch(/ECONNREFUSED/);
    const backMs = await waitReleased(lab, grace + INTERVAL_MS * (FAILURES + 2) + KERNEL_TIMEOUT_MS);
    client.close();
    expect(backMs).toBeGreaterThan(grace / 2 - 100);
    expect(lab.ping(lab.host, '10.251.0.1')).toBe(true);
  });
});
