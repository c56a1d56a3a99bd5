// Per-item status, as the agent's API shows it (after Ligato's item states).
import type { Applied, Graph, Node } from './graph.ts';

export type ItemState =
  /** Applied with the desired value. */
  | 'configured'
  /** Found in the data plane, not created by netloom: used, never touched. */
  | 'obtained'
  /** Desired, waiting for dependencies (listed in `missing`). */
  | 'pending'
  /** The last operation failed and will be retried at `nextRetryAt`. */
  | 'retrying'
  /** The last operation failed for good; a new desired value or a resync tries again. */
  | 'failed'
  /** The desired value can never be applied (validation error). */
  | 'invalid'
  /** No descriptor of this data plane handles the family. */
  | 'unimplemented'
  /** Not desired but still applied: removal in progress. */
  | 'removing'
  /** Gone: neither desired nor applied (only seen by status listeners). */
  | 'removed';

export interface ItemStatus {
  key: string;
  family: string;
  state: ItemState;
  desired: boolean;
  applied: boolean;
  derivedFrom?: string;
  /** Dependencies not applied yet (for pending items). */
  missing?: string[];
  error?: { operation: string; message: string; retriable: boolean };
  attempts: number;
  nextRetryAt?: string;
  /** Sequence number of the last transaction that touched the item. */
  lastTxn: number;
}

/**
 * Whether a dependency is met: applied and staying (external, or still wanted with its own
 * dependencies met, transitively). Items on a dependency cycle never are: the applied state
 * is then the same as a fresh start would reach, whatever the history.
 */
export function satisfied(graph: Graph, key: string, path: Set<string> = new Set()): boolean {
  const d = graph.get(key);
  if (!d?.applied) return false;
  if (d.applied.origin === 'external') return true;
  if (!wanted(d) || path.has(key)) return false;
  path.add(key);
  const ok = d.desiredDeps.every((x) => satisfied(graph, x.key, path));
  path.delete(key);
  return ok;
}

/** Whether the node's desired value may be applied at all (ignoring dependencies). */
export function wanted(n: Node): boolean {
  return n.desired !== undefined && n.invalid === undefined;
}

export function missingDeps(graph: Graph, n: Node): string[] {
  const path = new Set([n.key]);
  return n.desiredDeps.filter((d) => !satisfied(graph, d.key, path)).map((d) => d.key);
}

export function isCurrent(n: Node, applied: Applied): boolean {
  if (applied.origin === 'external') return true;
  const d = n.descriptor;
  if (d?.equivalent) return d.equivalent(n.key, applied.value, n.desired);
  return jsonEqual(applied.value, n.desired);
}

export function stateOf(graph: Graph, n: Node): ItemState {
  if (n.applied?.origin === 'external') return 'obtained';
  if (n.desired !== undefined && !n.descriptor) return 'unimplemented';
  if (n.desired !== undefined && n.invalid !== undefined) return n.applied ? 'removing' : 'invalid';
  if (n.lastError) return n.lastError.retriable ? 'retrying' : 'failed';
  if (n.desired === undefined) return 'removing';
  if (n.applied && isCurrent(n, n.applied)) return 'configured';
  return 'pending';
}

export function statusOf(graph: Graph, n: Node): ItemStatus {
  const state = stateOf(graph, n);
  const s: ItemStatus = {
    key: n.key,
    family: n.descriptor?.name ?? 'unknown',
    state,
    desired: n.desired !== undefined,
    applied: n.applied !== undefined,
    attempts: n.attempts,
    lastTxn: n.lastTxn,
  };
  if (n.derivedFrom !== undefined) s.derivedFrom = n.derivedFrom;
  if (state === 'pending') s.missing = missingDeps(graph, n);
  if (n.invalid !== undefined) s.error = { operation: 'validate', message: n.invalid, retriable: false };
  if (n.lastError)
    s.error = {
      operation: n.lastError.operation,
      message: n.lastError.error,
      retriable: n.lastError.retriable,
    };
  if (n.nextRetryAt !== undefined) s.nextRetryAt = new Date(n.nextRetryAt).toISOString();
  return s;
}

/** Structural equality of JSON values, independent of object key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}
