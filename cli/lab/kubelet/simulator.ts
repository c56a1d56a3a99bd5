// The node simulator: kubelet for every lab node, plus the scheduler. It registers the Nodes and
// keeps their Leases and Ready condition (CNI STATUS decides "network ready", as the runtime's
// does), binds pending pods, and reconciles each pod bound to a lab node with the sandbox records
// on disk: create (netns, CNI ADD, process, status Running) or destroy (process, CNI DEL, netns,
// then the final delete of a terminating pod). One pod is never worked on by two workers at once.
import type { Logger } from '../../../lib/logging.ts';
import { Counter, Gauge, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from '../../../lib/metrics.ts';
import { errorMessage } from '../../../lib/errors.ts';
import type { LabLayout, NodeLayout } from '../layout.ts';
import { delNetns, listNetns } from '../netns.ts';
import type { NodeCni } from './cni-runner.ts';
import { KubeError, type KubeApi, type WatchEvent } from './kube-api.ts';
import {
  leaseObject,
  nodeObject,
  nodeStatus,
  podEvent,
  runningStatus,
  statusUpToDate,
  type EventSpec,
  type NodeReadiness,
} from './objects.ts';
import type { PodRecord, RecordStore } from './records.ts';
import type { Runtime } from './runtime.ts';
import { chooseNode } from './scheduler.ts';
import { podKey, terminal, type Pod, type PodList } from './types.ts';
import { sleep } from '../../../lib/timing.ts';

export interface SimulatorOptions {
  api: KubeApi;
  layout: LabLayout;
  runtime: Runtime;
  records: RecordStore;
  cni: ReadonlyMap<string, NodeCni>;
  logger: Logger;
  workers?: number;
  /** How often CNI STATUS is asked per node. */
  statusEveryMs?: number;
  leaseEveryMs?: number;
  registry?: Registry;
}

interface SimMetrics {
  sandboxSeconds: Histogram;
  failures: Counter;
  bindings: Counter;
}

function simMetrics(registry: Registry | undefined, sim: NodeSimulator): SimMetrics {
  const registers = registry ? [registry] : [];
  new Gauge({
    name: 'netloom_lab_pod_sandboxes',
    help: 'Pod sandboxes the node simulator holds, by node',
    labelNames: ['node'],
    registers,
    collect() {
      this.reset();
      for (const n of sim.status().nodes) this.set({ node: n.name }, n.pods);
    },
  });
  new Gauge({
    name: 'netloom_lab_node_ready',
    help: 'Whether a lab node is Ready (its CNI STATUS succeeds)',
    labelNames: ['node'],
    registers,
    collect() {
      for (const n of sim.status().nodes) this.set({ node: n.name }, n.ready ? 1 : 0);
    },
  });
  return {
    sandboxSeconds: new Histogram({
      name: 'netloom_lab_sandbox_create_seconds',
      help: 'Pod sandbox creation: netns, CNI ADD chain, process',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    failures: new Counter({
      name: 'netloom_lab_pod_sync_failures_total',
      help: 'Pod syncs that failed and will be retried',
      registers,
    }),
    bindings: new Counter({
      name: 'netloom_lab_bindings_total',
      help: 'Pods the lab scheduler bound to a node',
      registers,
    }),
  };
}

const MERGE = 'application/merge-patch+json';

export interface SimulatorStatus {
  nodes: { name: string; ip: string; ready: boolean; reason: string; message: string; pods: number }[];
  pods: {
    namespace: string;
    name: string;
    uid: string;
    node: string;
    ips: string[];
    state: string;
    process: boolean;
    netns: string;
    hostNetwork: boolean;
  }[];
  pending: number;
  listed: boolean;
}

export class NodeSimulator {
  private readonly o: SimulatorOptions;
  private readonly nodes: Map<string, NodeLayout>;
  private readonly pods = new Map<string, Pod>();
  private readonly recs = new Map<string, PodRecord>();
  private readonly readiness = new Map<string, NodeReadiness>();
  private readonly queue = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly again = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly lastStatusPatch = new Map<string, number>();
  private wakeWorkers: (() => void)[] = [];
  private registered = false;
  private listed = false;
  private turn = 0;
  private readonly metrics: SimMetrics;

  constructor(o: SimulatorOptions) {
    this.o = o;
    this.metrics = simMetrics(o.registry, this);
    this.nodes = new Map(o.layout.nodes.map((n) => [n.name, n]));
    for (const n of o.layout.nodes)
      this.readiness.set(n.name, {
        ready: false,
        reason: 'NetworkPluginNotReady',
        message: 'CNI STATUS not asked yet',
        since: new Date(),
      });
  }

  ready(): string | null {
    if (!this.registered) return 'nodes not registered yet';
    if (!this.listed) return 'pods not listed yet';
    return null;
  }

  status(): SimulatorStatus {
    const count = new Map<string, number>();
    for (const r of this.recs.values()) count.set(r.node, (count.get(r.node) ?? 0) + 1);
    return {
      nodes: [...this.nodes.values()].map((n) => {
        const r = this.readiness.get(n.name)!;
        return {
          name: n.name,
          ip: n.ip,
          ready: r.ready,
          reason: r.reason,
          message: r.message,
          pods: count.get(n.name) ?? 0,
        };
      }),
      pods: [...this.recs.values()].map((r) => ({
        namespace: r.namespace,
        name: r.name,
        uid: r.uid,
        node: r.node,
        ips: r.ips,
        state: r.state,
        process: this.o.runtime.processAlive(r),
        netns: r.netns,
        hostNetwork: r.hostNetwork,
      })),
      pending: [...this.pods.values()].filter((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp)
        .length,
      listed: this.listed,
    };
  }

  async run(signal: AbortSignal): Promise<void> {
    for (const r of this.o.records.all()) this.recs.set(r.uid, r);
    await this.adoptSandboxes();
    await this.registerNodes(signal);
    const loops = [this.nodeLoop(signal), this.watchLoop(signal)];
    for (let i = 0; i < (this.o.workers ?? 6); i++) loops.push(this.worker(signal));
    await Promise.all(loops);
    for (const t of this.timers.values()) clearTimeout(t);
  }

  // ---- nodes -------------------------------------------------------------------------------

  private async registerNodes(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for (const n of this.nodes.values()) await this.registerNode(n);
        this.registered = true;
        return;
      } catch (err) {
        this.o.logger.warn({ err: errorMessage(err) }, 'cannot register nodes yet; retrying');
        await sleep(1_000, signal);
      }
    }
  }

  private async registerNode(n: NodeLayout): Promise<void> {
    try {
      await this.o.api.call('POST', '/api/v1/nodes', nodeObject(n.name, this.o.layout.name));
      this.o.logger.info({ node: n.name }, 'node registered');
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 409)) throw err;
    }
    await this.patchNodeStatus(n);
    await this.renewLease(n);
  }

  private async patchNodeStatus(n: NodeLayout): Promise<void> {
    const r = this.readiness.get(n.name)!;
    await this.o.api.call('PATCH', `/api/v1/nodes/${n.name}/status`, nodeStatus(n.name, n.ip, r), MERGE);
    this.lastStatusPatch.set(n.name, Date.now());
  }

  private async renewLease(n: NodeLayout): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${n.name}`;
    const lease = leaseObject(n.name);
    try {
      await this.o.api.call('PATCH', path, { spec: lease['spec'] }, MERGE);
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 404)) throw err;
      await this.o.api.call('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease);
    }
  }

  /** Per node: CNI STATUS decides Ready; the Lease is renewed; status re-sent on change or every minute. */
  private async nodeLoop(signal: AbortSignal): Promise<void> {
    // CNI STATUS costs a shim start per node: ask often only while a node is not ready.
    const statusEvery = this.o.statusEveryMs ?? 10_000;
    const notReadyEvery = Math.min(statusEvery, 2_000);
    const leaseEvery = this.o.leaseEveryMs ?? 10_000;
    let lastLease = 0;
    while (!signal.aborted) {
      await Promise.all(
        [...this.nodes.values()].map(async (n) => {
          const before = this.readiness.get(n.name)!;
          let next: NodeReadiness;
          try {
            const chain = this.o.cni.get(n.name)!;
            await chain.runner.status(chain.list);
            next = {
              ready: true,
              reason: 'KubeletReady',
              message: 'kubelet is posting ready status; network plugin ready',
              since: before.since,
            };
          } catch (err) {
            next = {
              ready: false,
              reason: 'NetworkPluginNotReady',
              message: `network plugin not ready: ${errorMessage(err)}`,
              since: before.since,
            };
          }
          if (next.ready !== before.ready) {
            next.since = new Date();
            this.o.logger.info(
              { node: n.name, ready: next.ready, message: next.message },
              'node readiness changed',
            );
            // Pods waiting for a ready node, or for this node's network, get another chance at once.
            if (next.ready) {
              for (const p of this.pods.values()) {
                const uid = p.metadata.uid;
                const waiting =
                  !p.spec.nodeName || (p.spec.nodeName === n.name && this.recs.get(uid)?.state !== 'ready');
                if (!waiting) continue;
                clearTimeout(this.timers.get(uid));
                this.timers.delete(uid);
                this.failures.delete(uid);
                this.enqueue(uid);
              }
            }
          }
          this.readiness.set(n.name, next);
          try {
            if (
              next.ready !== before.ready ||
              next.message !== before.message ||
              Date.now() - (this.lastStatusPatch.get(n.name) ?? 0) > 60_000
            ) {
              await this.patchNodeStatus(n);
            }
            if (Date.now() - lastLease >= leaseEvery) await this.renewLease(n);
          } catch (err) {
            if (err instanceof KubeError && err.status === 404) await this.registerNode(n).catch(() => {});
            else this.o.logger.warn({ node: n.name, err: errorMessage(err) }, 'node heartbeat failed');
          }
        }),
      );
      if (Date.now() - lastLease >= leaseEvery) lastLease = Date.now();
      const allReady = [...this.readiness.values()].every((r) => r.ready);
      await sleep(Math.min(allReady ? statusEvery : notReadyEvery, leaseEvery), signal);
    }
  }

  // ---- pods: list and watch ----------------------------------------------------------------

  private async watchLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let rv: string;
      try {
        const list = await this.o.api.get<PodList>('/api/v1/pods?limit=0');
        const seen = new Set<string>();
        for (const p of list.items) {
          seen.add(p.metadata.uid);
          this.pods.set(p.metadata.uid, p);
          this.enqueue(p.metadata.uid);
        }
        for (const uid of [...this.pods.keys()]) if (!seen.has(uid)) this.pods.delete(uid);
        for (const uid of this.recs.keys()) if (!seen.has(uid)) this.enqueue(uid);
        this.listed = true;
        rv = list.metadata.resourceVersion;
      } catch (err) {
        this.o.logger.warn({ err: errorMessage(err) }, 'cannot list pods; retrying');
        await sleep(1_000, signal);
        continue;
      }
      // Watch until the server ends the stream or says the revision is gone (410): then relist.
      let relist = false;
      while (!signal.aborted && !relist) {
        try {
          await this.o.api.watch(
            '/api/v1/pods',
            rv,
            (e: WatchEvent) => {
              const obj = e.object as unknown as Pod & { code?: number };
              if (e.type === 'ERROR') {
                relist = true;
                return;
              }
              if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
              if (e.type === 'BOOKMARK') return;
              if (e.type === 'DELETED') this.pods.delete(obj.metadata.uid);
              else this.pods.set(obj.metadata.uid, obj);
              this.enqueue(obj.metadata.uid);
            },
            signal,
          );
        } catch (err) {
          if (signal.aborted) break;
          this.o.logger.warn({ err: errorMessage(err) }, 'pod watch failed; relisting');
          relist = true;
          await sleep(500, signal);
        }
      }
    }
  }

  // ---- the work queue ----------------------------------------------------------------------

  private enqueue(uid: string): void {
    if (this.inFlight.has(uid)) {
      this.again.add(uid);
      return;
    }
    this.queue.add(uid);
    this.wakeWorkers.shift()?.();
  }

  private retryLater(uid: string): void {
    const n = (this.failures.get(uid) ?? 0) + 1;
    this.failures.set(uid, n);
    const delay = Math.min(500 * 2 ** (n - 1), 30_000);
    clearTimeout(this.timers.get(uid));
    this.timers.set(
      uid,
      setTimeout(() => {
        this.timers.delete(uid);
        this.enqueue(uid);
      }, delay),
    );
  }

  private async worker(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const uid = this.queue.values().next().value;
      if (uid === undefined) {
        await new Promise<void>((resolve) => {
          this.wakeWorkers.push(resolve);
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        continue;
      }
      this.queue.delete(uid);
      this.inFlight.add(uid);
      try {
        await this.sync(uid);
        this.failures.delete(uid);
      } catch (err) {
        const pod = this.pods.get(uid);
        this.metrics.failures.inc();
        this.o.logger.warn(
          { pod: pod ? podKey(pod) : uid, err: errorMessage(err) },
          'pod sync failed; will retry',
        );
        this.retryLater(uid);
      } finally {
        this.inFlight.delete(uid);
        if (this.again.delete(uid)) this.enqueue(uid);
      }
    }
  }

  // ---- one pod -----------------------------------------------------------------------------

  private async sync(uid: string): Promise<void> {
    const pod = this.pods.get(uid);
    let rec = this.recs.get(uid);
    const node = pod?.spec.nodeName ? this.nodes.get(pod.spec.nodeName) : undefined;

    const wanted =
      pod !== undefined && !pod.metadata.deletionTimestamp && !terminal(pod) && node !== undefined;
    if (!wanted) {
      if (rec) {
        await this.o.runtime.destroy(rec, pod);
        this.recs.delete(uid);
        this.o.logger.info({ pod: `${rec.namespace}/${rec.name}`, node: rec.node }, 'pod sandbox removed');
      }
      if (pod?.metadata.deletionTimestamp && node) await this.finalDelete(pod);
      else if (pod && !pod.spec.nodeName && !pod.metadata.deletionTimestamp) await this.schedule(pod);
      return;
    }

    // A sandbox half-made by a crashed simulator, or one whose namespace vanished: start over.
    if (rec && (rec.state !== 'ready' || rec.node !== node.name)) {
      await this.o.runtime.destroy(rec, pod);
      this.recs.delete(uid);
      rec = undefined;
    }
    if (!rec) {
      const t0 = Date.now();
      let phases;
      try {
        ({ rec, phases } = await this.o.runtime.create(pod, node));
      } catch (err) {
        this.event(pod, {
          node: node.name,
          type: 'Warning',
          reason: 'FailedCreatePodSandBox',
          message: `Failed to create pod sandbox: ${errorMessage(err)}`,
        });
        // Keep the partial record: the next attempt tears it down first.
        const partial = this.o.records.all().find((r) => r.uid === uid);
        if (partial) this.recs.set(uid, partial);
        throw err;
      }
      this.recs.set(uid, rec);
      this.metrics.sandboxSeconds.observe((Date.now() - t0) / 1000);
      this.o.logger.info(
        { pod: podKey(pod), node: node.name, ips: rec.ips, ms: Date.now() - t0, ...phases },
        'pod sandbox ready',
      );
      this.event(pod, {
        node: node.name,
        type: 'Normal',
        reason: 'Started',
        message: `Started sandbox ${rec.netns} with IP ${rec.ips.join(', ')}`,
      });
    } else if (!this.o.runtime.processAlive(rec)) {
      rec = this.o.runtime.restartProcess(pod, rec);
      this.recs.set(uid, rec);
      this.o.logger.info({ pod: podKey(pod), restarts: rec.restartCount }, 'pod process restarted');
    }
    const up = this.o.runtime.processAlive(rec);
    if (!statusUpToDate(pod, rec, up)) {
      await this.o.api.call(
        'PATCH',
        `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`,
        runningStatus(pod, rec, node.ip, up),
        MERGE,
      );
    }
  }

  private async schedule(pod: Pod): Promise<void> {
    if ((pod.spec.schedulerName ?? 'default-scheduler') !== 'default-scheduler') return;
    const load = new Map<string, number>();
    for (const p of this.pods.values()) {
      const n = p.spec.nodeName;
      if (n && !terminal(p)) load.set(n, (load.get(n) ?? 0) + 1);
    }
    const nodes = [...this.nodes.values()].map((n) => ({
      name: n.name,
      labels: {
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'netloom.io/lab': this.o.layout.name,
      },
      ready: this.readiness.get(n.name)?.ready ?? false,
    }));
    const chosen = chooseNode(pod, nodes, load, this.turn++);
    if (!chosen) {
      // Nothing fits (no ready node): look again when a node turns ready, or in a while.
      this.retryLater(pod.metadata.uid);
      return;
    }
    // Counted at once, so parallel workers spread pods instead of piling onto one node.
    pod.spec.nodeName = chosen;
    try {
      await this.o.api.call(
        'POST',
        `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/binding`,
        {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: chosen },
        },
      );
    } catch (err) {
      delete pod.spec.nodeName;
      if (err instanceof KubeError && (err.status === 404 || err.status === 409)) return;
      throw err;
    }
    this.metrics.bindings.inc();
    this.event(pod, {
      node: chosen,
      type: 'Normal',
      reason: 'Scheduled',
      message: `Successfully assigned ${podKey(pod)} to ${chosen}`,
      component: 'default-scheduler',
    });
    this.enqueue(pod.metadata.uid);
  }

  /** Kubelet's last word on a terminating pod: delete it for good (grace 0, this UID only). */
  private async finalDelete(pod: Pod): Promise<void> {
    try {
      await this.o.api.call(
        'DELETE',
        `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`,
        {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid },
        },
      );
    } catch (err) {
      if (err instanceof KubeError && (err.status === 404 || err.status === 409)) return;
      throw err;
    }
  }

  private event(pod: Pod, spec: EventSpec): void {
    this.o.api
      .call('POST', `/api/v1/namespaces/${pod.metadata.namespace}/events`, podEvent(pod, spec))
      .catch((err: unknown) => this.o.logger.debug({ err: errorMessage(err) }, 'event not recorded'));
  }

  /**
   * At start: pod namespaces no record names are removed (a crash between `ip netns add` and the
   * record), records whose namespace vanished are rebuilt, and each node's CNI plugins are told
   * which attachments exist (GC), so nothing leaks from a crash of an earlier simulator.
   */
  private async adoptSandboxes(): Promise<void> {
    const existing = new Set(await listNetns());
    const known = new Set([...this.recs.values()].map((r) => r.netns));
    const prefix = `${this.o.layout.netnsPrefix}pod-`;
    for (const ns of existing) {
      if (ns.startsWith(prefix) && !known.has(ns)) {
        this.o.logger.info({ netns: ns }, 'removing an orphan pod namespace');
        await delNetns(ns);
      }
    }
    for (const r of this.recs.values()) {
      if (!r.hostNetwork && r.state === 'ready' && !existing.has(r.netns)) {
        this.o.logger.warn(
          { pod: `${r.namespace}/${r.name}`, netns: r.netns },
          'pod namespace is gone; the sandbox will be made again',
        );
        r.state = 'creating';
      }
    }
    for (const n of this.nodes.values()) {
      const valid = [...this.recs.values()]
        .filter((r) => r.node === n.name && !r.hostNetwork)
        .map((r) => ({ containerID: r.containerId, ifname: 'eth0' }));
      const chain = this.o.cni.get(n.name)!;
      await chain.runner
        .gc(chain.list, valid)
        .catch((err: unknown) =>
          this.o.logger.info({ node: n.name, err: errorMessage(err) }, 'CNI GC not done'),
        );
    }
  }
}
