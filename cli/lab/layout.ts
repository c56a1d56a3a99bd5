// Where everything of one lab lives and what it is called: pure derivations from the lab's name,
// state dir, node count and underlay. Every name starts with the lab's prefix, which is how
// `lab down` finds leftovers after a crash even without the state dir.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { addressOf, hostAt, networkOf } from '../../lib/cidr.ts';

export interface NodeLayout {
  /** Kubernetes node name, also the agent's node name. */
  name: string;
  /** 1-based. */
  index: number;
  /** The node's network namespace (its "host" network). */
  netns: string;
  /** Underlay address (no prefix length); the node's InternalIP. */
  ip: string;
  /** The bridge port of this node inside the underlay namespace. */
  underlayPort: string;
  dir: string;
  /** The agent's CNI gRPC socket (the conflist's agentSocket). */
  cniSocket: string;
  /** The agent's HTTP API as a unix socket, reachable from the host's namespace. */
  apiSocket: string;
  /** The agent's own state directory. */
  agentStateDir: string;
  conflist: string;
  cniLog: string;
  /** With VPP: its sockets, log and startup files. */
  vppDir: string;
  /** With VPP: the address of VPP's uplink (host-vpp0) on the underlay. */
  vppIp: string;
}

/** VPP's uplink of node i is at .(VPP_UPLINK_BASE + i) of the underlay (VPP labs do not join others). */
export const VPP_UPLINK_BASE = 200;
/** The node's second underlay port, given to its VPP by af_packet. */
export const VPP_UPLINK_LINK = 'vpp0';

export interface LabLayout {
  name: string;
  stateDir: string;
  /** `netloom-<name>-`: every namespace the lab creates starts with it. */
  netnsPrefix: string;
  /** Value of NETLOOM_LAB in the environment of every process the lab starts. */
  marker: string;
  underlayNetns: string;
  bridge: string;
  /** The bridge's own address in the underlay, with prefix length. */
  bridgeAddress: string;
  nodes: NodeLayout[];
  files: {
    state: string;
    lock: string;
    etcdSocket: string;
    etcdData: string;
    /** netloom's etcd certificates: CA, server pair, ksr/agent/admin client pairs (lib/etcd/pki.ts). */
    pki: string;
    kubeEtcdData: string;
    kubeDir: string;
    kubeconfig: string;
    bin: string;
    cniBin: string;
    logs: string;
    pids: string;
    pods: string;
  };
}

export interface LayoutInput {
  name: string;
  stateDir?: string | undefined;
  nodes: number;
  underlayCidr: string;
  /** A second cluster on another lab's etcd and underlay (`lab up --join`): see JoinedLab. */
  joined?: JoinedLab | undefined;
}

/**
 * What a lab that joins another (`--join <lab>`) takes from it: its etcd (socket and
 * certificates in its state dir) and its underlay bridge. `slot` (1..3) places the joined lab's
 * nodes in their own block of the shared /24 (.11+50·slot…) so no address is used twice.
 */
export interface JoinedLab {
  name: string;
  stateDir: string;
  slot: number;
}

/** Nodes per lab and address block on the underlay: node i of slot s is .(10 + 50·s + i). */
export const NODES_PER_SLOT = 50;

export const ENV_MARKER = 'NETLOOM_LAB';

export function defaultStateDir(name: string): string {
  return `/run/netloom-${name}`;
}

export function nodeName(lab: string, index: number): string {
  return `${lab}-node${index}`;
}

export function labLayout(input: LayoutInput): LabLayout {
  const stateDir = input.stateDir ?? defaultStateDir(input.name);
  const netnsPrefix = `netloom-${input.name}-`;
  // The underlay is always laid out as the /24 around the configured address.
  const subnet = networkOf(`${addressOf(input.underlayCidr)}/24`);
  const nodes: NodeLayout[] = [];
  for (let i = 1; i <= input.nodes; i++) {
    const name = nodeName(input.name, i);
    const dir = join(stateDir, 'nodes', name);
    const slot = input.joined?.slot ?? 0;
    nodes.push({
      name,
      index: i,
      netns: `${netnsPrefix}${name.slice(input.name.length + 1)}`,
      ip: hostAt(subnet, 10 + NODES_PER_SLOT * slot + i),
      // In a shared underlay, port names carry the lab's name (at most 8 + 1 + 2 characters).
      underlayPort: input.joined ? `${input.name}n${i}` : `node${i}`,
      dir,
      cniSocket: join(dir, 'cni.sock'),
      apiSocket: join(dir, 'agent-api.sock'),
      agentStateDir: join(dir, 'agent'),
      conflist: join(dir, '10-netloom.conflist'),
      cniLog: join(dir, 'cni.log'),
      vppDir: join(dir, 'vpp'),
      vppIp: hostAt(subnet, VPP_UPLINK_BASE + i),
    });
  }
  return {
    name: input.name,
    stateDir,
    netnsPrefix,
    marker: input.name,
    underlayNetns: input.joined ? `netloom-${input.joined.name}-underlay` : `${netnsPrefix}underlay`,
    bridge: 'br0',
    bridgeAddress: `${hostAt(subnet, 1)}/24`,
    nodes,
    files: {
      state: join(stateDir, 'lab.json'),
      lock: join(stateDir, 'lock'),
      etcdSocket: join(input.joined?.stateDir ?? stateDir, 'etcd.sock'),
      etcdData: join(stateDir, 'etcd'),
      pki: join(input.joined?.stateDir ?? stateDir, 'pki'),
      kubeEtcdData: join(stateDir, 'kube-etcd'),
      kubeDir: join(stateDir, 'kube'),
      kubeconfig: join(stateDir, 'kube', 'kubeconfig'),
      bin: join(stateDir, 'bin'),
      cniBin: join(stateDir, 'bin', 'netloom'),
      logs: join(stateDir, 'logs'),
      pids: join(stateDir, 'pids'),
      pods: join(stateDir, 'pods'),
    },
  };
}

export function logFile(layout: LabLayout, component: string): string {
  return join(layout.files.logs, `${component}.log`);
}

export function pidFile(layout: LabLayout, component: string): string {
  return join(layout.files.pids, `${component}.pid`);
}

/** A pod's network namespace: the prefix and a digest of its UID (names stay short and unique). */
export function podNetns(layout: LabLayout, uid: string): string {
  return `${layout.netnsPrefix}pod-${createHash('sha256').update(uid).digest('hex').slice(0, 12)}`;
}

/** Whether a namespace name belongs to this lab. */
export function ownsNetns(layout: LabLayout, netns: string): boolean {
  return netns.startsWith(layout.netnsPrefix);
}
