// The network registry's decisions, pure: (NADs, networks/ records, network-ids/ claims, the
// store-wide claims, which networks pods are attached to, the cluster's own ranges) → actions.
//
// Rules, in the order they are applied:
// - A record that must stay whatever its NAD now says occupies its subnets, VNI and ID first:
//   a network being retired while pods are still attached to it, and a network whose NAD was
//   edited into something invalid or conflicting (its last good record stays, as a reflected key
//   keeps its last good value). A record nobody holds any more, and nobody uses, is retired
//   (record and claims deleted in one transaction).
// - Then every NAD that defines a netloom network, those already holding a record first, then
//   by creation time and name (so every leader decides alike): it keeps its ID, else takes the
//   smallest ID free in this cluster and in the store-wide registry; it is refused (an Event,
//   no record) when a subnet overlaps the pod CIDR, the service CIDR or an accepted network's
//   subnet, or when its VNI is the default network's or another network's.
// - Claims held by no record are released. The finalizer is on every NAD that keeps a record
//   and off every other; a NAD being deleted keeps it (and gets an Event naming the pods) while
//   pods are attached, and loses it once its network is retired.
// Carrying out (registry.ts): retire and release, then create and update, then finalizers, then
// events — the order below.
import { cidrsOverlap, networkParams } from '../../lib/netattach/definition.ts';
import type { Network__Output as Network } from '../../proto/gen/netloom/model/v1/Network.ts';
import { NETWORK_FINALIZER, ownerOf, type NadState } from './nad.ts';

export interface ClusterRanges {
  podCidr: string;
  serviceCidr: string;
  /** The default network's VNI. */
  vni: number;
}

export interface RegistryState {
  nads: ReadonlyMap<string, NadState>;
  /** networks/ as owner → record. */
  records: ReadonlyMap<string, Network>;
  /** network-ids/ as id → owner. */
  claims: ReadonlyMap<number, string>;
  /** The store-wide network-ids/ as id → `<cluster>/<owner>` (this cluster's and others'). */
  shared: ReadonlyMap<number, { cluster: string; network: string }>;
  /** owner → the pods (`<namespace>/<pod>`) attachments/ records name it for. */
  inUse: ReadonlyMap<string, readonly string[]>;
  cluster: string;
  ranges: ClusterRanges;
}

export interface NadRef {
  namespace: string;
  name: string;
  uid: string;
}

export type NetworkAction =
  /** Claim `id` (here and store-wide, create-only) and write the record, in one transaction. */
  | { type: 'create'; owner: string; network: Network; sharedClaim: boolean }
  /** Rewrite the record (the claim is already held). */
  | { type: 'update'; owner: string; network: Network }
  /** The store-wide claim of an ID this cluster holds is missing: create it. */
  | { type: 'adopt'; owner: string; id: number }
  /** Delete the record and the claims of a network gone and unused. */
  | { type: 'retire'; owner: string; ids: number[]; sharedIds: number[]; record: boolean }
  | { type: 'finalizer'; nad: NadRef & { resourceVersion: string; finalizers: string[] }; add: boolean }
  | { type: 'event'; nad: NadRef; warning: boolean; reason: string; message: string };

/** Event reasons. */
export const REASONS = {
  created: 'NetworkCreated',
  invalid: 'NetworkInvalid',
  overlap: 'NetworkSubnetConflict',
  vni: 'NetworkVniConflict',
  inUse: 'NetworkInUse',
} as const;

interface Space {
  subnets: { cidr: string; who: string }[];
  vnis: Map<number, string>;
  ids: Set<number>;
}

const MAX_PODS_NAMED = 5;

export function describePods(pods: readonly string[]): string {
  const sorted = [...pods].sort();
  const named = sorted.slice(0, MAX_PODS_NAMED).join(', ');
  return sorted.length > MAX_PODS_NAMED ? `${named} and ${sorted.length - MAX_PODS_NAMED} more` : named;
}

export function planNetworks(s: RegistryState): NetworkAction[] {
  const retire: NetworkAction[] = [];
  const write: NetworkAction[] = [];
  const events: NetworkAction[] = [];
  const claimsOf = new Map<string, number[]>();
  for (const [id, owner] of [...s.claims].sort((a, b) => a[0] - b[0]))
    claimsOf.set(owner, [...(claimsOf.get(owner) ?? []), id]);
  const space: Space = {
    subnets: [
      { cidr: s.ranges.podCidr, who: `the cluster's pod CIDR ${s.ranges.podCidr}` },
      { cidr: s.ranges.serviceCidr, who: `the cluster's service CIDR ${s.ranges.serviceCidr}` },
    ],
    vnis: new Map([[s.ranges.vni, 'the default network']]),
    // Every ID claimed anywhere in the store is out of reach, whoever holds it.
    ids: new Set([...s.claims.keys(), ...s.shared.keys()]),
  };
  /** owner → the record it keeps after this plan. */
  const kept = new Map<string, Network>();
  const occupy = (owner: string, n: Network): void => {
    for (const cidr of n.subnets) space.subnets.push({ cidr, who: `network ${owner} (${cidr})` });
    space.vnis.set(n.vni, `network ${owner}`);
    kept.set(owner, n);
  };
  const ref = (n: NadState): NadRef => ({ namespace: n.namespace, name: n.name, uid: n.uid });
  const nadEvent = (n: NadState, warning: boolean, reason: string, message: string): void => {
    events.push({ type: 'event', nad: ref(n), warning, reason, message });
  };

  // Records that stay whatever the NAD says now, or go.
  for (const [owner, rec] of [...s.records].sort((a, b) => a[0].localeCompare(b[0]))) {
    const nad = s.nads.get(owner);
    const live = nad !== undefined && !nad.terminating;
    if (live && nad.def.kind === 'netloom') continue; // judged with the candidates below
    const pods = s.inUse.get(owner) ?? [];
    if (live && nad.def.kind === 'invalid') occupy(owner, rec);
    else if (pods.length > 0) occupy(owner, rec);
    else retire.push(retirement(s, owner, claimsOf.get(owner) ?? [], true));
  }

  // Candidates: NADs that define a netloom network.
  const candidates = [...s.nads.values()]
    .filter((n) => !n.terminating && n.def.kind === 'netloom')
    .sort(
      (a, b) =>
        Number(s.records.has(ownerOf(b))) - Number(s.records.has(ownerOf(a))) ||
        a.created.localeCompare(b.created) ||
        ownerOf(a).localeCompare(ownerOf(b)),
    );
  for (const nad of candidates) {
    const def = nad.def;
    if (def.kind !== 'netloom') continue;
    const owner = ownerOf(nad);
    const rec = s.records.get(owner);
    const mine = claimsOf.get(owner) ?? [];
    // The record's ID stays its own (even when its claim was lost and the ID is still free).
    const id =
      rec && (mine.includes(rec.id) || !space.ids.has(rec.id))
        ? rec.id
        : (mine[0] ?? smallestFree(space.ids));
    const params = networkParams(def, id);
    const network: Network = { name: owner, id, subnets: def.subnets, ...params, snat: def.snat };
    const conflict = conflictOf(space, network, def.vni === undefined);
    if (conflict) {
      nadEvent(nad, true, conflict.reason, conflict.message);
      if (rec) occupy(owner, rec);
      continue;
    }
    space.ids.add(id);
    occupy(owner, network);
    if (!mine.includes(id)) {
      write.push({ type: 'create', owner, network, sharedClaim: !s.shared.has(id) });
      nadEvent(
        nad,
        false,
        REASONS.created,
        `network ID ${id}, VNI ${network.vni}, subnets ${network.subnets.join(', ')}`,
      );
    } else {
      if (!rec || JSON.stringify(normal(rec)) !== JSON.stringify(normal(network)))
        write.push({ type: 'update', owner, network });
      if (!s.shared.has(id)) write.push({ type: 'adopt', owner, id });
    }
  }

  // Claims no kept record stands on (a refused network, a crash between writes of old).
  for (const [owner, ids] of claimsOf) {
    const keep = kept.get(owner)?.id;
    const loose = ids.filter((id) => id !== keep);
    const already = retire.some((a) => a.type === 'retire' && a.owner === owner);
    if (loose.length > 0 && !already) retire.push(retirement(s, owner, loose, false));
  }

  // Finalizers, and why a deletion waits.
  const finalizers: NetworkAction[] = [];
  for (const nad of [...s.nads.values()].sort((a, b) => ownerOf(a).localeCompare(ownerOf(b)))) {
    const owner = ownerOf(nad);
    const has = nad.finalizers.includes(NETWORK_FINALIZER);
    const keeps = kept.has(owner);
    const pods = s.inUse.get(owner) ?? [];
    const patch = { ...ref(nad), resourceVersion: nad.resourceVersion, finalizers: nad.finalizers };
    if (keeps && !has && !nad.terminating) finalizers.push({ type: 'finalizer', nad: patch, add: true });
    if (!keeps && has) finalizers.push({ type: 'finalizer', nad: patch, add: false });
    if (nad.def.kind === 'invalid') nadEvent(nad, true, REASONS.invalid, nad.def.reason);
    if (nad.terminating && pods.length > 0)
      nadEvent(
        nad,
        true,
        REASONS.inUse,
        keeps && has
          ? `deletion waits: pods still attached: ${describePods(pods)}`
          : `deleted while pods are still attached: ${describePods(pods)}`,
      );
  }
  return [...retire, ...write, ...finalizers, ...events];
}

function retirement(s: RegistryState, owner: string, ids: number[], record: boolean): NetworkAction {
  const sharedIds = ids.filter((id) => {
    const h = s.shared.get(id);
    return h !== undefined && h.cluster === s.cluster && h.network === owner;
  });
  return { type: 'retire', owner, ids, sharedIds, record };
}

function smallestFree(taken: ReadonlySet<number>): number {
  let id = 1;
  while (taken.has(id)) id++;
  return id;
}

function conflictOf(
  space: Space,
  n: Network,
  derivedVni: boolean,
): { reason: string; message: string } | undefined {
  for (const cidr of n.subnets) {
    const other = space.subnets.find((o) => cidrsOverlap(cidr, o.cidr));
    if (other) return { reason: REASONS.overlap, message: `subnet ${cidr} overlaps ${other.who}` };
  }
  const holder = space.vnis.get(n.vni);
  if (holder !== undefined)
    return {
      reason: REASONS.vni,
      message: derivedVni
        ? `VNI ${n.vni} (4096 + network ID ${n.id}) is taken by ${holder}: set "vni" in the config`
        : `VNI ${n.vni} is taken by ${holder}`,
    };
  return undefined;
}

/** A record as compared: fields in proto order. */
function normal(n: Network): Network {
  const { name, id, subnets, vni, nodePrefixLength, gatewayOffset, snat } = n;
  return { name, id, subnets, vni, nodePrefixLength, gatewayOffset, snat };
}
