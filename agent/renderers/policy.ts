// NetworkPolicy and Contrail namespace isolation (pure): the cluster's namespaces, pods and
// policies become, for this node, a PodPolicy per local pod interface that something isolates,
// and the PeerSets those rules name. `explain` answers "may this connection go, and why" from the
// same compiled rules. Theory, decisions and layout: policy/README.md.
import { addressOf } from '../../lib/cidr.ts';
import { peerSetKey, podInterfaceKey, policyKey } from '../items/keys.ts';
import type { PeerSet, PodPolicy, PolicyRule } from '../items/values.ts';
import type { Item } from '../scheduler/descriptor.ts';
import type { NodeContext } from './context.ts';
import { cmp, type PolicyInputs } from './policy/cluster.ts';
import { nothingIsolates, PolicyEngine } from './policy/compile.ts';
import {
  explain,
  explainWith,
  type DirectionVerdict,
  type Explanation,
  type Flow,
  type FlowEnd,
  type RuleRef,
} from './policy/explain.ts';

export { explain, explainWith, PolicyEngine };
export type { DirectionVerdict, Explanation, Flow, FlowEnd, PolicyInputs, RuleRef };

const CLOSED: {
  ingress: { isolated: boolean; rules: PolicyRule[] };
  egress: { isolated: boolean; rules: PolicyRule[] };
} = {
  ingress: { isolated: true, rules: [] },
  egress: { isolated: true, rules: [] },
};

/** Whether a policy or namespace isolation could select a pod of `namespace` once it is known. */
function mightSelect(engine: PolicyEngine, inputs: PolicyInputs, namespace: string): boolean {
  if (engine.isolated(namespace)) return true;
  for (const p of inputs.policies.values()) if (p.namespace === namespace) return true;
  return false;
}

/** One pod interface wired on this node. */
export interface LocalInterface {
  namespace: string;
  pod: string;
  ifname: string;
  /** Its addresses (bare or as CIDRs). */
  ips: string[];
}

const keyPart = (s: unknown): boolean => typeof s === 'string' && s !== '' && !s.includes('/');

/**
 * Items for this node: a PodPolicy (policyKey(ns, pod, ifname)) per local pod interface that a
 * policy or namespace isolation isolates in some direction (none for the others, and none for a
 * pod the view does not know yet: the pipeline renders it again when the pod arrives), and the
 * PeerSet items (peerSetKey(id)) those rules name. Sorted by key; the same inputs give the same
 * items whatever the maps' order.
 */
export function renderPolicies(
  _ctx: NodeContext,
  inputs: PolicyInputs,
  local: readonly LocalInterface[],
): Item[] {
  // Every CNI ADD and DEL renders policies: without any policy or isolation (most clusters, most
  // of the time) there is nothing to compute, and the engine's index of every pod is not built.
  if (nothingIsolates(inputs)) return [];
  const engine = new PolicyEngine(inputs);
  const items: Item[] = [];
  const sets = new Set<string>();
  for (const li of local) {
    if (![li.namespace, li.pod, li.ifname].every(keyPart)) continue;
    const pod = inputs.pods.get(`${li.namespace}/${li.pod}`);
    // A pod wired before the view knows it (KSR has not reflected it yet) in a namespace where
    // anything could select it is closed until it is known: a new pod is never open by accident.
    const compiled = pod
      ? engine.compile(pod)
      : mightSelect(engine, inputs, li.namespace)
        ? CLOSED
        : undefined;
    if (!compiled || (!compiled.ingress.isolated && !compiled.egress.isolated)) continue;
    const value: PodPolicy = {
      namespace: li.namespace,
      pod: li.pod,
      interface: podInterfaceKey(li.namespace, li.pod, li.ifname),
      podIps: li.ips.map(addressOf),
      ingress: { isolated: compiled.ingress.isolated, rules: compiled.ingress.rules },
      egress: { isolated: compiled.egress.isolated, rules: compiled.egress.rules },
    };
    for (const r of [...value.ingress.rules, ...value.egress.rules])
      for (const p of r.peers) if (p.type === 'set') sets.add(p.set);
    items.push({ key: policyKey(li.namespace, li.pod, li.ifname), value });
  }
  for (const id of sets) {
    const value: PeerSet = { id, addresses: engine.setAddresses(id) };
    items.push({ key: peerSetKey(id), value });
  }
  // A pod interface listed twice renders one item.
  const unique = new Map(items.map((i) => [i.key, i]));
  return [...unique.values()].sort((a, b) => cmp(a.key, b.key));
}
