// The agent, assembled: one per node. Start order matters — the node's identity (ID claim,
// nodes/info as the one-agent-per-node lock) before IPAM (its subnet comes from the ID), the
// driver and scheduler before the first resync, the first resync (which reads the data plane
// back, so a restart changes only what differs) before the agent reports ready.
import type { Logger } from '../lib/logging.ts';
import type { Registry } from '../lib/metrics.ts';
import { Gauge } from '../lib/metrics.ts';
import type { Store } from '../lib/etcd/store.ts';
import { errorMessage } from '../lib/errors.ts';
import { Keyspace } from '../lib/keyspace.ts';
import { DEFAULT_CNI_SOCKET, startCniServer, type CniServer } from './cni-server/server.ts';
import { CniService } from './cni-server/service.ts';
import { AttachmentStore } from './attachments/store.ts';
import type { AgentConfig } from './config.ts';
import { loadDriver } from './drivers.ts';
import { PodIpam } from './ipam/allocator.ts';
import { LeakCollector } from './ipam/leaks.ts';
import { AddressPlan } from './ipam/plan.ts';
import { NodeIdentity } from './nodeid/identity.ts';
import { acquirePidLock, type PidLock } from './nodeid/pid-lock.ts';
import { DepartedNodes } from './nodeid/release.ts';
import { Pipeline, type PodSource } from './pipeline/pipeline.ts';
import { renderPodAttachment } from './renderers/pods.ts';
import type { NodeContext } from './renderers/context.ts';
import type { Driver } from './scheduler/descriptor.ts';
import { KvScheduler } from './scheduler/scheduler.ts';
import { ClusterView } from './view/view.ts';
import { runViewSync, type ViewUpdate } from './view/watcher.ts';

export interface AgentDeps {
  store: Store;
  logger: Logger;
  registry: Registry;
  /** Overrides the configured driver (tests). */
  driver?: Driver;
  /** Overrides the default pod source (the CNI server, once wired). */
  pods?: (ctx: NodeContext) => PodSource;
}

export class Agent {
  readonly keyspace: Keyspace;
  readonly identity: NodeIdentity;
  readonly ipam: PodIpam;
  readonly scheduler: KvScheduler;
  readonly view: ClusterView;
  readonly pipeline: Pipeline;
  readonly attachments: AttachmentStore;
  private readonly deps: AgentDeps;
  private readonly config: AgentConfig;
  private readonly driver: Driver;
  private readonly lock: PidLock;
  private readonly stop = new AbortController();
  private readonly tasks: Promise<void>[] = [];
  private synced = false;
  private timers: NodeJS.Timeout[] = [];
  private departed: DepartedNodes | undefined;
  private cniServer: CniServer | undefined;

  private constructor(parts: {
    config: AgentConfig;
    deps: AgentDeps;
    keyspace: Keyspace;
    identity: NodeIdentity;
    ipam: PodIpam;
    driver: Driver;
    scheduler: KvScheduler;
    pipeline: Pipeline;
    view: ClusterView;
    attachments: AttachmentStore;
    lock: PidLock;
  }) {
    this.config = parts.config;
    this.deps = parts.deps;
    this.keyspace = parts.keyspace;
    this.identity = parts.identity;
    this.ipam = parts.ipam;
    this.driver = parts.driver;
    this.scheduler = parts.scheduler;
    this.pipeline = parts.pipeline;
    this.view = parts.view;
    this.attachments = parts.attachments;
    this.lock = parts.lock;
  }

  /** Null when the agent can serve pods; else why not. */
  readiness(): string | null {
    if (!this.synced) return 'first resync not done';
    return this.identity.readiness();
  }

  async close(): Promise<void> {
    await this.cniServer?.close();
    this.stop.abort();
    for (const t of this.timers) clearInterval(t);
    this.departed?.close();
    await Promise.allSettled(this.tasks);
    await this.scheduler.close();
    await this.driver.close?.();
    await this.identity.close();
    this.lock.release();
  }

  static async start(config: AgentConfig, managementIp: string, deps: AgentDeps): Promise<Agent> {
    const { store, logger, registry } = deps;
    const keyspace = new Keyspace(config.cluster);
    const plan = new AddressPlan(config);
    const lock = acquirePidLock(config.stateDir);
    let driver: Driver | undefined;
    try {
      // The driver first: a data plane that cannot load must fail before the node claims anything.
      driver =
        deps.driver ??
        (await loadDriver(config.dataplane, {
          stateDir: config.stateDir,
          cluster: config.cluster,
          logger,
          ...(config.linuxNetns ? { netns: config.linuxNetns } : {}),
          vpp: {
            socketPath: config.vppSocket,
            apiDir: config.vppApiDir,
            uplinkInterface: config.vppUplinkInterface,
            uplinkAddress: config.vppUplinkAddress,
          },
        }));
      const attachments = new AttachmentStore(config.stateDir, config.cluster);
      const ipamRef: { current?: PodIpam } = {};
      const identity = await NodeIdentity.start({
        store,
        keyspace,
        node: config.nodeName,
        stateDir: config.stateDir,
        plan,
        managementIp,
        tunnelEndpoint: config.tunnelEndpoint ?? managementIp,
        leaseTtlSeconds: config.leaseTtlSeconds,
        checkMs: config.identityCheckMs,
        settleMs: config.idSettleMs,
        ownerWaitMs: config.ownerWaitMs,
        logger: logger.child({ part: 'identity' }),
        onRestored: async () => void (await ipamRef.current?.reassert()),
      });
      const ipam = new PodIpam({
        store,
        keyspace,
        node: config.nodeName,
        subnet: identity.subnet,
        logger: logger.child({ part: 'ipam' }),
      });
      ipamRef.current = ipam;
      await ipam.load();
      const adopted = ipam.adopt(
        attachments.all().map((a) => ({
          ip: a.ip,
          entry: {
            namespace: a.namespace,
            pod: a.pod,
            containerId: a.containerId,
            ifname: a.ifname,
            network: a.network,
          },
        })),
      );
      if (adopted > 0)
        logger.warn(
          { adopted, rewritten: await ipam.reassert() },
          'IPAM records missing from etcd were written back',
        );

      const scheduler = new KvScheduler({
        driver,
        logger: logger.child({ part: 'scheduler' }),
        registry,
        retry: { auto: config.autoRetry },
      });
      const ctx: NodeContext = {
        node: config.nodeName,
        id: identity.id,
        podSubnet: identity.subnet.cidr,
        gateway: identity.subnet.gateway,
        podPrefixLength: config.nodePrefixLength,
        podCidr: config.podCidr,
        serviceCidr: config.serviceCidr,
        tunnelEndpoint: config.tunnelEndpoint ?? managementIp,
        vni: config.vxlanVni,
        vxlanPort: config.vxlanPort,
        mtu: config.mtu,
      };
      const view = new ClusterView();
      // The CNI server wires this node's pods and is the pipeline's source of their items.
      const agentRef: { current?: Agent } = {};
      const cni = new CniService({
        ipam,
        scheduler,
        attachments,
        render: (a) => renderPodAttachment(ctx, a),
        ready: () => {
          const why = agentRef.current ? agentRef.current.readiness() : 'starting';
          return why === null ? { ready: true } : { ready: false, reason: why };
        },
        logger: logger.child({ part: 'cni' }),
        registry,
        addTimeoutMs: config.cniAddTimeoutMs,
      });
      const pipeline = new Pipeline({
        ctx,
        view,
        scheduler,
        pods: deps.pods ? deps.pods(ctx) : cni,
        subnetOf: (id) => (id >= 1 && id <= plan.maxNodeId ? plan.forNode(id).cidr : undefined),
        gatewayOffset: config.gatewayOffset,
        logger,
      });
      new Gauge({ name: 'netloom_agent_node_id', help: "This node's ID", registers: [registry] }).set(
        identity.id,
      );
      const agent = new Agent({
        config,
        deps,
        keyspace,
        identity,
        ipam,
        driver,
        scheduler,
        pipeline,
        view,
        attachments,
        lock,
      });
      agentRef.current = agent;
      agent.run();
      // No CNI socket for the fake data plane unless asked: it wires nothing real.
      const socketPath = config.cniSocket ?? (config.dataplane === 'fake' ? '' : DEFAULT_CNI_SOCKET);
      if (socketPath !== '')
        agent.cniServer = await startCniServer({
          socketPath,
          service: cni,
          logger: logger.child({ part: 'cni' }),
        });
      return agent;
    } catch (err) {
      if (!deps.driver) await driver?.close?.();
      lock.release();
      throw err;
    }
  }

  private run(): void {
    const { logger } = this.deps;
    let first = true;
    if (this.config.releaseDeletedNodesAfterSeconds > 0) {
      const delayMs = this.config.releaseDeletedNodesAfterSeconds * 1000;
      this.departed = new DepartedNodes({
        store: this.deps.store,
        keyspace: this.keyspace,
        view: this.view,
        delayMs,
        logger,
      });
    }
    const onUpdate = async (u: ViewUpdate): Promise<void> => {
      if (u.type === 'resync') {
        // The first resync reads the data plane back: a restarted agent repairs only what differs.
        const rec = await this.pipeline.resync(first, `view ${u.reason} at revision ${u.revision}`);
        logger.info(
          { reason: u.reason, revision: u.revision, counts: rec.counts, errors: rec.errors.length },
          'resynced',
        );
        first = false;
        this.synced = true;
        return;
      }
      this.departed?.observe(u.changes);
      await this.pipeline.onViewChanges(u.changes);
    };
    this.tasks.push(
      runViewSync({
        store: this.deps.store,
        keyspace: this.keyspace,
        view: this.view,
        logger,
        signal: this.stop.signal,
        onUpdate,
      }).catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'cluster view sync stopped')),
    );
    if (this.config.resyncIntervalSeconds > 0) {
      this.every(
        this.config.resyncIntervalSeconds,
        async () => void (await this.pipeline.resync(true, 'periodic resync')),
      );
    }
    if (this.config.ipamGcIntervalSeconds > 0) {
      const leaks = new LeakCollector(
        this.ipam,
        {
          mirrorComplete: () => (this.view.ksrStatus?.lastFullSync ?? '') !== '',
          podExists: (ns, name) => this.view.pods.get(`${ns}/${name}`) !== undefined,
          hasInterface: (cid, ifname) => this.attachments.get(cid, ifname) !== undefined,
        },
        logger.child({ part: 'ipam-gc' }),
      );
      this.every(this.config.ipamGcIntervalSeconds, async () => void (await leaks.run()));
    }
  }

  private every(seconds: number, work: () => Promise<void>): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy || this.stop.signal.aborted) return;
      busy = true;
      work()
        .catch((err: unknown) => this.deps.logger.warn({ err: errorMessage(err) }, 'periodic task failed'))
        .finally(() => (busy = false));
    }, seconds * 1000);
    t.unref();
    this.timers.push(t);
  }
}
