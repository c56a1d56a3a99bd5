// lab.json: what `lab up` decided once (ports, token, node count) so that every later command —
// a second `lab up`, `lab restart`, the supervisor, `lab status`, `lab down` — sees the same lab.
import type { VppBuild } from './vpp.ts';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomicSync } from '../../lib/atomic-file.ts';
import { DEFAULT_CLIENTS, pkiFiles, type PkiFiles } from '../../lib/etcd/pki.ts';
import { labLayout, type JoinedLab, type LabLayout } from './layout.ts';
import { hostIp } from './real-node.ts';

export interface LabPorts {
  etcd: number;
  etcdPeer: number;
  kubeEtcd: number;
  kubeEtcdPeer: number;
  apiserver: number;
  controllerManager: number;
  ksrMetrics: number;
  /** kube-scheduler's /healthz (real-node labs). */
  scheduler?: number;
}

export interface LabState {
  version: 1;
  name: string;
  stateDir: string;
  nodes: number;
  cluster: string;
  underlayCidr: string;
  /** The `default` LoadBalancer pool (KSR) and the prefix the underlay routes to the first node. */
  lbPool: string;
  podProcess: 'echo' | 'none';
  ports: LabPorts;
  /** Static bearer token of the lab's admin user. */
  token: string;
  createdAt: string;
  logLevel: string;
  /** Where the node simulator serves /readyz, /metrics and /status (host:port or unix:/path). */
  kubeletAddr: string;
  /** CNI configuration list other than deploy/netloom.conflist, if any. */
  conflist?: string;
  /** Extra flags for every agent. */
  agentArgs: string;
  /** `real`: containerd + kubelet per node and kube-scheduler; absent or `sim`: the node simulator. */
  kubelet?: 'sim' | 'real';
  /**
   * A second cluster against another lab's netloom etcd and underlay (`lab up --join`): no etcd
   * of its own (`ports.etcd` is the other lab's), its nodes in their own address block.
   */
  join?: JoinedLab;
  /** The agents' --pod-cidr and --service-cidr (also the API server's service range); absent: the defaults. */
  podCidr?: string;
  serviceCidr?: string;
  /** The agents run with --mesh. */
  mesh?: boolean;
  /** `vpp`: a VPP per node, the agents on `--dataplane vpp`; absent: the kernel. */
  dataplane?: 'linux' | 'vpp';
  /** The VPP the nodes run (`dataplane: vpp`), as found when the lab was made. */
  vpp?: VppBuild;
}

export function readState(path: string): LabState | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Partial<LabState>;
    if (s.version !== 1 || !s.stateDir) return undefined;
    // Fields added after the first version of lab.json get their defaults.
    return {
      agentArgs: '',
      lbPool: '198.51.100.0/28',
      kubeletAddr: `unix:${join(s.stateDir, 'kubelet.sock')}`,
      ...s,
    } as LabState;
  } catch {
    return undefined;
  }
}

export function writeState(path: string, state: LabState): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomicSync(path, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
}

export function layoutOf(state: LabState): LabLayout {
  return labLayout({
    name: state.name,
    stateDir: state.stateDir,
    nodes: state.nodes,
    underlayCidr: state.underlayCidr,
    joined: state.join,
  });
}

/** Port of deploy/'s netloom-etcd (etcd.yaml), which real-node labs run. */
export const DEPLOYED_ETCD_PORT = 12379;

/**
 * netloom's etcd for the host's processes (KSR, the lab's tools, etcdctl): TLS on loopback only;
 * a real-node lab's is deploy/'s StatefulSet on the first node (its `etcd-ip`), reached over the
 * host's link into the underlay.
 */
export function etcdEndpoint(state: LabState): string {
  if (state.kubelet === 'real') return `https://${layoutOf(state).nodes[0]!.ip}:${DEPLOYED_ETCD_PORT}`;
  return `https://127.0.0.1:${state.ports.etcd}`;
}

/** Names and addresses etcd's server certificate carries: loopback, and `localhost` for the unix socket. */
export const ETCD_SERVER_NAMES = { ips: ['127.0.0.1'], dnsNames: ['localhost'] } as const;

/** The lab's etcd certificates (made by `lab up`). */
export function labPki(state: LabState): PkiFiles {
  return pkiFiles(layoutOf(state).files.pki, DEFAULT_CLIENTS);
}

/** What one client of netloom's etcd passes: the endpoint and its CA, certificate and key. */
export interface EtcdAccess {
  endpoint: string;
  ca: string;
  cert: string;
  key: string;
}

/** `admin` for people and the lab's tools; `ksr` and `agent` for those components. */
export function etcdAccess(state: LabState, client: 'admin' | 'ksr' | 'agent' = 'admin'): EtcdAccess {
  const pki = labPki(state);
  const pair = pki.clients[client]!;
  return { endpoint: etcdEndpoint(state), ca: pki.ca, cert: pair.cert, key: pair.key };
}

/** etcdctl's flags for the lab's etcd, as a person pastes them. */
export function etcdctlFlags(state: LabState): string {
  const a = etcdAccess(state);
  return `--endpoints=${a.endpoint} --cacert=${a.ca} --cert=${a.cert} --key=${a.key}`;
}

export function apiserverUrl(state: LabState): string {
  // Real nodes' kubelets reach it from their namespaces: it listens on the host's underlay address.
  const host = state.kubelet === 'real' ? hostIp(layoutOf(state)) : '127.0.0.1';
  return `https://${host}:${state.ports.apiserver}`;
}

/** A GET URL and socket for an address that is host:port or unix:/path. */
export function httpTarget(addr: string, path: string): { url: string; socketPath?: string } {
  return addr.startsWith('unix:')
    ? { url: `http://localhost${path}`, socketPath: addr.slice('unix:'.length) }
    : { url: `http://${addr}${path}` };
}
