// The reflector assembled: one Reflector per resource feeding the mirror (on every replica, so
// a standby holds a warm copy), and a leadership loop that runs the syncer while this replica
// leads. Shutting down ends the term, which frees ksr/status at once for the standby. Live means
// the leader's syncer loop turns (its waits are bounded by the heartbeat; etcd errors back off
// and turn again): a loop that has not turned within the limit is wedged.
import type { Store } from '../lib/etcd/store.ts';
import type { K8sKind, Keyspace } from '../lib/keyspace.ts';
import { Heartbeat } from '../lib/liveness.ts';
import type { Logger } from '../lib/logging.ts';
import { HeapCompactor } from './heap.ts';
import { Allocator, type AllocatorOptions } from './lbipam/allocator.ts';
import { LbPools, type Pool } from './lbipam/pools.ts';
import { Elector, type Term } from './leader.ts';
import type { KubeClient } from './kube/client.ts';
import type { KubeWriter } from './kube/writer.ts';
import type { NadWriter } from './networks/kube.ts';
import { NetworkRegistry, type RegistryOptions } from './networks/registry.ts';
import { AttachmentIndex } from './netstatus/attachments.ts';
import type { PodAnnotator } from './netstatus/kube.ts';
import { NetStatusWriter, type NetStatusOptions } from './netstatus/writer.ts';
import { Reflector, type ReflectorOptions } from './kube/reflector.ts';
import type { KsrMetrics } from './metrics.ts';
import type { Feed } from './feed.ts';
import { Mirror } from './mirror.ts';
import { RESOURCES } from './resources.ts';
import { statusValue } from './status.ts';
import { Syncer, type SyncerOptions } from './syncer.ts';

export interface KsrOptions {
  identity: string;
  /** Compact the heap after bulk work (see heap.ts). */
  compactHeap: boolean;
  leaseTtlSeconds: number;
  campaignPollMs: number;
  syncer: SyncerOptions;
  reflector: Omit<ReflectorOptions, 'path' | 'optional'>;
  /** LoadBalancer pools; empty: no allocator (another controller may serve LoadBalancers). */
  lbPools: readonly Pool[];
  allocator: AllocatorOptions;
  /** The network registry (ksr/networks/): the cluster's ranges, resync, backoff. */
  networks: RegistryOptions;
  /** The network-status writer (ksr/netstatus/). */
  networkStatus: NetStatusOptions;
  /** /livez fails once the leader's syncer loop has not turned for this long. */
  livenessStuckMs: number;
}

/** A list at least this long counts as bulk work (worth a heap compaction). */
const BULK_OBJECTS = 5_000;

export interface KsrDeps {
  store: Store;
  kube: KubeClient;
  /** Writes to Kubernetes (the allocator's); needed only with pools. */
  kubeWriter?: KubeWriter;
  /** Finalizers and Events on NADs (the network registry); without it the registry does not run. */
  nadWriter?: NadWriter;
  /** Pod annotation patches (network-status); without it the writer does not run. */
  podAnnotator?: PodAnnotator;
  keyspace: Keyspace;
  logger: Logger;
  metrics: KsrMetrics;
  options: KsrOptions;
}

export class Ksr {
  readonly mirror: Mirror;
  readonly syncer: Syncer;
  /** Runs beside the syncer while leading, when pools are configured. */
  readonly allocator: Allocator | undefined;
  /** attachments/ of the cluster, read while leading (network-status, networks in use). */
  readonly attachments: AttachmentIndex;
  readonly networks: NetworkRegistry | undefined;
  readonly networkStatus: NetStatusWriter | undefined;
  private readonly d: KsrDeps;
  private readonly reflectors: Reflector[];
  private readonly elector: Elector;
  private readonly compactor: HeapCompactor;
  private term: Term | undefined;
  private readonly turns: Heartbeat;

  constructor(deps: KsrDeps) {
    this.d = deps;
    const { keyspace, logger, metrics, options } = deps;
    this.compactor = new HeapCompactor(logger.child({ part: 'heap' }));
    this.turns = new Heartbeat('syncer', { stuckAfterMs: options.livenessStuckMs });
    const bulkDone = (): void => {
      if (options.compactHeap) this.compactor.request();
    };
    this.mirror = new Mirror((key) => {
      const kind = keyspace.tryParse(key)?.kind;
      return RESOURCES.some((r) => r.kind === kind) ? (kind as K8sKind) : undefined;
    });
    this.syncer = new Syncer({
      store: deps.store,
      mirror: this.mirror,
      prefix: keyspace.k8sPrefix,
      logger: logger.child({ part: 'syncer' }),
      metrics,
      sourcesSynced: () => this.reflectors.every((r) => r.synced),
      kindSettled: (kind) => this.reflectors.find((r) => r.kind === kind)?.settled ?? true,
      onFullSync: bulkDone,
      onTurn: () => this.turns.beat(),
      describeKey: (key) => {
        const ref = keyspace.tryParse(key) as { namespace?: string; name?: string } | undefined;
        return ref && { namespace: ref.namespace, name: ref.name };
      },
      options: options.syncer,
    });
    this.mirror.onDirty = () => this.syncer.wake.notify();
    this.allocator =
      options.lbPools.length > 0 && deps.kubeWriter
        ? new Allocator({
            store: deps.store,
            keyspace,
            kube: deps.kubeWriter,
            pools: new LbPools(options.lbPools),
            logger: logger.child({ part: 'lbipam' }),
            metrics,
            options: options.allocator,
          })
        : undefined;
    this.attachments = new AttachmentIndex({
      store: deps.store,
      keyspace,
      logger: logger.child({ part: 'attachments' }),
      onPod: (podKey) => this.networkStatus?.touch(podKey, true),
      onNetworks: () => this.networks?.wake.notify(),
    });
    this.networks = deps.nadWriter
      ? new NetworkRegistry({
          store: deps.store,
          keyspace,
          kube: deps.nadWriter,
          index: this.attachments,
          logger: logger.child({ part: 'networks' }),
          metrics,
          options: options.networks,
        })
      : undefined;
    this.networkStatus = deps.podAnnotator
      ? new NetStatusWriter({
          store: deps.store,
          pods: deps.podAnnotator,
          index: this.attachments,
          podUid: (podKey) => this.podUid(podKey),
          logger: logger.child({ part: 'netstatus' }),
          metrics,
          options: options.networkStatus,
        })
      : undefined;
    const feedDeps = { mirror: this.mirror, keyspace, logger, metrics };
    const feedOf = (r: (typeof RESOURCES)[number]): Feed => {
      const feed = r.feed(feedDeps);
      if (r.kind === 'service' && this.allocator) return this.allocator.tee(feed);
      if (r.kind === 'netattach' && this.networks) return this.networks.tee(feed);
      if (r.kind === 'pod' && this.networkStatus) return this.networkStatus.tee(feed);
      return feed;
    };
    this.reflectors = RESOURCES.map(
      (r) =>
        new Reflector(
          deps.kube,
          feedOf(r),
          { ...options.reflector, path: r.path, optional: r.optional },
          {
            logger: logger.child({ part: 'reflector' }),
            metrics,
            onSynced: () => this.syncer.wake.notify(),
            onListed: (objects) => objects >= BULK_OBJECTS && bulkDone(),
          },
        ),
    );
    this.elector = new Elector({
      store: deps.store,
      key: keyspace.key({ kind: 'ksrStatus' }),
      identity: options.identity,
      ttlSeconds: options.leaseTtlSeconds,
      pollMs: options.campaignPollMs,
      logger: logger.child({ part: 'leader' }),
      initialValue: () => statusValue({ leader: options.identity, counts: {}, heartbeat: new Date() }),
    });
  }

  /** Runs until `signal` aborts; then gives up leadership. */
  async run(signal: AbortSignal): Promise<void> {
    const reflecting = Promise.all(this.reflectors.map((r) => r.run(signal)));
    while (!signal.aborted) {
      const term = await this.elector.campaign(signal);
      if (!term) break;
      this.term = term;
      this.d.metrics.leader.set(1);
      const onAbort = (): void => void term.end('shutting down');
      signal.addEventListener('abort', onAbort, { once: true });
      const leading = this.networks !== undefined || this.networkStatus !== undefined;
      await Promise.all([
        this.syncer.run(term),
        this.allocator?.run(term),
        leading ? this.attachments.run(term.signal) : undefined,
        this.networks?.run(term),
        this.networkStatus?.run(term),
      ]);
      this.turns.idle();
      signal.removeEventListener('abort', onAbort);
      await term.end('term over');
      this.term = undefined;
      this.d.metrics.leader.set(0);
    }
    await reflecting;
    this.compactor.stop();
  }

  /** The reflected pod's UID, from the mirror (`<namespace>/<pod>`). */
  private podUid(podKey: string): string | undefined {
    const slash = podKey.indexOf('/');
    const key = this.d.keyspace.key({
      kind: 'pod',
      namespace: podKey.slice(0, slash),
      name: podKey.slice(slash + 1),
    });
    const value = this.mirror.get(key);
    if (value === undefined) return undefined;
    const uid = (JSON.parse(value) as { uid?: unknown }).uid;
    return typeof uid === 'string' ? uid : '';
  }

  get isLeader(): boolean {
    return this.term !== undefined && !this.term.signal.aborted;
  }

  /**
   * Readiness: every resource listed, and the mirror maintained: on the leader, the term's
   * first full sync written; on a standby, another replica seen leading. A standby with warm
   * caches is ready: it can take over at once (and a rollout of two replicas can proceed).
   */
  ready(): string | null {
    const waiting = this.reflectors.filter((r) => !r.synced).map((r) => r.kind);
    if (waiting.length > 0) return `waiting for the first list of ${waiting.join(', ')}`;
    if (this.isLeader) return this.syncer.termSynced ? null : 'leader: first full sync to etcd not done yet';
    return this.elector.otherLeader === undefined ? 'no leader elected yet' : null;
  }

  /** Null while alive; else why KSR should be restarted (a leader whose syncer is wedged). */
  liveness(): string | null {
    return this.turns.check();
  }

  /** The /status route. */
  status(): object {
    return {
      identity: this.d.options.identity,
      leader: this.isLeader,
      synced: Object.fromEntries(this.reflectors.map((r) => [r.kind, r.synced])),
      objects: this.mirror.countsByKind(),
      lastFullSync: this.syncer.lastFullSync?.toISOString(),
      lastFullSyncRevision: this.syncer.lastFullSyncRevision,
    };
  }
}
