// The cluster's entry in the store-wide registry (`_shared/clusters/<cluster>`): written by the
// cluster's agents at start, create-only-or-equal — the first agent creates it, every later one
// must find the same addressing (a different pod CIDR is a misconfigured agent, refused with a
// ConfigError), and the mesh flag follows the last agent to start. Then the other registered
// clusters are checked for overlapping ranges (plan.ts judgeRegistration).
import type { Store } from '../../lib/etcd/store.ts';
import { ConfigError } from '../../lib/errors.ts';
import { SharedKeyspace } from '../../lib/keyspace.ts';
import type { Logger } from '../../lib/logging.ts';
import { decodePlan, judgeRegistration, sameAddressing, type ClusterPlan } from './plan.ts';

const SHARED = new SharedKeyspace();

/** Every registered cluster's plan (malformed entries are logged and left out). */
export async function registeredClusters(store: Store, logger: Logger): Promise<Map<string, ClusterPlan>> {
  const out = new Map<string, ClusterPlan>();
  for (const kv of (await store.list(SHARED.prefix('cluster'))).kvs) {
    const ref = SHARED.tryParse(kv.key);
    if (ref?.kind !== 'cluster') continue;
    try {
      out.set(ref.cluster, decodePlan(kv.value));
    } catch (err) {
      logger.warn({ key: kv.key, err: String(err) }, 'ignoring an unreadable cluster registration');
    }
  }
  return out;
}

/**
 * Registers (or confirms) this cluster's plan and judges it against the other clusters of the
 * store. Throws ConfigError (exit 2, one line) for a plan that differs from the registered one,
 * or for overlapping ranges with the mesh on; logs a warning for overlaps without it.
 */
export async function registerCluster(
  store: Store,
  cluster: string,
  plan: ClusterPlan,
  logger: Logger,
): Promise<Map<string, ClusterPlan>> {
  const key = SHARED.key({ kind: 'cluster', cluster });
  const value = JSON.stringify(plan);
  // Judged before writing, so a refused agent leaves nothing behind. Two clusters registering
  // at the same moment can both pass; the mesh itself never routes to an overlapping cluster
  // (plan.ts meshRefusal), so that race costs a warning, not a hijacked route.
  const others = await registeredClusters(store, logger);
  const verdict = judgeRegistration(cluster, plan, others);
  if (verdict.refuse !== undefined) throw new ConfigError('mesh', verdict.refuse);
  const res = await store.create(key, value);
  if (!res.created) {
    let registered: ClusterPlan | undefined;
    try {
      registered = decodePlan(res.existing.value);
    } catch {
      registered = undefined; // unreadable: this agent's plan replaces it below
    }
    if (registered && !sameAddressing(registered, plan))
      throw new ConfigError(
        'podCidr',
        `cluster ${cluster} is registered in ${key} with ${JSON.stringify(registered)}, this agent has ${value}; ` +
          `every agent of a cluster needs the same --pod-cidr, --service-cidr, --node-prefix-length, --gateway-offset ` +
          `and --vxlan-vni (delete the key to re-plan a cluster that has no nodes left)`,
      );
    if (!registered || registered.mesh !== plan.mesh) {
      await store.put(key, value);
      logger.warn({ key, mesh: plan.mesh }, 'cluster registration updated (mesh setting changed)');
    }
  }
  for (const w of verdict.warnings) logger.warn({ cluster }, w);
  others.set(cluster, plan);
  return others;
}
