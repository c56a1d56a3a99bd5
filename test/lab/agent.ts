// A node's agent in-process for the netns lab and the CNI benchmark: the production assembly
// (agent/assemble.ts) with the linux driver in the node's namespace, the CNI server on the
// node's own socket, a node ID claimed in the real etcd and peers learnt from their published
// nodes/info, exactly as `netloom agent` runs. kill() drops it as kill -9 would (data plane,
// state files and lease left as they are); a new start() on the same state dir is a restarted
// agent.
import { silentLogger } from '../../lib/logging.ts';
import { Keyspace } from '../../lib/keyspace.ts';
import { createRegistry, type Registry } from '../../lib/metrics.ts';
import type { Store } from '../../lib/etcd/store.ts';
import { sleep } from '../../lib/timing.ts';
import type { Agent } from '../../agent/agent.ts';
import { assembleAgent } from '../../agent/assemble.ts';
import { agentConfigSchema } from '../../agent/config.ts';
import { createLinuxDriver } from '../../agent/dataplane/linux/driver.ts';
import type { Runner } from '../../agent/dataplane/linux/exec.ts';
import type { TestNode } from '../../agent/dataplane/linux/test-items.ts';
import { AddressPlan } from '../../agent/ipam/plan.ts';
import type { KvScheduler } from '../../agent/scheduler/scheduler.ts';
import type { TxnRecord } from '../../agent/scheduler/txn-log.ts';
import { join } from 'node:path';
import type { Lab } from './netns.ts';

export const CLUSTER = 'lab';
export const PLAN = new AddressPlan({ podCidr: '10.1.0.0/16', nodePrefixLength: 24, gatewayOffset: 1 });

export interface LabNode extends TestNode {
  netns: string;
  socketPath: string;
  stateDir: string;
}

export interface LabAgentOptions {
  node: LabNode;
  store: Store;
  /** The etcd endpoint the store talks to (the agent's config names it). */
  etcdEndpoint?: string;
  /** Runs the linux driver's commands (a counting runner in tests); default: spawn them. */
  runner?: Runner;
  /** The agent's `processRelay` setting (unset: the configuration's default). */
  processRelay?: boolean;
  /** The agent's `podWiring` setting (unset: the configuration's default). */
  podWiring?: 'auto' | 'iproute2' | 'netlink';
  readyTimeoutMs?: number;
}

export class LabAgent {
  readonly node: LabNode;
  readonly agent: Agent;
  /** The start-up resync: what a restarted agent had to change. */
  readonly startup: TxnRecord;
  /** The agent's metrics (CNI request latency by operation). */
  readonly registry: Registry;

  private constructor(node: LabNode, agent: Agent, startup: TxnRecord, registry: Registry) {
    this.node = node;
    this.agent = agent;
    this.startup = startup;
    this.registry = registry;
  }

  get scheduler(): KvScheduler {
    return this.agent.scheduler;
  }

  /** Mean agent-side time of a CNI operation so far (request in to reply out), in ms. */
  async meanCniMs(operation: string): Promise<number> {
    return this.meanMs('netloom_cni_request_duration_seconds', 'operation', operation);
  }

  /** Mean of a histogram's observations with `label` = `value` since the agent started, in ms. */
  async meanMs(metric: string, label: string, value: string): Promise<number> {
    const m = await this.registry.getSingleMetric(metric)?.get();
    const v = (m?.values ?? []) as { metricName?: string; labels: Record<string, unknown>; value: number }[];
    const pick = (suffix: string): number =>
      v.find((x) => x.metricName?.endsWith(suffix) && x.labels[label] === value)?.value ?? NaN;
    return (pick('_sum') / pick('_count')) * 1000;
  }

  /** Forgets every metric observed so far (a benchmark's warm-up). */
  resetMetrics(): void {
    this.registry.resetMetrics();
  }

  static async start(opts: LabAgentOptions): Promise<LabAgent> {
    const { node } = opts;
    const config = agentConfigSchema.parse({
      nodeName: node.name,
      cluster: CLUSTER,
      stateDir: node.stateDir,
      dataplane: 'linux',
      linuxNetns: node.netns,
      cniSocket: node.socketPath,
      managementIp: node.underlayIp,
      ...(opts.etcdEndpoint ? { etcdEndpoints: [opts.etcdEndpoint] } : {}),
      ...(opts.processRelay !== undefined ? { processRelay: opts.processRelay } : {}),
      ...(opts.podWiring !== undefined ? { podWiring: opts.podWiring } : {}),
      // Quick to claim and to take over after a kill, as the lab needs; no periodic work.
      idSettleMs: 0,
      identityCheckMs: 500,
      leaseTtlSeconds: 30,
      ownerWaitMs: 0,
      resyncIntervalSeconds: 0,
      ipamGcIntervalSeconds: 0,
      releaseDeletedNodesAfterSeconds: 0,
    });
    const registry = createRegistry('agent', { processMetrics: false });
    const driver = opts.runner
      ? // Every batch its own process, so a counting runner sees every change (no ip session).
        createLinuxDriver({ hostNetns: node.netns, runner: opts.runner, session: false })
      : undefined;
    const agent = await assembleAgent(config, node.underlayIp, {
      store: opts.store,
      logger: silentLogger(),
      registry,
      ...(driver ? { driver } : {}),
    });
    try {
      const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
      while (agent.readiness() !== null) {
        if (Date.now() > deadline) throw new Error(`${node.name} not ready: ${agent.readiness()}`);
        await sleep(20);
      }
      if (agent.node.id !== node.id)
        throw new Error(`${node.name} claimed node ID ${agent.node.id}, the lab expects ${node.id}`);
      const startup = agent.scheduler.transactions().find((t) => t.kind === 'resync');
      if (!startup) throw new Error(`${node.name}: no start-up resync recorded`);
      return new LabAgent(node, agent, startup, registry);
    } catch (err) {
      await agent.kill();
      if (driver) await driver.close?.();
      throw err;
    }
  }

  /** The periodic resync an agent runs: read the data plane back and repair it. */
  resync(): Promise<TxnRecord> {
    return this.agent.pipeline.resync(true, 'periodic resync');
  }

  /** Gone at once, data plane untouched (kill -9). */
  kill(): Promise<void> {
    return this.agent.kill();
  }
}

/** Writes the lab nodes' Kubernetes Node objects, as KSR would: peers keep a killed agent's routes. */
export async function publishLabNodes(store: Store, nodes: readonly LabNode[]): Promise<void> {
  const keyspace = new Keyspace(CLUSTER);
  for (const n of nodes) {
    await store.put(
      keyspace.key({ kind: 'node', name: n.name }),
      JSON.stringify({ name: n.name, addresses: [{ type: 'InternalIP', address: n.underlayIp }] }),
    );
  }
}

/** One node on its own underlay, its sockets and state under `dir`: what single-node suites and benchmarks start from. */
export async function singleLabNode(lab: Lab, dir: string, suffix = 'n1'): Promise<LabNode> {
  const [u] = await lab.underlay([await lab.netns(suffix)]);
  return {
    name: 'node-1',
    id: 1,
    underlayIp: u!.ip,
    netns: u!.netns,
    socketPath: join(dir, 'cni.sock'),
    stateDir: join(dir, 'state'),
  };
}
