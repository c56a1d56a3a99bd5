// Wires the daemon: state store, kernel and sysfs access, engine, watchdog, recovery of
// leftover state files, then the gRPC and health servers. Stopping the daemon does not
// release anything: a restart (upgrade) must not pull the NIC from under a running data plane.
import type { Registry } from 'prom-client';
import { startHealthServer, type HealthServer } from '../lib/health-server.ts';
import type { Logger } from '../lib/logging.ts';
import type { StnConfig } from './config.ts';
import { NicEngine, type RecoveryAction } from './engine.ts';
import { createIpRunner } from './iproute.ts';
import { createStnMetrics } from './metrics.ts';
import { interfaceProbe, readyzProbe, vppApiProbe } from './probes.ts';
import { clearStaleSocket, startStnServer, statusReply, type StnServer } from './server.ts';
import { StateStore } from './state-file.ts';
import { createSysfs } from './sysfs.ts';
import { Watchdog, type Probe } from './watchdog.ts';

export interface StnDaemon {
  engine: NicEngine;
  watchdog: Watchdog;
  recovered: RecoveryAction[];
  health?: HealthServer;
  close(): Promise<void>;
}

export async function startStnDaemon(
  config: StnConfig,
  logger: Logger,
  registry: Registry,
): Promise<StnDaemon> {
  const metrics = createStnMetrics(registry);
  const ip = createIpRunner({
    binary: config.ipBinary,
    netns: config.netns,
    timeoutMs: config.kernelTimeoutMs,
  });
  const probes: Probe[] = [];
  const vpp = config.dataPlaneApiSocket ? vppApiProbe(config.dataPlaneApiSocket, logger) : undefined;
  if (vpp) probes.push(vpp);
  if (config.dataPlaneInterface) probes.push(interfaceProbe(ip, config.dataPlaneInterface));
  if (config.agentReadyzUrl) probes.push(readyzProbe(config.agentReadyzUrl));
  if (probes.length === 0)
    logger.warn('watchdog disabled: dataPlaneApiSocket, dataPlaneInterface and agentReadyzUrl are all empty');

  // The engine arms the watchdog when it holds something; the watchdog releases through the
  // engine when it trips (both closures run only after both objects exist).
  const engine: NicEngine = new NicEngine({
    ip,
    sysfs: createSysfs(config.sysfsRoot),
    store: new StateStore(config.stateDir),
    logger,
    metrics,
    timeoutMs: config.kernelTimeoutMs,
    retryDelayMs: config.releaseRetryMs,
    stepPauseMs: config.debugStepPauseMs,
    onChange: (held) => (held > 0 ? watchdog.arm() : watchdog.disarm()),
  });
  const watchdog = new Watchdog({
    probes,
    intervalMs: config.watchdogIntervalMs,
    failureThreshold: config.watchdogFailures,
    failurePeriodMs: config.watchdogPeriodMs,
    graceMs: config.watchdogGraceMs,
    logger,
    failures: metrics.watchdogFailures,
    onTrip: async (reason) => {
      logger.error({ reason }, 'watchdog: the data plane is gone; giving every NIC back to the kernel');
      metrics.watchdogReleases.inc();
      await engine.releaseAll(`watchdog: ${reason}`);
    },
  });

  // Refuse to start beside a live daemon before recovery touches anything: its state files
  // belong to operations it is still carrying out.
  await clearStaleSocket(config.socket);
  const recovered = await engine.recover();
  let server: StnServer | undefined;
  let health: HealthServer | undefined;
  try {
    server = await startStnServer({ socket: config.socket, engine, watchdog, logger });
    if (config.metricsAddr) {
      health = await startHealthServer({
        address: config.metricsAddr,
        registry,
        logger,
        routes: { '/status': () => statusReply(engine, watchdog) },
      });
      logger.info({ url: health.url }, 'health server listening');
    }
  } catch (err) {
    await server?.close();
    watchdog.disarm();
    vpp?.close();
    engine.close();
    throw err;
  }
  return {
    engine,
    watchdog,
    recovered,
    ...(health ? { health } : {}),
    async close() {
      watchdog.disarm();
      vpp?.close();
      engine.close();
      await server?.close();
      await health?.close();
    },
  };
}
