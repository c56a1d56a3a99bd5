// A node agent's pipeline in-process, for the netns lab: IPAM on the real etcd (agent/ipam),
// the attachment store, the agent's renderers (node base, peers, pods), the KV scheduler with
// the linux driver in the node's namespace, the CNI service and its gRPC server on the node's
// own socket. Peers are given (no cluster view, no node-ID claims: the agent process tests
// cover those). kill() drops it without any cleanup, as kill -9 would; a new start() on the
// same state dir is a restarted agent.
import { Keyspace } from '../../lib/keyspace.ts';
import { silentLogger } from '../../lib/logging.ts';
import { createRegistry, type Registry } from '../../lib/metrics.ts';
import type { Store } from '../../lib/etcd/store.ts';
import { AttachmentStore } from '../../agent/attachments/store.ts';
import { startCniServer, type CniServer } from '../../agent/cni-server/server.ts';
import { CniService } from '../../agent/cni-server/service.ts';
import { createLinuxDriver } from '../../agent/dataplane/linux/driver.ts';
import type { Runner } from '../../agent/dataplane/linux/exec.ts';
import type { TestNode } from '../../agent/dataplane/linux/test-items.ts';
import { PodIpam } from '../../agent/ipam/allocator.ts';
import { AddressPlan } from '../../agent/ipam/plan.ts';
import { addressKey, overlayKey } from '../../agent/items/keys.ts';
import type { NodeContext } from '../../agent/renderers/context.ts';
import { renderNodeBase } from '../../agent/renderers/node.ts';
import { renderPeer } from '../../agent/renderers/peers.ts';
import { renderPodAttachment } from '../../agent/renderers/pods.ts';
import { KvScheduler } from '../../agent/scheduler/scheduler.ts';
import type { TxnRecord } from '../../agent/scheduler/txn-log.ts';

export const CLUSTER = 'lab';
export const PLAN = new AddressPlan({ podCidr: '10.1.0.0/16', nodePrefixLength: 24, gatewayOffset: 1 });

export interface LabNode extends TestNode {
  netns: string;
  socketPath: string;
  stateDir: string;
}

export interface LabAgentOptions {
  node: LabNode;
  peers: readonly TestNode[];
  store: Store;
  runner?: Runner;
}

export class LabAgent {
  readonly node: LabNode;
  readonly scheduler: KvScheduler;
  readonly service: CniService;
  readonly ipam: PodIpam;
  /** The start-up resync: what a restarted agent had to change. */
  readonly startup: TxnRecord;
  /** The agent's metrics (CNI request latency by operation). */
  readonly registry: Registry;
  private readonly server: CniServer;

  private constructor(parts: {
    node: LabNode;
    scheduler: KvScheduler;
    service: CniService;
    ipam: PodIpam;
    server: CniServer;
    startup: TxnRecord;
    registry: Registry;
  }) {
    this.node = parts.node;
    this.scheduler = parts.scheduler;
    this.service = parts.service;
    this.ipam = parts.ipam;
    this.server = parts.server;
    this.startup = parts.startup;
    this.registry = parts.registry;
  }

  /** Mean agent-side time of a CNI operation so far (request in to reply out), in ms. */
  async meanCniMs(operation: string): Promise<number> {
    const m = await this.registry.getSingleMetric('netloom_cni_request_duration_seconds')?.get();
    const v = (m?.values ?? []) as { metricName?: string; labels: Record<string, unknown>; value: number }[];
    const pick = (suffix: string): number =>
      v.find((x) => x.metricName?.endsWith(suffix) && x.labels['operation'] === operation)?.value ?? NaN;
    return (pick('_sum') / pick('_count')) * 1000;
  }

  static async start(opts: LabAgentOptions): Promise<LabAgent> {
    const { node } = opts;
    const logger = silentLogger();
    const ipam = new PodIpam({
      store: opts.store,
      keyspace: new Keyspace(CLUSTER),
      node: node.name,
      subnet: PLAN.forNode(node.id),
      logger,
    });
    await ipam.load();
    const driver = createLinuxDriver({
      hostNetns: node.netns,
      ...(opts.runner ? { runner: opts.runner } : {}),
    });
    const scheduler = new KvScheduler({ driver, logger, retry: { initialMs: 50, maxMs: 2_000 } });
    const nodeKeys = [addressKey(0, PLAN.forNode(node.id).gateway), overlayKey(10)];
    const ready = (): { ready: boolean; reason?: string } => {
      const pending = nodeKeys.filter((k) => scheduler.status(k)?.state !== 'configured');
      return pending.length === 0
        ? { ready: true }
        : { ready: false, reason: `node items not applied: ${pending.join(', ')}` };
    };
    const ctx = contextOf(node);
    const render = (a: Parameters<typeof renderPodAttachment>[1]): ReturnType<typeof renderPodAttachment> =>
      renderPodAttachment(ctx, a);
    const attachments = new AttachmentStore(node.stateDir, CLUSTER);
    const registry = createRegistry('agent', { processMetrics: false });
    const service = new CniService({ ipam, scheduler, attachments, render, ready, logger, registry });
    const peers = opts.peers.flatMap((p) =>
      renderPeer(ctx, {
        name: p.name,
        id: p.id,
        tunnelEndpoint: p.underlayIp,
        podSubnet: PLAN.forNode(p.id).cidr,
      }),
    );
    const startup = await scheduler.resync({
      desired: [...renderNodeBase(ctx), ...peers, ...service.items()],
      description: 'agent start',
    });
    const server = await startCniServer({ socketPath: node.socketPath, service, logger });
    return new LabAgent({ node, scheduler, service, ipam, server, startup, registry });
  }

  /** The periodic resync an agent runs: read the data plane back and repair it. */
  resync(): Promise<TxnRecord> {
    return this.scheduler.resync({ description: 'periodic resync' });
  }

  /** Gone at once, data plane untouched (kill -9). */
  async kill(): Promise<void> {
    await this.server.close(0);
    await this.scheduler.close();
  }
}

function contextOf(node: LabNode): NodeContext {
  const subnet = PLAN.forNode(node.id);
  return {
    node: node.name,
    id: node.id,
    podSubnet: subnet.cidr,
    gateway: subnet.gateway,
    podPrefixLength: 24,
    podCidr: '10.1.0.0/16',
    serviceCidr: '10.96.0.0/12',
    tunnelEndpoint: node.underlayIp,
    vni: 10,
    vxlanPort: 4789,
    mtu: 1450,
  };
}
