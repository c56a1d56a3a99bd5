// Helpers every converter shares: the proto3 JSON conventions (defaults omitted, maps written
// in sorted key order) and the Kubernetes shapes that recur (label selectors, IntOrString).
import { NetloomError } from '../../lib/errors.ts';
import type { LabelSelector } from '../../proto/gen/netloom/model/v1/LabelSelector.ts';
import type { PortRef } from '../../proto/gen/netloom/model/v1/PortRef.ts';

/** An object the converter cannot handle; logged and counted by the caller, never fatal. */
export class ConvertError extends NetloomError {}

/** The metadata fields converters read; raw API JSON and client-node's models both fit. */
export interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  deletionTimestamp?: unknown;
}

/** The annotations netloom interprets; everything else stays in Kubernetes. */
export function isNetloomAnnotation(key: string): boolean {
  return (
    key.startsWith('opencontrail.org/') ||
    key.startsWith('netloom.io/') ||
    key === 'k8s.v1.cni.cncf.io/networks'
  );
}

/**
 * A map in sorted key order (so equal maps serialise to equal JSON), or undefined when empty
 * (proto3 omits empty maps). Values that are not strings are rejected: they cannot be labels.
 */
export function sortedMap(
  map: Record<string, string> | null | undefined,
  keep: (key: string) => boolean = () => true,
): Record<string, string> | undefined {
  if (!map) return undefined;
  const keys = Object.keys(map).filter(keep).sort();
  if (keys.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = map[k];
    if (typeof v !== 'string') throw new ConvertError(`map entry ${JSON.stringify(k)} is not a string`);
    out[k] = v;
  }
  return out;
}

/** The metadata name, required by every kind. */
export function requireName(meta: Meta | null | undefined, what: string): string {
  const name = meta?.name;
  if (typeof name !== 'string' || name === '') throw new ConvertError(`${what} without metadata.name`);
  return name;
}

/** The metadata namespace, required by namespaced kinds. */
export function requireNamespace(meta: Meta | null | undefined, what: string): string {
  const ns = meta?.namespace;
  if (typeof ns !== 'string' || ns === '')
    throw new ConvertError(`${what} ${meta?.name ?? '?'} without metadata.namespace`);
  return ns;
}

/** A non-negative integer that fits uint32, or undefined for absent/zero (proto3 default). */
export function uint(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null || value === 0) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ConvertError(`${what} is not a non-negative integer: ${JSON.stringify(value)}`);
  }
  return value;
}

/** A string, or undefined for absent/empty (proto3 default). */
export function str(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new ConvertError(`${what} is not a string: ${JSON.stringify(value)}`);
  return value;
}

/** A list of strings, or undefined when empty. Order is kept: in Kubernetes it carries meaning. */
export function strList(value: unknown, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new ConvertError(`${what} is not a list`);
  const out = value.map((v, i) => {
    if (typeof v !== 'string') throw new ConvertError(`${what}[${i}] is not a string`);
    return v;
  });
  return out.length > 0 ? out : undefined;
}

/** Drops the proto3 defaults (undefined, '', 0, false, empty lists) so JSON shows only what is set. */
export function compact<T extends object>(obj: T): T {
  const src = obj as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  // for…in, not Object.entries: this runs for every object of every list (hot in profiles).
  for (const k in src) {
    const v = src[k];
    if (v === undefined || v === null || v === '' || v === 0 || v === false) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out as T;
}

/** Kubernetes IntOrString → PortRef (number or name); undefined when absent. */
export function portRef(value: unknown, what: string): PortRef | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return compact({ number: uint(value, what) });
  if (typeof value === 'string') return compact({ name: value });
  throw new ConvertError(`${what} is neither a number nor a name: ${JSON.stringify(value)}`);
}

interface KubeSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}

/**
 * A label selector. Presence matters (an empty selector selects everything, an absent one
 * nothing), so a present selector converts to an object even when it is empty.
 */
export function labelSelector(sel: KubeSelector | null | undefined, what: string): LabelSelector | undefined {
  if (sel === undefined || sel === null) return undefined;
  const exprs = (sel.matchExpressions ?? []).map((e, i) => {
    if (typeof e?.key !== 'string' || typeof e.operator !== 'string') {
      throw new ConvertError(`${what}.matchExpressions[${i}] needs key and operator`);
    }
    return compact({
      key: e.key,
      operator: e.operator,
      values: strList(e.values, `${what}.matchExpressions[${i}].values`),
    });
  });
  return compact({ matchLabels: sortedMap(sel.matchLabels), matchExpressions: exprs });
}

/** Serialises a converted message: the exact bytes written to etcd. */
export function toJson(message: object): string {
  return JSON.stringify(message);
}
