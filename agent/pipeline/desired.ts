// The desired state, kept per source (the node itself, one pod interface, one peer…). A source
// is re-rendered when its inputs change and only the difference to its previous items goes to
// the scheduler, so one pod or one peer costs the same whatever the cluster's size.
import type { Item } from '../scheduler/descriptor.ts';
import type { Change } from '../scheduler/scheduler.ts';
import { jsonEqual } from '../scheduler/status.ts';

export class DesiredState {
  private readonly bySource = new Map<string, Map<string, unknown>>();
  private readonly owner = new Map<string, string>();

  /** Replaces one source's items; returns the changes for the scheduler. */
  set(source: string, items: readonly Item[]): Change[] {
    const before = this.bySource.get(source) ?? new Map<string, unknown>();
    const after = new Map(items.map((i) => [i.key, i.value]));
    const changes: Change[] = [];
    for (const [key, value] of after) {
      if (this.owner.get(key) !== source || !jsonEqual(before.get(key), value)) changes.push({ key, value });
      this.owner.set(key, source);
    }
    for (const key of before.keys()) {
      if (after.has(key) || this.owner.get(key) !== source) continue;
      this.owner.delete(key);
      changes.push({ key, value: undefined });
    }
    if (after.size === 0) this.bySource.delete(source);
    else this.bySource.set(source, after);
    return changes;
  }

  /** Whether some source wants `key`. */
  has(key: string): boolean {
    return this.owner.has(key);
  }

  items(): Item[] {
    const out: Item[] = [];
    for (const [source, items] of this.bySource) {
      for (const [key, value] of items) if (this.owner.get(key) === source) out.push({ key, value });
    }
    return out;
  }

  get size(): number {
    return this.owner.size;
  }
}
