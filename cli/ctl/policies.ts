// `netloom ctl policies [node]`: NetworkPolicies and Contrail namespace isolation as the agents'
// policy engine (agent/renderers/policy) reads them.
// - Without a node: per policy (and per isolated namespace) its pod selector, the rules the
//   engine kept per direction, what it skipped (notes), and the pods it isolates — asked of the
//   engine for every pod, so it is the engine's answer, not a second reading of selectors.
// - With a node: the items that node's agent renders (renderPolicies) for the pod interfaces
//   its IPAM records hold: one PodPolicy per isolated interface and the PeerSets they name.
import { PREFIX } from '../../agent/items/keys.ts';
import type { PodPolicy, PolicyRule } from '../../agent/items/values.ts';
import {
  PolicyEngine,
  renderPolicies,
  type LocalInterface,
  type PolicyInputs,
} from '../../agent/renderers/policy.ts';
import { parsePolicy, type ParsedRule } from '../../agent/renderers/policy/rules.ts';
import { describe as describeSelector } from '../../agent/renderers/policy/selectors.ts';
import type { NodeContext } from '../../agent/renderers/context.ts';
import type { Item } from '../../agent/scheduler/descriptor.ts';
import type { Policy } from '../../agent/view/decode.ts';
import { emit, parseArgs } from './common.ts';
import { checkNode, loadSnapshot, type Snapshot } from './snapshot.ts';
import { cell, clip, formatTable, type Table } from './table.ts';

export interface DirectionRecord {
  /** The policy isolates the pods it selects in this direction. */
  isolates: boolean;
  /** Pods ("ns/name") the engine says this policy (or isolation) isolates in this direction. */
  pods: string[];
  /** The allow rules: parsed rules for a policy, the engine's implicit rules for isolation. */
  rules: (ParsedRule | PolicyRule)[];
}

export interface PolicyRecord {
  /** "ns/name" for a NetworkPolicy, "isolation:<ns>" for namespace isolation. */
  key: string;
  kind: 'NetworkPolicy' | 'isolation';
  namespace: string;
  name: string;
  /** The pod selector as explain prints it; '' for isolation (every pod of the namespace). */
  podSelector: string;
  ingress: DirectionRecord;
  egress: DirectionRecord;
  /** What the engine skipped (malformed parts), as explain names them. */
  notes: string[];
  /** The mirrored object (null for isolation). */
  policy: Policy | null;
}

export interface ClusterPolicies {
  node: null;
  revision: number;
  policies: PolicyRecord[];
}

export interface NodePolicies {
  node: string;
  revision: number;
  /** PodPolicy and PeerSet items, sorted by key, as the node's agent renders them. */
  items: Item[];
}

const inputsOf = (s: Snapshot): PolicyInputs => ({
  namespaces: s.view.namespaces.items,
  pods: s.view.pods.items,
  policies: s.view.policies.items,
  nodes: s.view.nodes.items,
});

export function clusterPolicies(s: Snapshot): ClusterPolicies {
  const inputs = inputsOf(s);
  const engine = new PolicyEngine(inputs);
  // Which pods each policy (or isolation) isolates, per direction, as the engine compiles them.
  const selected = { ingress: new Map<string, string[]>(), egress: new Map<string, string[]>() };
  const isolationRules = {
    ingress: new Map<string, PolicyRule[]>(),
    egress: new Map<string, PolicyRule[]>(),
  };
  for (const [key, pod] of [...inputs.pods].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const compiled = engine.compile(pod);
    if (!compiled) continue;
    for (const d of ['ingress', 'egress'] as const) {
      for (const by of compiled[d].selectedBy) {
        const list = selected[d].get(by) ?? [];
        selected[d].set(by, [...list, key]);
        if (by.startsWith('isolation:') && !isolationRules[d].has(by))
          isolationRules[d].set(
            by,
            compiled[d].rules.filter((r) => r.origin.startsWith(`${by}:`)),
          );
      }
    }
  }
  const policies: PolicyRecord[] = [];
  for (const [ns] of [...inputs.namespaces].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!engine.isolated(ns)) continue;
    const key = `isolation:${ns}`;
    const dir = (d: 'ingress' | 'egress'): DirectionRecord => ({
      isolates: true,
      pods: selected[d].get(key) ?? [],
      rules: isolationRules[d].get(key) ?? [],
    });
    policies.push({
      key,
      kind: 'isolation',
      namespace: ns,
      name: '',
      podSelector: '',
      ingress: dir('ingress'),
      egress: dir('egress'),
      notes: [],
      policy: null,
    });
  }
  for (const [key, policy] of [...inputs.policies].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parsed = parsePolicy(key, policy);
    const dir = (d: 'ingress' | 'egress'): DirectionRecord => ({
      isolates: parsed[d] !== undefined,
      pods: selected[d].get(parsed.key) ?? [],
      rules: parsed[d] ?? [],
    });
    policies.push({
      key: parsed.key,
      kind: 'NetworkPolicy',
      namespace: parsed.namespace,
      name: parsed.key.slice(parsed.namespace.length + 1),
      podSelector: parsed.podSelector ? describeSelector(parsed.podSelector) : '',
      ingress: dir('ingress'),
      egress: dir('egress'),
      notes: parsed.notes,
      policy,
    });
  }
  return { node: null, revision: s.revision, policies };
}

/** The renderer reads nothing of the context today; it is filled as the agent's would be. */
function contextOf(node: string): NodeContext {
  return {
    node,
    id: 0,
    podSubnet: '',
    gateway: '',
    podPrefixLength: 0,
    podCidr: '',
    serviceCidr: '',
    tunnelEndpoint: '',
    vni: 0,
    vxlanPort: 0,
    mtu: 0,
  };
}

export function nodePolicies(s: Snapshot, node: string): NodePolicies {
  // The agent renders for its attachments; the node's IPAM records carry the same
  // (namespace, pod, interface, address) — the agent rebuilds its attachments from them.
  const local = new Map<string, LocalInterface>();
  for (const r of s.ipam) {
    if (r.node !== node) continue;
    const id = `${r.entry.namespace}/${r.entry.pod}/${r.entry.ifname}`;
    const li = local.get(id);
    if (li) li.ips.push(r.ip);
    else
      local.set(id, { namespace: r.entry.namespace, pod: r.entry.pod, ifname: r.entry.ifname, ips: [r.ip] });
  }
  return {
    node,
    revision: s.revision,
    items: renderPolicies(contextOf(node), inputsOf(s), [...local.values()]),
  };
}

function dirCell(d: DirectionRecord): string {
  if (!d.isolates) return '-';
  return `${d.rules.length} rule${d.rules.length === 1 ? '' : 's'}`;
}

export function clusterTable(r: ClusterPolicies): Table {
  return {
    columns: ['namespace', 'name', 'selector', 'ingress', 'egress', 'isolates', 'notes'],
    rows: r.policies.map((p) => [
      p.namespace,
      p.kind === 'isolation' ? '(isolation)' : p.name,
      p.kind === 'isolation' ? 'all pods' : cell(p.podSelector),
      dirCell(p.ingress),
      dirCell(p.egress),
      `${new Set([...p.ingress.pods, ...p.egress.pods]).size} pods`,
      p.notes.length === 0 ? '' : clip(p.notes.join('; '), 50),
    ]),
    empty: 'no NetworkPolicy and no isolated namespace: every pod is open',
  };
}

function podDirCell(d: PodPolicy['ingress']): string {
  if (!d.isolated) return 'open';
  const origins = [...new Set(d.rules.map((r) => r.origin.replace(/:(ingress|egress)\[\d+\]$/, '')))];
  return `isolated, ${d.rules.length} rule${d.rules.length === 1 ? '' : 's'}${origins.length ? ` (${clip(origins.join(', '), 40)})` : ''}`;
}

export function nodeTable(r: NodePolicies): string {
  const pods = r.items.filter((i) => i.key.startsWith(PREFIX.policy)).map((i) => i.value as PodPolicy);
  const sets = r.items.length - pods.length;
  const table = formatTable({
    columns: ['namespace', 'pod', 'interface', 'ingress', 'egress'],
    // p.interface is the pod interface's item key; its last part is the interface name.
    rows: pods.map((p) => [
      p.namespace,
      p.pod,
      p.interface.split('/').pop() ?? '',
      podDirCell(p.ingress),
      podDirCell(p.egress),
    ]),
    empty: `no pod on ${r.node} is isolated`,
  });
  return `${table}${sets > 0 ? `\n${sets} peer set${sets === 1 ? '' : 's'} (-o json lists their addresses)\n` : ''}`;
}

export async function main(argv: string[]): Promise<number> {
  const { config, positionals } = parseArgs(argv, 1, 'netloom ctl policies [node]');
  const snap = await loadSnapshot(config);
  const node = positionals[0];
  checkNode(snap, node, config.cluster);
  if (node === undefined) emit(config, clusterPolicies(snap), clusterTable);
  else emit(config, nodePolicies(snap, node), nodeTable);
  return 0;
}
