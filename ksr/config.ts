// `netloom ksr` settings: flags (--etcd-endpoints …), NETLOOM_* environment, or a config file.
import { hostname } from 'node:os';
import { z } from 'zod';
import { parsePrefix } from '../lib/cidr.ts';
import { bool, list, num } from '../lib/config.ts';
import { errorMessage } from '../lib/errors.ts';
import { DEFAULT_MAX_TXN_BYTES } from './batches.ts';
import { parsePools, type Pool, type PoolsSpec } from './lbipam/pools.ts';

/**
 * LoadBalancer pools: `name=cidr|first-last,…;name=…` (flag, environment) or a mapping of name →
 * list (file). Parsed here so a bad pool is a configuration error (exit 2), named in one line.
 */
const lbPools = z
  .union([z.string(), z.record(z.string(), z.union([z.string(), z.array(z.string())]))])
  .default('')
  .transform((spec: PoolsSpec, ctx): Pool[] => {
    try {
      return parsePools(spec);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: errorMessage(err).replace(/^lbPools: /, '') });
      return z.NEVER;
    }
  });

/** An IPv4 network address with its length ('10.1.0.0/16'), checked as the agent checks it. */
const cidr4 = z.string().superRefine((text, ctx) => {
  try {
    parsePrefix(text, '');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: errorMessage(err).replace(/^: /, '') });
  }
});

export const ksrConfigSchema = z.object({
  /** kubeconfig file; without it: in-cluster service account, else $KUBECONFIG / ~/.kube/config. */
  kubeconfig: z.string().optional(),
  /** `https://`/`unixs://` speak TLS with --etcd-ca and --etcd-cert + --etcd-key; lib/etcd/client.ts checks the combination (ADR 0008). */
  etcdEndpoints: list(z.string().url()).default(['http://127.0.0.1:2379']),
  etcdCa: z.string().optional(),
  etcdCert: z.string().optional(),
  etcdKey: z.string().optional(),
  cluster: z.string().default('default'),
  /** host:port of /livez, /readyz, /metrics and /status. */
  metricsAddr: z.string().default('0.0.0.0:9101'),
  /** Name in ksr/status and logs; POD_NAME in a Deployment. */
  identity: z
    .string()
    .min(1)
    .default(process.env['POD_NAME'] ?? `${hostname()}-${process.pid}`),
  leaseTtlSeconds: num().pipe(z.number().int().min(1)).default(5),
  campaignPollMs: num().pipe(z.number().int().min(50)).default(1_000),
  heartbeatMs: num().pipe(z.number().int().min(100)).default(2_000),
  fullResyncMs: num().pipe(z.number().int().min(1_000)).default(600_000),
  relistMs: num().pipe(z.number().int().min(1_000)).default(900_000),
  watchdogMs: num().pipe(z.number().int().min(100)).default(120_000),
  watchTimeoutSeconds: num().pipe(z.number().int().min(1)).default(300),
  pageSize: num().pipe(z.number().int().min(1)).default(500),
  /**
   * Most bytes one etcd transaction request may take, framing included. Keep it below etcd's
   * --max-request-bytes (default 1.5 MiB; the default here leaves 64 KiB for etcd's own header).
   */
  maxTxnBytes: num().pipe(z.number().int().min(4_096)).default(DEFAULT_MAX_TXN_BYTES),
  /** How often to look for a CRD that is not installed (NetworkAttachmentDefinition). */
  crdPollMs: num().pipe(z.number().int().min(100)).default(5_000),
  /** Compact the heap after bulk work (initial sync, big relists): resident memory back to ~live size. */
  compactHeap: bool().default(true),
  /** Pools LoadBalancer services get addresses from; none: the allocator does not run. */
  lbPools,
  /** The loadBalancerClass netloom serves (besides services with no class). */
  lbClass: z.string().min(1).default('netloom.io/lb'),
  /**
   * The cluster's pod and service ranges and the default network's VNI (the agents' values):
   * a netloom network (ksr/networks/) overlapping either range, or taking that VNI, is refused.
   */
  podCidr: cidr4.default('10.1.0.0/16'),
  serviceCidr: cidr4.default('10.96.0.0/12'),
  vxlanVni: num().pipe(z.number().int().min(1).max(16_777_215)).default(10),
  /** network-status patches in flight at once (ksr/netstatus/). */
  networkStatusConcurrency: num().pipe(z.number().int().min(1).max(64)).default(4),
  /**
   * /livez fails once the leader's syncer loop has not turned for this long (it turns at least
   * every heartbeat while healthy; one turn may hold a full sync's read or sweep).
   */
  livenessStuckSeconds: num().pipe(z.number().int().min(1)).default(120),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
});

export type KsrConfig = z.infer<typeof ksrConfigSchema>;
