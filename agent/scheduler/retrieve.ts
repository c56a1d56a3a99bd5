// The read-back half of a full resync: ask every descriptor that can for what the data plane
// really holds, in `retrieveAfter` order, and replace the graph's knowledge of applied state
// with it. Families without `retrieve` keep what the scheduler believes.
import type { Descriptor, Retrieved } from './descriptor.ts';
import { errorMessage } from './errors.ts';
import type { Graph } from './graph.ts';

export interface RetrieveFailure {
  family: string;
  error: string;
}

/** Descriptors ordered so each comes after the families it names in `retrieveAfter`. */
export function retrieveOrder(descriptors: readonly Descriptor[]): Descriptor[] {
  const byName = new Map(descriptors.map((d) => [d.name, d]));
  const out: Descriptor[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (d: Descriptor): void => {
    const s = state.get(d.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`retrieveAfter cycle through ${d.name}`);
    state.set(d.name, 'visiting');
    for (const name of d.retrieveAfter ?? []) {
      const dep = byName.get(name);
      if (dep) visit(dep);
    }
    state.set(d.name, 'done');
    out.push(d);
  };
  descriptors.forEach(visit);
  return out;
}

/**
 * Retrieves every family and records the result as the applied state. Returns the families
 * whose retrieve failed (their applied state is left as it was).
 */
export async function retrieveAll(
  graph: Graph,
  descriptors: readonly Descriptor[],
): Promise<RetrieveFailure[]> {
  const failures: RetrieveFailure[] = [];
  for (const d of retrieveOrder(descriptors)) {
    if (!d.retrieve) continue;
    const desired = new Map<string, unknown>();
    const before: string[] = [];
    for (const n of graph.nodes.values()) {
      if (n.descriptor !== d) continue;
      if (n.desired !== undefined) desired.set(n.key, n.desired);
      if (n.applied) before.push(n.key);
    }
    let items: Retrieved[];
    try {
      items = await d.retrieve({
        desired,
        metadata: <M>(key: string): M | undefined => graph.get(key)?.applied?.metadata as M | undefined,
      });
    } catch (err) {
      failures.push({ family: d.name, error: errorMessage(err) });
      continue;
    }
    const seen = new Set<string>();
    for (const r of items) {
      if (graph.descriptorFor(r.key) !== d) continue; // not this family's key: ignore
      seen.add(r.key);
      graph.setApplied(graph.node(r.key), { value: r.value, metadata: r.metadata, origin: r.origin });
    }
    for (const key of before) {
      const n = graph.get(key);
      if (n && !seen.has(key)) graph.setApplied(n, undefined);
    }
  }
  return failures;
}
