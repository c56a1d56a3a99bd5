// `netloom ctl pods [node]`: every pod KSR mirrored, one row per interface netloom gave it: the
// address and interface from the node's IPAM record (ipam/<node>/<ip>), the host-side interface
// name the renderers derive from it. A pod without an IPAM record shows the addresses Kubernetes
// reports (host-network pods, pods not wired yet).
import { hostIfName } from '../../agent/renderers/names.ts';
import type { Pod } from '../../agent/view/decode.ts';
import { emit, parseArgs } from './common.ts';
import { checkNode, loadSnapshot, type Snapshot } from './snapshot.ts';
import { cell, listCell, type Table } from './table.ts';

export interface PodInterface {
  ip: string;
  ifname: string;
  /** The host side of the pod's interface (veth or TAP), as the renderers name it. */
  hostInterface: string;
  network: string;
  containerId: string;
  netns: string;
  /** The IPAM record's node (a pod's records sit under the node it runs on). */
  node: string;
}

export interface PodRecord {
  namespace: string;
  name: string;
  node: string;
  phase: string;
  hostNetwork: boolean;
  /** status.podIPs as Kubernetes reports them. */
  podIps: string[];
  interfaces: PodInterface[];
  pod: Pod;
}

export function podRecords(s: Snapshot, node?: string): PodRecord[] {
  const byPod = new Map<string, PodInterface[]>();
  for (const r of s.ipam) {
    const key = `${r.entry.namespace}/${r.entry.pod}`;
    let list = byPod.get(key);
    if (!list) byPod.set(key, (list = []));
    list.push({
      ip: r.ip,
      ifname: r.entry.ifname,
      hostInterface: hostIfName(r.entry.containerId, r.entry.ifname),
      network: r.entry.network,
      containerId: r.entry.containerId,
      netns: r.entry.netns,
      node: r.node,
    });
  }
  const out: PodRecord[] = [];
  for (const [key, pod] of s.view.pods.items) {
    if (node !== undefined && pod.nodeName !== node) continue;
    const interfaces = (byPod.get(key) ?? []).sort((a, b) =>
      a.ifname === b.ifname ? (a.ip < b.ip ? -1 : 1) : a.ifname < b.ifname ? -1 : 1,
    );
    out.push({
      namespace: pod.namespace,
      name: pod.name,
      node: pod.nodeName,
      phase: pod.terminating ? 'Terminating' : pod.phase,
      hostNetwork: pod.hostNetwork,
      podIps: pod.podIps,
      interfaces,
      pod,
    });
  }
  return out.sort((a, b) =>
    a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1,
  );
}

export function podsTable(records: readonly PodRecord[]): Table {
  const rows: string[][] = [];
  for (const p of records) {
    const base = [p.namespace, p.name, cell(p.node)];
    if (p.interfaces.length === 0)
      rows.push([...base, listCell(p.podIps), p.hostNetwork ? 'host network' : '-', '-', cell(p.phase)]);
    for (const i of p.interfaces)
      rows.push([
        ...base,
        i.ip,
        i.network ? `${i.ifname} (${i.network})` : i.ifname,
        i.hostInterface,
        cell(p.phase),
      ]);
  }
  return {
    columns: ['namespace', 'name', 'node', 'ip', 'interface', 'host-if', 'phase'],
    rows,
    empty: 'no pods',
  };
}

export async function main(argv: string[]): Promise<number> {
  const { config, positionals } = parseArgs(argv, 1, 'netloom ctl pods [node]');
  const snap = await loadSnapshot(config);
  checkNode(snap, positionals[0], config.cluster);
  emit(config, podRecords(snap, positionals[0]), podsTable);
  return 0;
}
