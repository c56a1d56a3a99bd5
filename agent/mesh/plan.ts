// The pure half of multi-cluster: what one cluster registers in the store-wide registry
// (`_shared/clusters/<cluster>`), whether two clusters' address ranges collide, and which remote
// clusters and remote nodes this node may route to. No I/O here (registry.ts and sync.ts do it).
//
// Trust, as for local peers (renderers/peer-select.ts): a remote node's ID is the one its
// cluster's `nodes/id/<id>` gives its name *and* the store-wide `node-ids/<id>` gives
// `<cluster>/<node>`; its pod subnet is its cluster's registered plan's for that ID, never the
// one its record states; and the subnet must lie inside that cluster's registered pod CIDR and
// apart from ours (renderPeer checks both once the remote pod CIDR is its context's).
import { containsIp, isCidr, networkOf } from '../../lib/cidr.ts';
import type { ClusterPlan__Output as ClusterPlan } from '../../proto/gen/netloom/model/v1/ClusterPlan.ts';
import { AddressPlan } from '../ipam/plan.ts';
import type { NodeContext, PeerNode } from '../renderers/context.ts';
import { renderNodeBase } from '../renderers/node.ts';
import { judgeNodeInfo } from '../renderers/peer-select.ts';
import { renderPeer } from '../renderers/peers.ts';
import type { Item } from '../scheduler/descriptor.ts';
import { PREFIX } from '../items/keys.ts';
import type { SourceNat } from '../items/values.ts';
import type { NodeInfo } from '../view/decode.ts';

export type { ClusterPlan };

/** The plan an agent registers for its cluster, from its configuration. */
export function planOf(config: {
  podCidr: string;
  serviceCidr: string;
  nodePrefixLength: number;
  gatewayOffset: number;
  vxlanVni: number;
  mesh: boolean;
}): ClusterPlan {
  return {
    podCidr: config.podCidr,
    serviceCidr: config.serviceCidr,
    nodePrefixLength: config.nodePrefixLength,
    gatewayOffset: config.gatewayOffset,
    vni: config.vxlanVni,
    mesh: config.mesh,
  };
}

/** Reads a registered plan (proto3 JSON, defaults omitted); throws SyntaxError for a malformed one. */
export function decodePlan(text: string): ClusterPlan {
  const v = JSON.parse(text) as Partial<Record<keyof ClusterPlan, unknown>> | null;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SyntaxError('not a JSON object');
  const str = (k: 'podCidr' | 'serviceCidr'): string => {
    const x = v[k] ?? '';
    if (typeof x !== 'string' || !isCidr(x)) throw new SyntaxError(`${k} is not a CIDR`);
    return x;
  };
  const uint = (k: 'nodePrefixLength' | 'gatewayOffset' | 'vni'): number => {
    const x = v[k] ?? 0;
    if (!Number.isSafeInteger(x) || (x as number) < 0)
      throw new SyntaxError(`${k} is not a non-negative integer`);
    return x as number;
  };
  if (v.mesh !== undefined && typeof v.mesh !== 'boolean') throw new SyntaxError('mesh is not a boolean');
  return {
    podCidr: str('podCidr'),
    serviceCidr: str('serviceCidr'),
    nodePrefixLength: uint('nodePrefixLength'),
    gatewayOffset: uint('gatewayOffset'),
    vni: uint('vni'),
    mesh: v.mesh ?? false,
  };
}

/** Whether two plans agree on everything but the mesh flag (an agent may change that one). */
export function sameAddressing(a: ClusterPlan, b: ClusterPlan): boolean {
  return (
    a.podCidr === b.podCidr &&
    a.serviceCidr === b.serviceCidr &&
    a.nodePrefixLength === b.nodePrefixLength &&
    a.gatewayOffset === b.gatewayOffset &&
    a.vni === b.vni
  );
}

/** Whether two CIDRs share an address: two prefixes overlap only if one contains the other. */
export function cidrsOverlap(a: string, b: string): boolean {
  if (!isCidr(a) || !isCidr(b)) return false;
  return containsIp(a, networkOf(b).split('/')[0]!) || containsIp(b, networkOf(a).split('/')[0]!);
}

/**
 * Every way cluster `other`'s ranges collide with ours: pod or service CIDR against pod or
 * service CIDR. Empty when they can share a store and a mesh.
 */
export function overlapProblems(own: ClusterPlan, otherName: string, other: ClusterPlan): string[] {
  const ranges = (p: ClusterPlan): [string, string][] => [
    ['pod CIDR', p.podCidr],
    ['service CIDR', p.serviceCidr],
  ];
  const out: string[] = [];
  for (const [ourWhat, ours] of ranges(own))
    for (const [theirWhat, theirs] of ranges(other))
      if (cidrsOverlap(ours, theirs))
        out.push(`our ${ourWhat} ${ours} overlaps cluster ${otherName}'s ${theirWhat} ${theirs}`);
  return out;
}

/** What registering among `others` means for this cluster: refuse (mesh on) or warn (mesh off). */
export function judgeRegistration(
  cluster: string,
  own: ClusterPlan,
  others: ReadonlyMap<string, ClusterPlan>,
): { refuse?: string; warnings: string[] } {
  const problems: string[] = [];
  for (const [name, plan] of others) if (name !== cluster) problems.push(...overlapProblems(own, name, plan));
  if (problems.length === 0) return { warnings: [] };
  if (own.mesh)
    return {
      refuse:
        `cluster ${cluster} cannot join the mesh: ${problems.join('; ')} ` +
        `(clusters sharing netloom's etcd with --mesh need disjoint pod and service CIDRs)`,
      warnings: [],
    };
  return { warnings: problems.map((p) => `${p} (harmless without --mesh; the mesh would refuse it)`) };
}

/** Why this node does not mesh with a remote cluster, or undefined when it does. */
export function meshRefusal(own: ClusterPlan, name: string, remote: ClusterPlan): string | undefined {
  if (!remote.mesh) return `cluster ${name} has the mesh off`;
  if (remote.vni !== own.vni) return `cluster ${name} uses VNI ${remote.vni}, ours is ${own.vni}`;
  const overlap = overlapProblems(own, name, remote);
  return overlap.length > 0 ? overlap.join('; ') : undefined;
}

/** What this node knows of one remote cluster's nodes (its nodes/ keys and the store-wide IDs). */
export interface RemoteCluster {
  name: string;
  plan: ClusterPlan;
  /** The remote cluster's nodes/id/<id> claims: id → node name. */
  nodeIds: ReadonlyMap<number, string>;
  /** Its nodes/info records by node name. */
  infos: ReadonlyMap<string, NodeInfo>;
}

/** The name a remote node's tunnel carries: `@` never appears in a Kubernetes node name. */
export const meshPeerName = (cluster: string, node: string): string => `${node}@${cluster}`;

/** The remote nodes to route to, each with what it is trusted for; and why others are not used. */
export function remotePeers(
  remote: RemoteCluster,
  sharedIds: ReadonlyMap<number, string>,
): { peers: PeerNode[]; distrusted: Map<string, string> } {
  const peers: PeerNode[] = [];
  const distrusted = new Map<string, string>();
  let plan: AddressPlan | undefined;
  try {
    plan = new AddressPlan({
      podCidr: remote.plan.podCidr,
      nodePrefixLength: remote.plan.nodePrefixLength,
      gatewayOffset: remote.plan.gatewayOffset,
    });
  } catch (err) {
    for (const name of remote.infos.keys())
      distrusted.set(name, `cluster ${remote.name}'s plan is unusable: ${String(err)}`);
    return { peers, distrusted };
  }
  const subnetOf = (id: number): string | undefined =>
    id >= 1 && id <= plan.maxNodeId ? plan.forNode(id).cidr : undefined;
  const idsByNode = new Map<string, number[]>();
  for (const [id, node] of remote.nodeIds) idsByNode.set(node, [...(idsByNode.get(node) ?? []), id]);
  for (const [name, info] of [...remote.infos].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const ids = (idsByNode.get(name) ?? []).filter((id) => sharedIds.get(id) === `${remote.name}/${name}`);
    const verdict = judgeNodeInfo(name, info, {
      ...(ids.length === 1 ? { claimedId: ids[0]! } : {}),
      subnetOf,
    });
    const why = [
      ...((idsByNode.get(name)?.length ?? 0) !== ids.length
        ? [`a nodes/id claim of ${name} has no matching store-wide node-ids claim`]
        : []),
      ...verdict.problems,
    ];
    if (why.length > 0) distrusted.set(name, why.join('; '));
    if (verdict.peer) peers.push({ ...verdict.peer, name: meshPeerName(remote.name, name) });
  }
  return { peers, distrusted };
}

/** The tunnels and routes to one remote cluster's trusted nodes, as for local peers. */
export function renderRemoteCluster(
  ctx: NodeContext,
  remote: RemoteCluster,
  peers: readonly PeerNode[],
): Item[] {
  // renderPeer refuses a subnet outside its context's pod CIDR: here, the remote cluster's.
  const remoteCtx: NodeContext = { ...ctx, podCidr: remote.plan.podCidr };
  return peers.flatMap((p) => renderPeer(remoteCtx, p, remote.plan.gatewayOffset));
}

/**
 * This node's source NAT with the meshed clusters' pod CIDRs added to what it leaves alone, so
 * pod-to-pod traffic across clusters keeps its source address. It replaces the node's own
 * `snat/0/<subnet>` item (the pipeline's extra source wins over the node's).
 */
export function renderMeshSnat(ctx: NodeContext, remotePodCidrs: readonly string[]): Item[] {
  return renderNodeBase(ctx)
    .filter((i) => i.key.startsWith(PREFIX.snat))
    .map((i) => {
      const snat = i.value as SourceNat;
      const except = [...new Set([...snat.except, ...[...remotePodCidrs].sort()])];
      return { key: i.key, value: { ...snat, except } satisfies SourceNat };
    });
}
