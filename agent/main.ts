// `netloom agent`: the per-node agent. Wires configuration, the etcd store, metrics and the
// health server (with the read-only API) around Agent, and shuts down on SIGTERM/SIGINT.
import { loadConfig } from '../lib/config.ts';
import { etcdClientOf } from '../lib/etcd/client.ts';
import { Store } from '../lib/etcd/store.ts';
import { startHealthServer } from '../lib/health-server.ts';
import { createLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import type { Agent } from './agent.ts';
import { assembleAgent } from './assemble.ts';
import { apiRoutes } from './http/routes.ts';
import { agentConfigSchema, managementIp } from './config.ts';
import { releaseForAgent } from '../stn/agent-side.ts';

export async function main(argv: string[]): Promise<number> {
  const { config } = loadConfig(agentConfigSchema, { argv });
  // With STN and no --management-ip, the stolen NIC's recorded address (assembleAgent).
  const ip = config.stn && config.managementIp === undefined ? '' : managementIp(config);
  const logger = createLogger('agent', { level: config.logLevel }).child({ node: config.nodeName });
  const store = new Store(etcdClientOf(config));
  const registry = createRegistry('agent');

  const stop = new AbortController();
  const onSignal = (sig: string): void => {
    logger.info({ signal: sig }, 'shutting down');
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  let agent: Agent;
  try {
    agent = await assembleAgent(config, ip, { store, logger, registry });
  } catch (err) {
    store.close();
    throw err;
  }
  const health = await startHealthServer({
    address: config.metricsAddr,
    registry,
    logger,
    readiness: { agent: () => agent.readiness() },
    liveness: { agent: () => agent.liveness() },
    routes: apiRoutes({
      scheduler: agent.scheduler,
      node: () => ({
        ...agent.identity.info(),
        gateway: agent.identity.subnet.gateway,
        ready: agent.readiness() ?? 'ready',
      }),
      ipam: () => ({
        subnet: agent.ipam.subnet.cidr,
        gateway: agent.ipam.subnet.gateway,
        usable: agent.ipam.usable,
        records: agent.ipam.records(),
      }),
      explain: (flow) => agent.explain(flow),
      view: () => ({
        revision: agent.view.revision,
        counts: {
          pods: agent.view.pods.size,
          nodes: agent.view.nodes.size,
          nodeInfos: agent.view.nodeInfos.size,
          services: agent.view.services.size,
        },
      }),
    }),
  });
  logger.info(
    {
      url: health.url,
      id: agent.identity.id,
      subnet: agent.identity.subnet.cidr,
      dataplane: config.dataplane,
    },
    'agent started',
  );

  await new Promise<void>((resolve) =>
    stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  await health.close();
  await agent.close();
  store.close();
  if (config.stn && config.stnReleaseOnStop)
    await releaseForAgent(config.stnSocket, config.stnInterface, logger).catch((err: unknown) =>
      logger.error({ err }, 'STN: release failed; the daemon keeps the NIC until its watchdog gives it back'),
    );
  logger.info('stopped');
  return 0;
}
