// The simulated container runtime: a pod sandbox is a network namespace wired by the CNI chain
// (run inside the node's namespace, as the node's runtime would), and the pod's "containers"
// are one echo server started inside it. Teardown is the reverse: process, CNI DEL, namespace.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../../../lib/logging.ts';
import { isAlive, recordOf, startDaemon, stopProcess, type PidRecord } from '../daemon.ts';
import { ROOT } from '../components.ts';
import { podNetns, type LabLayout, type NodeLayout } from '../layout.ts';
import { addNetns, delNetns } from '../netns.ts';
import { k8sArgs, type NodeCni, type RuntimeConf } from './cni-runner.ts';
import type { PodRecord, RecordStore } from './records.ts';
import type { Pod } from './types.ts';
import { addressOf } from '../../../lib/cidr.ts';

const ECHO = join(ROOT, 'cli', 'lab', 'echo-server.ts');
/** Every lab pod answers on this port, whatever it declares. */
export const ECHO_PORT = 8080;

export interface RuntimeOptions {
  layout: LabLayout;
  records: RecordStore;
  /** The CNI chain of each node. */
  cni: ReadonlyMap<string, NodeCni>;
  podProcess: 'echo' | 'none';
  logger: Logger;
}

/** The TCP/UDP ports a pod's echo server listens on: 8080 and every declared container port. */
export function echoPorts(pod: Pod): number[] {
  const ports = new Set<number>([ECHO_PORT]);
  for (const c of pod.spec.containers) for (const p of c.ports ?? []) ports.add(p.containerPort);
  return [...ports].sort((a, b) => a - b);
}

/** containerd's portMappings capability: one entry per declared hostPort. */
export function portMappings(
  pod: Pod,
): { hostPort: number; containerPort: number; protocol: string; hostIP: string }[] {
  return pod.spec.containers.flatMap((c) =>
    (c.ports ?? [])
      .filter((p) => (p.hostPort ?? 0) > 0)
      .map((p) => ({
        hostPort: p.hostPort!,
        containerPort: p.containerPort,
        protocol: (p.protocol ?? 'TCP').toLowerCase(),
        hostIP: p.hostIP ?? '',
      })),
  );
}

/** The pod addresses in a CNI result (any version ≥ 0.3.0: `ips[].address` as CIDR). */
export function resultIps(result: unknown): string[] {
  const ips = (result as { ips?: { address?: string }[] } | undefined)?.ips ?? [];
  return ips.map((i) => addressOf(i.address ?? '')).filter((ip) => ip !== '');
}

/** Where a sandbox's creation spent its time, for the log. */
export interface Phases {
  netnsMs: number;
  cniMs: number;
  processMs: number;
}

export class Runtime {
  private readonly o: RuntimeOptions;

  constructor(o: RuntimeOptions) {
    this.o = o;
  }

  private runtimeConf(pod: Pod, rec: PodRecord): RuntimeConf {
    return {
      containerId: rec.containerId,
      netns: `/run/netns/${rec.netns}`,
      ifname: 'eth0',
      args: k8sArgs(pod.metadata, rec.containerId),
      capabilityArgs: {
        portMappings: portMappings(pod),
        'io.kubernetes.cri.pod-annotations': pod.metadata.annotations ?? {},
      },
    };
  }

  private cniOf(node: string): NodeCni {
    const cni = this.o.cni.get(node);
    if (!cni) throw new Error(`no CNI configuration for node ${node}`);
    return cni;
  }

  /** Creates the sandbox, runs CNI ADD and starts the process; the record is saved at each step. */
  async create(pod: Pod, node: NodeLayout): Promise<{ rec: PodRecord; phases: Phases }> {
    const hostNetwork = pod.spec.hostNetwork === true;
    const rec: PodRecord = {
      uid: pod.metadata.uid,
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      node: node.name,
      netns: hostNetwork ? node.netns : podNetns(this.o.layout, pod.metadata.uid),
      hostNetwork,
      containerId: randomBytes(32).toString('hex'),
      state: 'creating',
      ips: hostNetwork ? [node.ip] : [],
      restartCount: 0,
      startedAt: new Date().toISOString(),
    };
    // Recorded before anything exists, so a crash in between leaves something to clean up.
    this.o.records.save(rec);
    const phases: Phases = { netnsMs: 0, cniMs: 0, processMs: 0 };
    let t = performance.now();
    const lap = (): number => {
      const now = performance.now();
      const ms = Math.round(now - t);
      t = now;
      return ms;
    };
    if (!hostNetwork) {
      await addNetns(rec.netns);
      phases.netnsMs = lap();
      const { runner, list } = this.cniOf(node.name);
      rec.result = await runner.add(list, this.runtimeConf(pod, rec));
      rec.ips = resultIps(rec.result);
      this.o.records.save(rec);
      phases.cniMs = lap();
    }
    const proc = this.startProcess(pod, rec);
    if (proc) rec.process = proc;
    rec.state = 'ready';
    this.o.records.save(rec);
    phases.processMs = lap();
    return { rec, phases };
  }

  /** Stops the process, runs CNI DEL (idempotent) and removes the namespace and the record. */
  async destroy(rec: PodRecord, pod: Pod | undefined): Promise<void> {
    if (rec.process) await stopProcess(rec.process, 0);
    if (!rec.hostNetwork) {
      const podForArgs: Pod = pod ?? {
        metadata: { name: rec.name, namespace: rec.namespace, uid: rec.uid },
        spec: { containers: [] },
      };
      const { runner, list } = this.cniOf(rec.node);
      // The ADD result from the pod's record: this process may not be the one that added it.
      await runner.del(list, this.runtimeConf(podForArgs, rec), rec.result);
      await delNetns(rec.netns);
    }
    this.o.records.remove(rec.uid);
  }

  processAlive(rec: PodRecord): boolean {
    return this.o.podProcess === 'none' || (rec.process !== undefined && isAlive(rec.process));
  }

  /** Starts the pod's process again (it died); counts a container restart. */
  restartProcess(pod: Pod, rec: PodRecord): PodRecord {
    const proc = this.startProcess(pod, rec);
    const next = { ...rec, restartCount: rec.restartCount + 1, ...(proc ? { process: proc } : {}) };
    this.o.records.save(next);
    return next;
  }

  private startProcess(pod: Pod, rec: PodRecord): PidRecord | undefined {
    if (this.o.podProcess === 'none') return undefined;
    const log = join(this.o.layout.files.logs, 'pods', `${rec.namespace}_${rec.name}.log`);
    const started = startDaemon({
      command: process.execPath,
      args: ['--max-old-space-size=32', ECHO, ...echoPorts(pod).map(String)],
      logFile: log,
      pidFile: join(this.o.layout.files.pods, `${rec.uid}.pid`),
      marker: this.o.layout.marker,
      netns: rec.netns,
      env: {
        POD_NAMESPACE: rec.namespace,
        POD_NAME: rec.name,
        NODE_NAME: rec.node,
        POD_IP: rec.ips[0] ?? '',
      },
    });
    return recordOf(started.pid, started.command) ?? started;
  }
}
