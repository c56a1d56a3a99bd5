// `netloom ksr`: reflect Kubernetes into etcd. Wires configuration, clients, metrics and the
// health server around Ksr, and shuts down on SIGTERM/SIGINT (handing leadership over at once).
import { loadConfig } from '../lib/config.ts';
import { etcdClientOf } from '../lib/etcd/client.ts';
import { Store } from '../lib/etcd/store.ts';
import { startHealthServer } from '../lib/health-server.ts';
import { Keyspace } from '../lib/keyspace.ts';
import { createLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import { ksrConfigSchema, type KsrConfig } from './config.ts';
import { createKubeClient, loadKubeConfig } from './kube/client.ts';
import { DEFAULT_REFLECTOR_OPTIONS } from './kube/reflector.ts';
import { createKubeWriter } from './kube/writer.ts';
import { createNadWriter } from './networks/kube.ts';
import { createPodAnnotator } from './netstatus/kube.ts';
import { Ksr, type KsrOptions } from './ksr.ts';
import { createKsrMetrics } from './metrics.ts';
import { DEFAULT_SYNCER_OPTIONS } from './syncer.ts';

function ksrOptions(c: KsrConfig): KsrOptions {
  return {
    identity: c.identity,
    compactHeap: c.compactHeap,
    leaseTtlSeconds: c.leaseTtlSeconds,
    campaignPollMs: c.campaignPollMs,
    syncer: {
      ...DEFAULT_SYNCER_OPTIONS,
      heartbeatMs: c.heartbeatMs,
      fullResyncMs: c.fullResyncMs,
      maxTxnBytes: c.maxTxnBytes,
    },
    reflector: {
      ...DEFAULT_REFLECTOR_OPTIONS,
      relistMs: c.relistMs,
      watchdogMs: c.watchdogMs,
      watchTimeoutSeconds: c.watchTimeoutSeconds,
      pageSize: c.pageSize,
      absentPollMs: c.crdPollMs,
    },
    lbPools: c.lbPools,
    livenessStuckMs: c.livenessStuckSeconds * 1000,
    allocator: { lbClass: c.lbClass, resyncMs: c.fullResyncMs, backoffMs: DEFAULT_SYNCER_OPTIONS.backoffMs },
    networks: {
      ranges: { podCidr: c.podCidr, serviceCidr: c.serviceCidr, vni: c.vxlanVni },
      resyncMs: c.fullResyncMs,
      backoffMs: DEFAULT_SYNCER_OPTIONS.backoffMs,
    },
    networkStatus: { concurrency: c.networkStatusConcurrency, backoffMs: { min: 500, max: 30_000 } },
  };
}

export async function main(argv: string[]): Promise<number> {
  const { config } = loadConfig(ksrConfigSchema, { argv });
  const logger = createLogger('ksr', { level: config.logLevel });
  const keyspace = new Keyspace(config.cluster);
  const kc = loadKubeConfig(config.kubeconfig);
  const kube = createKubeClient(kc, { watchIdleMs: Math.max(config.watchdogMs * 2, 60_000) });
  const writerOptions = { component: 'netloom-ksr', instance: config.identity };
  const kubeWriter = createKubeWriter(kc, writerOptions);
  const nadWriter = createNadWriter(kc, writerOptions);
  const podAnnotator = createPodAnnotator(kc);
  const store = new Store(etcdClientOf(config));
  const registry = createRegistry('ksr');
  const metrics = createKsrMetrics(registry);
  const ksr = new Ksr({
    store,
    kube,
    kubeWriter,
    nadWriter,
    podAnnotator,
    keyspace,
    logger,
    metrics,
    options: ksrOptions(config),
  });

  const health = await startHealthServer({
    address: config.metricsAddr,
    registry,
    logger,
    readiness: { sync: () => ksr.ready() },
    liveness: { ksr: () => ksr.liveness() },
    routes: { '/status': () => ksr.status() },
  });
  logger.info(
    { url: health.url, identity: config.identity, cluster: config.cluster, etcd: config.etcdEndpoints },
    'ksr started',
  );

  const stop = new AbortController();
  const onSignal = (sig: string): void => {
    logger.info({ signal: sig }, 'shutting down');
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await ksr.run(stop.signal);
  } finally {
    await health.close();
    store.close();
  }
  logger.info('stopped');
  return 0;
}
