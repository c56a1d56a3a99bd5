// `netloom ctl nodes`: every node netloom knows of — from Kubernetes (k8s/node), from its ID
// claim (nodes/id) and from its agent (nodes/info, bound to the agent's lease: present means the
// agent is alive) — with its ID, pod subnet and health. `--probe` also asks each agent's /readyz.
import type { K8sNode, NodeInfo } from '../../agent/view/decode.ts';
import { agentAddress, agentReadiness } from './agent-api.ts';
import { emit, parseArgs } from './common.ts';
import { checkNode, knownNodes, loadSnapshot, type Snapshot } from './snapshot.ts';
import { cell, type Table } from './table.ts';

export interface NodeRecord {
  name: string;
  /** The ID in nodes/info, else the one claimed in nodes/id; null when neither. */
  id: number | null;
  /** Every nodes/id/<id> naming this node (more than one is a conflict). */
  claimedIds: number[];
  podSubnet: string;
  managementIp: string;
  tunnelEndpoint: string;
  inKubernetes: boolean;
  /** nodes/info exists: the agent holds its lease. */
  agentAlive: boolean;
  pods: number;
  ipamRecords: number;
  /** 'ok', or what is wrong, from etcd alone. */
  health: string;
  /** The agent's /readyz, with --probe. */
  readiness?: string;
  info: NodeInfo | null;
  kubernetes: K8sNode | null;
}

/** What etcd says about a node's health. */
export function nodeHealth(
  r: Pick<NodeRecord, 'claimedIds' | 'inKubernetes' | 'agentAlive' | 'info'>,
): string {
  if (r.claimedIds.length > 1) return `ID conflict: claims ${r.claimedIds.join(', ')}`;
  if (r.agentAlive && r.info && r.claimedIds.length === 1 && r.claimedIds[0] !== r.info.id)
    return `ID mismatch: nodes/info says ${r.info.id}, nodes/id says ${r.claimedIds[0]}`;
  if (r.agentAlive && r.claimedIds.length === 0) return 'ID claim missing';
  if (!r.inKubernetes && r.agentAlive) return 'agent up, node not in Kubernetes';
  if (!r.inKubernetes)
    return r.claimedIds.length > 0 ? 'departed: ID still claimed' : 'departed: IPAM records left';
  if (!r.agentAlive) return 'agent down (no nodes/info)';
  return 'ok';
}

export function nodeRecords(s: Snapshot, only?: string): NodeRecord[] {
  const { view } = s;
  const out: NodeRecord[] = [];
  for (const name of knownNodes(s)) {
    if (only !== undefined && name !== only) continue;
    const info = view.nodeInfos.get(name);
    const claimedIds = [...view.idsOfNode(name)].map(Number).sort((a, b) => a - b);
    const base = {
      claimedIds,
      inKubernetes: view.nodes.get(name) !== undefined,
      agentAlive: info !== undefined,
      info: info ?? null,
    };
    out.push({
      name,
      id: info?.id || claimedIds[0] || null,
      claimedIds,
      podSubnet: info?.podSubnet ?? '',
      managementIp: info?.managementIp ?? '',
      tunnelEndpoint: info?.tunnelEndpoint ?? '',
      inKubernetes: base.inKubernetes,
      agentAlive: base.agentAlive,
      pods: view.podsOnNode(name).size,
      ipamRecords: s.ipam.filter((r) => r.node === name).length,
      health: nodeHealth(base),
      info: info ?? null,
      kubernetes: view.nodes.get(name) ?? null,
    });
  }
  return out;
}

export function nodesTable(records: readonly NodeRecord[]): Table {
  const probed = records.some((r) => r.readiness !== undefined);
  return {
    columns: ['name', 'id', 'subnet', 'node-ip', 'pods', 'allocated', 'health', ...(probed ? ['agent'] : [])],
    rows: records.map((r) => [
      r.name,
      cell(r.id),
      cell(r.podSubnet),
      cell(r.managementIp),
      String(r.pods),
      String(r.ipamRecords),
      r.health,
      ...(probed ? [cell(r.readiness)] : []),
    ]),
    empty: 'no nodes: no Kubernetes node mirrored, no ID claimed, no agent running',
  };
}

export async function main(argv: string[]): Promise<number> {
  const { config, positionals } = parseArgs(argv, 1, 'netloom ctl nodes [node]');
  const snap = await loadSnapshot(config);
  checkNode(snap, positionals[0], config.cluster);
  const records = nodeRecords(snap, positionals[0]);
  if (config.probe)
    await Promise.all(
      records.map(async (r) => {
        try {
          r.readiness = await agentReadiness(
            agentAddress(config.agentAddr, r.name, r.info ?? undefined),
            config.timeoutMs,
          );
        } catch (err) {
          r.readiness = `unreachable: ${(err as Error).message}`;
        }
      }),
    );
  emit(config, records, nodesTable);
  return 0;
}
