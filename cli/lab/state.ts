// lab.json: what `lab up` decided once (ports, token, node count) so that every later command —
// a second `lab up`, `lab restart`, the supervisor, `lab status`, `lab down` — sees the same lab.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { labLayout, type LabLayout } from './layout.ts';

export interface LabPorts {
  etcd: number;
  etcdPeer: number;
  kubeEtcd: number;
  kubeEtcdPeer: number;
  apiserver: number;
  controllerManager: number;
  ksrMetrics: number;
}

export interface LabState {
  version: 1;
  name: string;
  stateDir: string;
  nodes: number;
  cluster: string;
  underlayCidr: string;
  podProcess: 'echo' | 'none';
  ports: LabPorts;
  /** Static bearer token of the lab's admin user. */
  token: string;
  createdAt: string;
  logLevel: string;
  /** CNI configuration list other than deploy/netloom.conflist, if any. */
  conflist?: string;
  /** Extra flags for every agent. */
  agentArgs: string;
}

export function readState(path: string): LabState | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as LabState;
    return s.version === 1 ? s : undefined;
  } catch {
    return undefined;
  }
}

export function writeState(path: string, state: LabState): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function layoutOf(state: LabState): LabLayout {
  return labLayout({ name: state.name, stateDir: state.stateDir, nodes: state.nodes, underlayCidr: state.underlayCidr });
}

export function etcdEndpoint(state: LabState): string {
  return `http://127.0.0.1:${state.ports.etcd}`;
}

export function apiserverUrl(state: LabState): string {
  return `https://127.0.0.1:${state.ports.apiserver}`;
}
