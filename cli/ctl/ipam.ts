// `netloom ctl ipam [node]`: every pod address allocated in etcd (ipam/<node>/<ip>), per node
// with its subnet, and which records leak. A leak is judged by the agents' own rule
// (agent/ipam/leaks.ts `judge`): the record's pod is gone from the Kubernetes mirror. The agent
// also spares a record whose interface still exists on the node — something only the node can
// see — so a leak here is what the node's next collection passes will release unless the
// interface is still there. Before KSR's first full sync nothing is judged (the agents wait too).
import { ipToBigInt } from '../../lib/cidr.ts';
import { judge } from '../../agent/ipam/leaks.ts';
import { emit, parseArgs } from './common.ts';
import { checkNode, knownNodes, loadSnapshot, type Snapshot } from './snapshot.ts';
import { cell, formatTable, type Table } from './table.ts';

export type IpamState = 'in use' | 'leaked' | 'unjudged';

export interface IpamRow {
  ip: string;
  key: string;
  namespace: string;
  pod: string;
  containerId: string;
  ifname: string;
  network: string;
  netns: string;
  modRevision: number;
  state: IpamState;
}

export interface NodeIpam {
  node: string;
  /** nodes/info's pod subnet ('' when the agent is not running). */
  podSubnet: string;
  allocated: number;
  leaked: number;
  records: IpamRow[];
}

export interface IpamReport {
  revision: number;
  /** KSR finished a full sync (ksr/status lastFullSync): leaks are judged only then. */
  mirrorComplete: boolean;
  nodes: NodeIpam[];
}

/** Addresses in numeric order (10.1.1.9 before 10.1.1.10); a malformed one sorts first. */
function byIp(a: { ip: string }, b: { ip: string }): number {
  const n = (ip: string): bigint => {
    try {
      return ipToBigInt(ip);
    } catch {
      return -1n;
    }
  };
  const [x, y] = [n(a.ip), n(b.ip)];
  return x < y ? -1 : x > y ? 1 : 0;
}

export function ipamReport(s: Snapshot, only?: string): IpamReport {
  const { view } = s;
  const mirrorComplete = (view.ksrStatus?.lastFullSync ?? '') !== '';
  // No interface is visible from here and nothing was a suspect before: `judge` then names
  // every record whose pod is gone as a suspect, which is the leak an operator asks about.
  const leaks = (records: Snapshot['ipam']): ReadonlySet<string> =>
    new Set(
      judge(
        records,
        {
          podExists: (ns, name) => view.pods.get(`${ns}/${name}`) !== undefined,
          hasInterface: () => false,
        },
        new Map(),
      ).suspects.keys(),
    );
  const nodes: NodeIpam[] = [];
  const withRecords = new Set(s.ipam.map((r) => r.node));
  for (const node of knownNodes(s)) {
    if (only !== undefined ? node !== only : !withRecords.has(node) && !view.nodeInfos.get(node)) continue;
    const mine = s.ipam.filter((r) => r.node === node);
    const leaked = leaks(mine);
    const records: IpamRow[] = mine.map((r) => ({
      ip: r.ip,
      key: r.key,
      ...r.entry,
      modRevision: r.modRevision,
      state: !mirrorComplete ? 'unjudged' : leaked.has(r.ip) ? 'leaked' : 'in use',
    }));
    records.sort(byIp);
    nodes.push({
      node,
      podSubnet: view.nodeInfos.get(node)?.podSubnet ?? '',
      allocated: records.length,
      leaked: records.filter((r) => r.state === 'leaked').length,
      records,
    });
  }
  return { revision: s.revision, mirrorComplete, nodes };
}

export function ipamTable(r: IpamReport): string {
  const summary = r.nodes
    .map((n) => `${n.node}: ${cell(n.podSubnet)}, ${n.allocated} allocated, ${n.leaked} leaked`)
    .join('\n');
  const rows = r.nodes.flatMap((n) =>
    n.records.map((x) => [
      n.node,
      x.ip,
      `${x.namespace}/${x.pod}`,
      x.ifname,
      x.containerId.slice(0, 12),
      x.state,
    ]),
  );
  const table: Table = {
    columns: ['node', 'ip', 'pod', 'interface', 'container', 'state'],
    rows,
    empty: 'no pod addresses allocated',
  };
  const note = r.mirrorComplete ? '' : '\nleaks not judged: KSR has not finished a full sync (ksr/status)\n';
  return `${formatTable(table)}${summary ? `\n${summary}\n` : ''}${note}`;
}

export async function main(argv: string[]): Promise<number> {
  const { config, positionals } = parseArgs(argv, 1, 'netloom ctl ipam [node]');
  const snap = await loadSnapshot(config);
  checkNode(snap, positionals[0], config.cluster);
  emit(config, ipamReport(snap, positionals[0]), ipamTable);
  return 0;
}
