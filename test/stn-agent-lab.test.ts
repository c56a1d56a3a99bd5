// STN end to end in network namespaces: the STN daemon, `netloom agent --dataplane vpp --stn`
// and the lab's VPP stand-in each run as their own process; etcd is real. A veth (nic0) stands
// in for the node's only NIC, its far end (up0, in the "peer" namespace) for the network.
//
// What is real: the daemon's steal/release of nic0, the agent's start (Steal, the recorded
// configuration handed to the vpp driver, which programs VPP over the binary API: the NIC's
// VPP interface found by MAC, the node's address on it, the host TAP, the STN rule), the
// watchdog's control_ping to VPP's API socket, the kernel TAP and every packet. What stands in:
// VPP itself — the fake API server, and stn-tap-bridge.py, which makes the TAP VPP was asked for
// real and copies frames between it and nic0 (VPP's STN path). It is a child of the fake VPP
// process, so killing "VPP" takes the TAP with it, as a real VPP's death does.
//
// "Agent killed → NIC back" is read as the node's networking pod dying: agent and data plane.
// Killing the agent alone must not (a rolling update does exactly that while VPP forwards on
// the NIC); the test shows both.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleAgent } from '../agent/assemble.ts';
import { agentConfigSchema } from '../agent/config.ts';
import { V25_10_DIR } from '../agent/dataplane/vpp/testing/definitions.ts';
import { ConfigError } from '../lib/errors.ts';
import type { Store } from '../lib/etcd/store.ts';
import { silentLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import { freePort } from '../lib/free-ports.ts';
import { sleep } from '../lib/timing.ts';
import { StnClient } from '../stn/client.ts';
import { allOf, etcdAvailable, netnsAvailable, skipUnless } from './harness/availability.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';
import { TestProcess } from './harness/process.ts';
import {
  fakeVppProcess,
  ip,
  NIC,
  packetCounters,
  StnLab,
  type IpView,
  type StnDaemonProcess,
} from './stn-lab.ts';

const skip = skipUnless('STN with the agent', allOf(netnsAvailable(), etcdAvailable()));
const ROOT = new URL('..', import.meta.url).pathname;
const NODE_IP = '10.250.0.2';
const HOST_TAP = 'vpp-host';
// Watchdog: a check every 250 ms; the NIC goes back after 4 failures in a row spanning 2 s.
const INTERVAL_MS = 250;
const FAILURES = 4;
const PERIOD_MS = 2_000;
const KERNEL_TIMEOUT_MS = 5_000;
const ETCD_OUTAGE_MS = 30_000;

describe('agent --stn settings', () => {
  it('refuses --stn without the vpp data plane or without a NIC, before it touches anything', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'nl-stn-config-'));
    // Nothing may be asked of the store: the settings are checked first.
    const store = new Proxy({} as Store, {
      get: (_t, key) => {
        throw new Error(`store.${String(key)} used`);
      },
    });
    const deps = {
      store,
      logger: silentLogger(),
      registry: createRegistry('agent', { processMetrics: false }),
    };
    try {
      for (const [flags, field] of [
        [{ dataplane: 'linux', stnInterface: 'eth0' }, 'stn'],
        [{ dataplane: 'vpp', stnInterface: '' }, 'stnInterface'],
      ] as const) {
        const config = agentConfigSchema.parse({
          stn: true,
          stateDir,
          stnSocket: join(stateDir, 'no.sock'),
          ...flags,
        });
        const err: unknown = await assembleAgent(config, '', deps).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).field).toBe(field);
      }
      expect(readdirSync(stateDir)).toEqual([]);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skip)('STN wired into the agent (vpp data plane stand-in, real packets)', () => {
  const lab = new StnLab();
  let etcd: EtcdHandle;
  let daemon: StnDaemonProcess;
  let client: StnClient;
  let vpp: TestProcess;
  let agent: TestProcess;
  let vppSocket: string;
  let readyz: string;
  let before: IpView;
  let agentRuns = 0;

  const newAgent = (extra: string[] = []): TestProcess =>
    new TestProcess({
      name: `agent-${++agentRuns}`,
      command: join(ROOT, 'node_modules/.bin/node'),
      args: [
        join(ROOT, 'cli/netloom.ts'),
        'agent',
        ...etcd.flags('agent'),
        '--node-name',
        'stn-node',
        '--cluster',
        'stnlab',
        '--state-dir',
        join(lab.dir, 'agent-state'),
        '--metrics-addr',
        new URL(readyz).host,
        '--cni-socket',
        '',
        '--id-settle-ms',
        '0',
        '--resync-interval-seconds',
        '0',
        '--dataplane',
        'vpp',
        '--vpp-socket',
        vppSocket,
        '--vpp-api-dir',
        V25_10_DIR,
        '--stn',
        'true',
        '--stn-socket',
        lab.socket,
        '--stn-interface',
        NIC,
        '--stn-host-interface',
        HOST_TAP,
        ...extra,
      ],
      logFile: join(lab.dir, `agent-${agentRuns}.log`),
      cwd: ROOT,
    });

  const readyzStatus = async (): Promise<number> => {
    try {
      const res = await fetch(readyz, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      return res.status;
    } catch {
      return 0;
    }
  };

  const startVpp = async (): Promise<void> => {
    vpp = fakeVppProcess(lab, `vpp-${agentRuns}`, vppSocket);
    vpp.start();
    await vpp.waitUntil(() => Promise.resolve(existsSync(vppSocket)), 15_000, 'listening');
  };

  /** Starts an agent and waits until it is ready and the host TAP carries the node's address. */
  const startAgent = async (extra: string[] = []): Promise<TestProcess> => {
    const a = newAgent(extra);
    a.start();
    await a.waitUntil(async () => (await readyzStatus()) === 200, 60_000, 'ready');
    await a.waitUntil(() => Promise.resolve(tapAddresses().includes(`${NODE_IP}/24`)), 15_000, 'TAP up');
    return a;
  };

  const tapAddresses = (): string[] => {
    try {
      const [l] = JSON.parse(ip(lab.host, '-json', '-4', 'address', 'show', 'dev', HOST_TAP)) as {
        addr_info: { local: string; prefixlen: number }[];
      }[];
      return (l?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
    } catch {
      return [];
    }
  };

  const nicIpv4 = (): unknown[] =>
    lab.view().addresses.filter((a) => (a as { family: string }).family === 'inet');

  /** Until the daemon has given nic0 back (no state file, the node's address on nic0); ms waited. */
  const waitReleased = async (timeoutMs: number): Promise<number> => {
    const t0 = performance.now();
    while (performance.now() - t0 < timeoutMs) {
      if (lab.stateFile() === undefined && nicIpv4().length > 0) return performance.now() - t0;
      await sleep(20);
    }
    throw new Error(`NIC not given back within ${timeoutMs} ms:\n${daemon.proc.tail()}`);
  };

  const agentLog = (a: TestProcess): string => readFileSync(a.logFile, 'utf8');

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'stn-agent' });
    await lab.setup();
    before = lab.view();
    vppSocket = join(lab.dir, 'vpp-api.sock');
    daemon = await lab
      .daemon('stn-agent', {
        'data-plane-api-socket': vppSocket,
        'data-plane-interface': HOST_TAP,
        'watchdog-interval-ms': INTERVAL_MS,
        'watchdog-failures': FAILURES,
        'watchdog-period-ms': PERIOD_MS,
        'watchdog-grace-ms': 30_000,
        'kernel-timeout-ms': KERNEL_TIMEOUT_MS,
      })
      .start();
    // Picked once the daemon listens: its metrics bind an ephemeral port, which could be the one
    // freePort had just let go, and its /readyz would then answer for the agent's.
    readyz = `http://127.0.0.1:${await freePort()}/readyz`;
    client = new StnClient({ socket: lab.socket });
    await startVpp();
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await agent?.kill();
    await vpp?.kill();
    await daemon?.proc.stop();
    await etcd?.destroy();
    await lab.cleanup();
  });

  it("agent start steals the NIC; the node answers through VPP's host TAP", async () => {
    expect(lab.ping(lab.peer, NODE_IP)).toBe(true);
    agent = await startAgent();
    expect(lab.stateFile()?.phase).toBe('stolen');
    expect(nicIpv4()).toEqual([]);
    expect(tapAddresses()).toEqual([`${NODE_IP}/24`]);
    expect(ip(lab.host, 'route', 'show', 'default')).toMatch(/default via 10\.250\.0\.1 dev vpp-host/);
    expect(agentLog(agent)).toContain('STN: the NIC is lent to the data plane');
    // The lab NIC's second address and table-100 routes do not fit through tap_create_v3.
    expect(agentLog(agent)).toMatch(/"notCarried":\[[^\]]*address 10\.250\.1\.2\/24/);

    // Real packets from the network's side; the replies can only leave through the TAP (the
    // only interface with routes), and its counters show they did.
    const tap0 = packetCounters(lab.host, HOST_TAP)!;
    expect(lab.ping(lab.peer, NODE_IP)).toBe(true);
    expect(lab.ping(lab.host, '10.251.0.1')).toBe(true);
    const tap1 = packetCounters(lab.host, HOST_TAP)!;
    expect(tap1.tx - tap0.tx).toBeGreaterThanOrEqual(2);
    expect(tap1.rx - tap0.rx).toBeGreaterThanOrEqual(2);
    // The watchdog's probes run every INTERVAL_MS; the one before the TAP existed may be the last
    // it finished: wait (bounded) for one that sees the data plane healthy.
    let w = (await client.status()).watchdog;
    for (let i = 0; i < 50 && w?.lastError !== ''; i++) {
      await sleep(100);
      w = (await client.status()).watchdog;
    }
    expect(w).toMatchObject({ enabled: true, consecutiveFailures: 0, lastError: '' });
  }, 90_000);

  it('etcd stopped for 30 s: the NIC stays with the data plane and the node stays reachable', async () => {
    await etcd.stop();
    const t0 = Date.now();
    let pings = 0;
    let lost = 0;
    let maxFailures = 0;
    const readyzSeen = new Map<number, number>();
    try {
      while (Date.now() - t0 < ETCD_OUTAGE_MS) {
        pings++;
        if (!lab.ping(lab.peer, NODE_IP)) lost++;
        const status = await readyzStatus();
        readyzSeen.set(status, (readyzSeen.get(status) ?? 0) + 1);
        const w = (await client.status()).watchdog;
        maxFailures = Math.max(maxFailures, w?.consecutiveFailures ?? 0);
        expect(lab.stateFile()?.phase).toBe('stolen');
        await sleep(1_000);
      }
    } finally {
      await etcd.start();
    }
    const outageMs = Date.now() - t0;
    console.log(
      `etcd down ${outageMs} ms: ${pings} pings to the node, ${lost} lost; watchdog max consecutive ` +
        `failures ${maxFailures}; agent /readyz answers seen ${JSON.stringify(Object.fromEntries(readyzSeen))}`,
    );
    expect(outageMs).toBeGreaterThanOrEqual(ETCD_OUTAGE_MS);
    // The control plane did go unready: a watchdog on /readyz (the old default) would have
    // handed the NIC back during this outage.
    expect(readyzSeen.get(503) ?? 0).toBeGreaterThan(0);
    expect(lost).toBe(0);
    expect(maxFailures).toBe(0);
    expect(lab.stateFile()?.phase).toBe('stolen');
    await agent.waitUntil(async () => (await readyzStatus()) === 200, 60_000, 'ready again after etcd');
  }, 120_000);

  it('kill -9 of the agent alone (a rollout): VPP keeps the NIC; the next agent takes the held configuration', async () => {
    await agent.kill();
    // Longer than the watchdog could need to trip, had it judged the agent.
    await sleep(PERIOD_MS + INTERVAL_MS * (FAILURES + 4));
    expect(lab.stateFile()?.phase).toBe('stolen');
    expect(lab.ping(lab.peer, NODE_IP)).toBe(true);
    expect((await client.status()).watchdog).toMatchObject({ enabled: true, consecutiveFailures: 0 });
    agent = await startAgent();
    expect(agentLog(agent)).toContain('STN daemon already holds the NIC; using its recorded configuration');
    expect(lab.ping(lab.peer, NODE_IP)).toBe(true);
  }, 90_000);

  it('agent and its data plane killed: the NIC comes back within the threshold; the node answers on it', async () => {
    await agent.kill();
    await vpp.kill();
    const killedAt = Date.now();
    // The TAP went with VPP: until the daemon acts the node is unreachable (nic0 is bare), which
    // also shows the answers above came through the TAP and not from nic0 itself.
    expect(lab.ping(lab.peer, NODE_IP)).toBe(false);
    expect(lab.stateFile()?.phase).toBe('stolen');
    const budget = PERIOD_MS + INTERVAL_MS * (FAILURES + 2) + KERNEL_TIMEOUT_MS;
    const backMs = await waitReleased(budget);
    const trip = await daemon.waitForLog(
      (l) => l.msg?.startsWith('watchdog: the data plane is gone') === true,
    );
    const detectMs = Date.parse(trip.time ?? '') - killedAt;
    expect(trip.reason).toMatch(/data-plane-api: control_ping failed/);
    expect(trip.reason).toMatch(/data-plane-interface: vpp-host does not exist/);
    expect(detectMs).toBeGreaterThanOrEqual(PERIOD_MS);
    await lab.settled();
    expect(lab.view()).toEqual(before);
    expect(lab.ping(lab.peer, NODE_IP)).toBe(true);
    expect(lab.ping(lab.host, '10.251.0.1')).toBe(true);
    console.log(
      `agent + VPP killed → watchdog tripped after ${detectMs} ms (${FAILURES} × ${INTERVAL_MS} ms over ≥ ${PERIOD_MS} ms); ` +
        `nic0 has its address again after ${backMs.toFixed(0)} ms (budget ${budget} ms)`,
    );
  }, 60_000);

  it('orderly stop with --stn-release-on-stop gives the NIC back before the agent exits', async () => {
    await startVpp();
    agent = await startAgent(['--stn-release-on-stop', 'true']);
    expect(lab.stateFile()?.phase).toBe('stolen');
    expect(lab.ping(lab.peer, NODE_IP)).toBe(true);
    await agent.stop(20_000);
    expect(agentLog(agent)).toMatch(/STN: NIC given back to the kernel/);
    expect(lab.stateFile()).toBeUndefined();
    await lab.settled();
    expect(lab.view()).toEqual(before);
    expect(lab.ping(lab.peer, NODE_IP)).toBe(true);
  }, 90_000);
});
