// The lab's scheduler (there is no kube-scheduler): pure placement of a pending pod on a ready
// node. It honours nodeSelector and required node affinity (label expressions and the
// `metadata.name` field, which DaemonSets use), then picks the least-loaded node; ties rotate so
// equal nodes fill evenly. Taints, resources and pod affinity are not modelled.
import type { NodeSelectorRequirement, Pod } from './types.ts';

export interface SchedNode {
  name: string;
  labels: Record<string, string>;
  ready: boolean;
}

function matches(req: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

export function fits(pod: Pod, node: SchedNode): boolean {
  for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) {
    if (node.labels[k] !== v) return false;
  }
  const terms =
    pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && terms.length > 0) {
    // Terms are ORed; requirements inside a term are ANDed.
    const anyTerm = terms.some(
      (t) =>
        (t.matchExpressions ?? []).every((r) => matches(r, node.labels[r.key])) &&
        (t.matchFields ?? []).every((r) => matches(r, r.key === 'metadata.name' ? node.name : undefined)),
    );
    if (!anyTerm) return false;
  }
  return true;
}

/**
 * The node for `pod`, or undefined when no ready node fits. `load` counts the pods each node
 * holds; `turn` rotates the tie-break (the caller increments it per binding).
 */
export function chooseNode(
  pod: Pod,
  nodes: readonly SchedNode[],
  load: ReadonlyMap<string, number>,
  turn: number,
): string | undefined {
  const candidates = nodes.filter((n) => n.ready && fits(pod, n));
  if (candidates.length === 0) return undefined;
  const sorted = [...candidates].sort((a, b) => a.name.localeCompare(b.name));
  let best: SchedNode | undefined;
  for (let i = 0; i < sorted.length; i++) {
    const n = sorted[(i + turn) % sorted.length]!;
    if (!best || (load.get(n.name) ?? 0) < (load.get(best.name) ?? 0)) best = n;
  }
  return best?.name;
}
