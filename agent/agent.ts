// A node's agent once assembled (agent/assemble.ts builds it): it keeps the cluster view in step
// with etcd and feeds the pipeline, runs the periodic resync and IPAM leak collection, serves
// CNI, and says whether the node is ready. Ready means one thing everywhere (readyz, CNI ADD,
// CNI STATUS): the node's identity is in place, the first resync is done, and the node's own
// items — its pod gateway and, with an overlay, its VXLAN end — are applied. Live means its
// loops move (lib/liveness.ts): the view sync has not ended and no view update or scheduler
// transaction has run longer than --liveness-stuck-seconds.
import type { Logger } from '../lib/logging.ts';
import type { Registry } from '../lib/metrics.ts';
import type { Store } from '../lib/etcd/store.ts';
import { errorMessage } from '../lib/errors.ts';
import { LoopPulse, overdue } from '../lib/liveness.ts';
import type { Keyspace } from '../lib/keyspace.ts';
import type { AttachmentStore } from './attachments/store.ts';
import { startCniServer, type CniServer } from './cni-server/server.ts';
import { CniService } from './cni-server/service.ts';
import { NetnsCheck } from './cni-server/netns-path.ts';
import { netnsPath } from '../lib/iproute.ts';
import type { AgentConfig } from './config.ts';
import type { PodIpam } from './ipam/allocator.ts';
import type { NodeIpam } from './ipam/node-ipam.ts';
import type { AttachmentPublisher } from './attachments/publisher.ts';
import { agentNetworks } from './cni-server/networks.ts';
import { LeakCollector } from './ipam/leaks.ts';
import { addressKey, overlayKey } from './items/keys.ts';
import type { NodeIdentity } from './nodeid/identity.ts';
import type { PidLock } from './nodeid/pid-lock.ts';
import { DepartedNodes } from './nodeid/release.ts';
import type { Pipeline } from './pipeline/pipeline.ts';
import type { NodeContext } from './renderers/context.ts';
import { explain, type Explanation, type Flow } from './renderers/policy.ts';
import type { Driver } from './scheduler/descriptor.ts';
import type { KvScheduler } from './scheduler/scheduler.ts';
import { planHealthChecks } from './service-health/plan.ts';
import { HealthCheckServers } from './service-health/servers.ts';
import type { PeerAudit } from './view/peer-audit.ts';
import type { ClusterView } from './view/view.ts';
import { runViewSync, type ViewUpdate } from './view/watcher.ts';

export interface AgentParts {
  config: AgentConfig;
  store: Store;
  logger: Logger;
  registry: Registry;
  keyspace: Keyspace;
  ctx: NodeContext;
  identity: NodeIdentity;
  /** The default network's allocator (the node's pod subnet). */
  ipam: PodIpam;
  /** Every allocator of the node: the default network's and one per custom network. */
  nodeIpam: NodeIpam;
  /** Publishes the node's attachments (attachments/<node>/…) for network-status. */
  publisher: AttachmentPublisher;
  driver: Driver;
  /** Whether close() closes the driver (false when the caller built it). */
  ownsDriver: boolean;
  scheduler: KvScheduler;
  pipeline: Pipeline;
  view: ClusterView;
  /** Reports peers' nodes/info records that disagree with their node IDs. */
  peerAudit: PeerAudit;
  attachments: AttachmentStore;
  lock: PidLock;
  /** The multi-cluster mesh (--mesh, agent/mesh/): started with the view sync, closed before the scheduler. */
  mesh?: { start(): void; close(): Promise<void> };
}

export class Agent {
  readonly identity: NodeIdentity;
  readonly ipam: PodIpam;
  readonly scheduler: KvScheduler;
  readonly view: ClusterView;
  readonly pipeline: Pipeline;
  readonly attachments: AttachmentStore;
  readonly cni: CniService;
  private readonly parts: AgentParts;
  private readonly stop = new AbortController();
  private readonly tasks: Promise<void>[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  /** The node's own items that must be applied before it wires pods. */
  private readonly baseKeys: string[];
  private synced = false;
  /** The view sync loop: an update it hands on counts as work until the pipeline is done with it. */
  private readonly viewPulse: LoopPulse;
  private departed: DepartedNodes | undefined;
  private cniServer: CniServer | undefined;
  /** The health-check node ports (--health-check-node-ports). */
  private readonly healthChecks: HealthCheckServers | undefined;

  constructor(parts: AgentParts) {
    this.parts = parts;
    this.identity = parts.identity;
    this.ipam = parts.ipam;
    this.scheduler = parts.scheduler;
    this.view = parts.view;
    this.pipeline = parts.pipeline;
    this.attachments = parts.attachments;
    const { ctx } = parts;
    this.viewPulse = new LoopPulse('cluster view sync', {
      stuckAfterMs: parts.config.livenessStuckSeconds * 1000,
    });
    this.baseKeys = [addressKey(0, ctx.gateway), ...(ctx.tunnelEndpoint !== '' ? [overlayKey(ctx.vni)] : [])];
    this.healthChecks = parts.config.healthCheckNodePorts
      ? new HealthCheckServers({
          host: '0.0.0.0',
          // A node whose agent is not ready may not have programmed the Service: not healthy.
          healthy: () => this.readiness() === null,
          logger: parts.logger.child({ part: 'health-check-node-ports' }),
          registry: parts.registry,
        })
      : undefined;
    this.cni = new CniService({
      ipam: parts.nodeIpam,
      attachments: parts.attachments,
      pods: parts.pipeline,
      items: parts.scheduler,
      ready: () => {
        const why = this.readiness();
        return why === null ? { ready: true } : { ready: false, reason: why };
      },
      logger: parts.logger.child({ part: 'cni' }),
      registry: parts.registry,
      addTimeoutMs: parts.config.cniAddTimeoutMs,
      // A pod's namespace must be a real one other than the node's (the lab's node namespace
      // included). A path that is not there is refused up front where the kernel is the data
      // plane; VPP's fake server models namespaces of its own, so there it is left to the driver.
      netnsCheck: new NetnsCheck({
        missing: parts.config.dataplane === 'linux' ? 'refuse' : 'defer',
        hostPaths: parts.config.linuxNetns ? [netnsPath(parts.config.linuxNetns)] : [],
      }),
      networks: agentNetworks({
        view: parts.view,
        network: (name) => parts.pipeline.network(name),
        publisher: parts.publisher,
        binDirs: parts.config.cniBinDirs,
        ...(parts.config.linuxNetns ? { runIn: parts.config.linuxNetns } : {}),
        podWaitMs: parts.config.podWaitMs,
        logger: parts.logger.child({ part: 'multinet' }),
      }),
    });
  }

  /** This node's pod subnet, gateway and ID, as the renderers see them. */
  get node(): NodeContext {
    return this.parts.ctx;
  }

  /** Null when the agent can serve pods; else why not. */
  readiness(): string | null {
    const identity = this.identity.readiness();
    if (identity !== null) return identity;
    if (!this.synced) return 'first resync not done';
    const missing = this.baseKeys.filter((k) => this.scheduler.status(k)?.state !== 'configured');
    return missing.length === 0 ? null : `node items not applied: ${missing.join(', ')}`;
  }

  /**
   * Null while the agent's loops move; else why it should be restarted: the view sync ended, or
   * a view update or scheduler transaction is wedged. Waiting for etcd is not held against it.
   */
  liveness(now = Date.now()): string | null {
    const txn = this.scheduler.running();
    const reasons = [
      this.viewPulse.check(),
      txn &&
        overdue(
          `scheduler: stuck on transaction #${txn.seq} (${txn.kind}: ${txn.description})`,
          txn.sinceMs,
          now,
          this.parts.config.livenessStuckSeconds * 1000,
        ),
    ].filter((r) => typeof r === 'string');
    return reasons.length === 0 ? null : reasons.join('; ');
  }

  /** The policy engine's verdict on a flow, from this agent's view of the cluster. */
  explain(flow: Flow): Explanation {
    const { view } = this;
    return explain(
      {
        namespaces: view.namespaces.items,
        pods: view.pods.items,
        policies: view.policies.items,
        nodes: view.nodes.items,
      },
      flow,
    );
  }

  /** Serves CNI on a unix socket (mode 0600). */
  async serveCni(socketPath: string): Promise<void> {
    this.cniServer = await startCniServer({
      socketPath,
      service: this.cni,
      logger: this.parts.logger.child({ part: 'cni' }),
    });
  }

  /** Stops everything and releases the node (its lease is revoked: nodes/info goes at once). */
  async close(): Promise<void> {
    await this.halt();
    if (this.parts.ownsDriver) await this.parts.driver.close?.();
    await this.identity.close();
    this.parts.lock.release();
  }

  /**
   * Stops in place, as kill -9 would leave things, for tests and benchmarks that restart an
   * agent in-process: the data plane, the state files and the lease are left as they are.
   */
  async kill(): Promise<void> {
    await this.cniServer?.close(0);
    await this.halt();
    if (this.parts.ownsDriver) await this.parts.driver.close?.();
    await this.identity.abandon();
    this.parts.lock.release();
  }

  /** Starts the view sync and the periodic tasks. */
  run(): void {
    const { config, logger, store, keyspace } = this.parts;
    if (config.releaseDeletedNodesAfterSeconds > 0) {
      this.departed = new DepartedNodes({
        store,
        keyspace,
        view: this.view,
        delayMs: config.releaseDeletedNodesAfterSeconds * 1000,
        logger,
      });
    }
    this.parts.mesh?.start();
    const pulse = this.viewPulse;
    this.tasks.push(
      pulse
        .follow(
          runViewSync({
            store,
            keyspace,
            view: this.view,
            logger,
            signal: this.stop.signal,
            onUpdate: (u) => pulse.work(`${u.type} at revision ${u.revision}`, () => this.onViewUpdate(u)),
          }),
        )
        // /livez now fails, so the kubelet restarts the agent (which rebuilds its view).
        .catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'cluster view sync stopped')),
    );
    // A data plane that came back (VPP restarted, maybe empty) is resynced at once, not at the
    // next periodic resync: its pods have no network until then.
    this.parts.driver.onRestart?.(() => {
      if (this.stop.signal.aborted) return;
      this.parts.logger.info('data plane reconnected: resyncing');
      void this.pipeline
        .resync(true, 'data plane restarted')
        .then(() => this.parts.publisher.changed())
        .catch((err: unknown) =>
          this.parts.logger.warn({ err: errorMessage(err) }, 'resync after a data plane restart failed'),
        );
    });
    if (config.resyncIntervalSeconds > 0)
      this.every(config.resyncIntervalSeconds, async () => {
        await this.pipeline.resync(true, 'periodic resync');
        this.parts.publisher.changed();
      });
    if (config.ipamGcIntervalSeconds > 0) {
      const leaks = new LeakCollector(
        this.parts.nodeIpam,
        {
          mirrorComplete: () => (this.view.ksrStatus?.lastFullSync ?? '') !== '',
          podExists: (ns, name) => this.view.pods.get(`${ns}/${name}`) !== undefined,
          hasInterface: (cid, ifname) => this.attachments.get(cid, ifname) !== undefined,
        },
        logger.child({ part: 'ipam-gc' }),
      );
      this.every(config.ipamGcIntervalSeconds, async () => void (await leaks.run()));
    }
  }

  private async onViewUpdate(u: ViewUpdate): Promise<void> {
    if (u.type === 'changes') {
      this.departed?.observe(u.changes);
      this.parts.peerAudit.observe(u.changes);
      await this.pipeline.onViewChanges(u.changes);
      if (u.changes.some((c) => c.kind === 'service' || c.kind === 'endpoints'))
        await this.refreshHealthChecks();
      return;
    }
    this.parts.peerAudit.all();
    // The first resync reads the data plane back: a restarted agent repairs only what differs.
    const first = !this.synced;
    const rec = await this.pipeline.resync(first, `view ${u.reason} at revision ${u.revision}`);
    this.parts.logger.info(
      { reason: u.reason, revision: u.revision, counts: rec.counts, errors: rec.errors.length },
      'resynced',
    );
    this.synced = true;
    // The networks the node's pods use are known now: their allocators can load, and the
    // records of what is attached can name their MACs.
    await this.parts.nodeIpam.loadNetworks(this.attachments.all().map((a) => a.network));
    this.parts.publisher.changed();
    await this.refreshHealthChecks();
  }

  private async refreshHealthChecks(): Promise<void> {
    const { view } = this;
    await this.healthChecks?.update(
      planHealthChecks(view.services.items, (name) => view.endpoints.get(name), this.parts.ctx.node),
    );
  }

  /** The health-check node ports being answered (listening) now. */
  healthCheckPorts(): number[] {
    return this.healthChecks?.listening() ?? [];
  }

  private async halt(): Promise<void> {
    await this.cniServer?.close();
    await this.healthChecks?.close();
    this.viewPulse.stop();
    this.stop.abort();
    for (const t of this.timers) clearInterval(t);
    this.departed?.close();
    await Promise.allSettled(this.tasks);
    await this.parts.mesh?.close();
    await this.scheduler.close();
  }

  private every(seconds: number, work: () => Promise<void>): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy || this.stop.signal.aborted) return;
      busy = true;
      work()
        .catch((err: unknown) => this.parts.logger.warn({ err: errorMessage(err) }, 'periodic task failed'))
        .finally(() => (busy = false));
    }, seconds * 1000);
    t.unref();
    this.timers.push(t);
  }
}
