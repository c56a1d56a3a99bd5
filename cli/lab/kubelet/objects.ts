// The objects a kubelet writes, built as plain JSON (pure): its Node and the Node's status, the
// node Lease heartbeat, a Running pod's status, and Events.
import { release } from 'node:os';
import type { PodRecord } from './records.ts';
import type { Pod } from './types.ts';

export const KUBELET_VERSION = 'v1.37.2';
export const RUNTIME_VERSION = 'netloom-lab://0.1.0';

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Kubernetes Time: RFC 3339 to the second. */
export function kubeTime(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function nodeObject(name: string, lab: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'netloom.io/lab': lab,
      },
    },
    spec: {},
  };
}

export interface NodeReadiness {
  ready: boolean;
  /** KubeletReady, or NetworkPluginNotReady with the CNI STATUS error. */
  reason: string;
  message: string;
  /** When `ready` last changed. */
  since: Date;
}

export function nodeStatus(
  name: string,
  ip: string,
  r: NodeReadiness,
  now = new Date(),
): Record<string, unknown> {
  const cond = (
    type: string,
    status: string,
    reason: string,
    message: string,
    since: Date,
  ): Record<string, string> => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: kubeTime(now),
    lastTransitionTime: kubeTime(since),
  });
  const resources = { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '20Gi' };
  return {
    status: {
      conditions: [
        cond(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
          r.since,
        ),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', r.since),
        cond(
          'PIDPressure',
          'False',
          'KubeletHasSufficientPID',
          'kubelet has sufficient PID available',
          r.since,
        ),
        cond('Ready', r.ready ? 'True' : 'False', r.reason, r.message, r.since),
      ],
      addresses: [
        { type: 'InternalIP', address: ip },
        { type: 'Hostname', address: name },
      ],
      capacity: resources,
      allocatable: resources,
      nodeInfo: {
        machineID: name,
        systemUUID: name,
        bootID: name,
        kernelVersion: release(),
        osImage: 'netloom lab node',
        containerRuntimeVersion: RUNTIME_VERSION,
        kubeletVersion: KUBELET_VERSION,
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

export function leaseObject(node: string, now = new Date()): Record<string, unknown> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: node, namespace: 'kube-node-lease' },
    spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: microTime(now) },
  };
}

/** The status of a pod whose sandbox and process run: Running, Ready, with its IPs. */
export function runningStatus(
  pod: Pod,
  rec: PodRecord,
  hostIP: string,
  processUp: boolean,
): Record<string, unknown> {
  const started = kubeTime(new Date(rec.startedAt));
  const ready = processUp ? 'True' : 'False';
  const condition = (type: string, status: string): Record<string, string> => ({
    type,
    status,
    lastTransitionTime: started,
  });
  return {
    status: {
      phase: 'Running',
      conditions: [
        condition('PodReadyToStartContainers', 'True'),
        condition('Initialized', 'True'),
        condition('Ready', ready),
        condition('ContainersReady', ready),
        condition('PodScheduled', 'True'),
      ],
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP: rec.ips[0] ?? '',
      podIPs: rec.ips.map((ip) => ({ ip })),
      startTime: started,
      initContainerStatuses: (pod.spec.initContainers ?? []).map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        containerID: `netloom-lab://${rec.containerId.slice(0, 12)}-${c.name}`,
        ready: true,
        started: false,
        restartCount: 0,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: started, finishedAt: started } },
      })),
      containerStatuses: pod.spec.containers.map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        containerID: `netloom-lab://${rec.containerId.slice(0, 12)}-${c.name}`,
        ready: processUp,
        started: processUp,
        restartCount: rec.restartCount,
        state: processUp ? { running: { startedAt: started } } : { waiting: { reason: 'CrashLoopBackOff' } },
      })),
    },
  };
}

/** Whether the pod's status in the API already says what `runningStatus` would. */
export function statusUpToDate(pod: Pod, rec: PodRecord, processUp: boolean): boolean {
  const s = pod.status;
  if (!s || s.phase !== 'Running' || s.podIP !== (rec.ips[0] ?? '')) return false;
  const ready = s.conditions?.find((c) => c.type === 'Ready')?.status === (processUp ? 'True' : 'False');
  const restarts = (s.containerStatuses ?? []).every((c) => (c.restartCount ?? 0) === rec.restartCount);
  return ready && restarts && (s.containerStatuses?.length ?? 0) === pod.spec.containers.length;
}

export interface EventSpec {
  node: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** kubelet, or default-scheduler for Scheduled. */
  component?: string;
}

export function podEvent(
  pod: Pod,
  { node, type, reason, message, component = 'kubelet' }: EventSpec,
): Record<string, unknown> {
  const now = kubeTime();
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${pod.metadata.name}.`, namespace: pod.metadata.namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
    },
    reason,
    message,
    type,
    source: { component, host: node },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}
