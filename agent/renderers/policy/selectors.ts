// Kubernetes label selectors, checked once and then matched many times. A selector reaches us as
// proto3 JSON written by KSR (or by a peer that got it wrong), so every field is optional here
// whatever the generated type says. Semantics are Kubernetes' own: matchLabels AND every
// matchExpression; NotIn and DoesNotExist match when the key is absent; an empty selector
// selects everything. A selector the API server would have refused (unknown operator, In
// without values, Exists with values) selects nothing, and says why.
import type { LabelSelector__Output as LabelSelector } from '../../../proto/gen/netloom/model/v1/LabelSelector.ts';

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
type Operator = (typeof OPERATORS)[number];

interface Requirement {
  key: string;
  operator: Operator;
  /** Sorted, unique. */
  values: string[];
}

/** A selector that can be matched; `canonical` is equal for selectors written in another order. */
export interface Selector {
  ok: true;
  labels: [string, string][];
  requirements: Requirement[];
  canonical: string;
}

/** A selector the API server would refuse: it selects nothing. */
export interface BadSelector {
  ok: false;
  problem: string;
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** Untyped input: generated types promise fields that proto3 JSON leaves out. */
type Loose = Partial<Record<keyof LabelSelector, unknown>>;

function requirement(raw: unknown, i: number): Requirement | string {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const where = `matchExpressions[${i}]`;
  if (!isString(r['key']) || r['key'] === '') return `${where} has no key`;
  const operator = OPERATORS.find((o) => o === r['operator']);
  if (operator === undefined) return `${where} has unknown operator ${JSON.stringify(r['operator'])}`;
  const values = r['values'] ?? [];
  if (!Array.isArray(values) || !values.every(isString)) return `${where} values are not strings`;
  const wantsValues = operator === 'In' || operator === 'NotIn';
  if (wantsValues && values.length === 0) return `${where} (${operator}) has no values`;
  if (!wantsValues && values.length > 0) return `${where} (${operator}) must not have values`;
  return { key: r['key'], operator, values: [...new Set(values)].sort() };
}

/**
 * Checks a selector. `undefined` when it is absent (null or missing: the caller decides what an
 * absent selector means — "not restricted" in a peer, "every pod" for a policy's podSelector).
 */
export function parseSelector(raw: unknown): Selector | BadSelector | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, problem: 'is not an object' };
  const s = raw as Loose;
  const ml = s.matchLabels ?? {};
  if (typeof ml !== 'object' || ml === null || Array.isArray(ml))
    return { ok: false, problem: 'matchLabels is not a map' };
  const labels: [string, string][] = [];
  for (const [k, v] of Object.entries(ml)) {
    if (!isString(v)) return { ok: false, problem: `matchLabels[${JSON.stringify(k)}] is not a string` };
    labels.push([k, v]);
  }
  labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const me = s.matchExpressions ?? [];
  if (!Array.isArray(me)) return { ok: false, problem: 'matchExpressions is not a list' };
  const requirements: Requirement[] = [];
  for (const [i, raw] of me.entries()) {
    const r = requirement(raw, i);
    if (typeof r === 'string') return { ok: false, problem: r };
    requirements.push(r);
  }
  const canon = requirements.map((r) => JSON.stringify([r.key, r.operator, r.values])).sort();
  // Repeating an expression changes nothing: the canonical form keeps one.
  const canonical = JSON.stringify({ l: labels, e: [...new Set(canon)] });
  return { ok: true, labels, requirements, canonical };
}

/** The selector that selects everything (`{}`). */
export const EVERYTHING: Selector = parseSelector({}) as Selector;

export function matches(sel: Selector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of sel.labels) if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
  for (const r of sel.requirements) {
    const has = Object.hasOwn(labels, r.key);
    const ok =
      r.operator === 'Exists'
        ? has
        : r.operator === 'DoesNotExist'
          ? !has
          : r.operator === 'In'
            ? has && r.values.includes(labels[r.key]!)
            : !has || !r.values.includes(labels[r.key]!);
    if (!ok) return false;
  }
  return true;
}

/** A short human form for explain: `{pod=a, ns notin (x,y)}`, `{}` for everything. */
export function describe(sel: Selector): string {
  const parts = sel.labels.map(([k, v]) => `${k}=${v}`);
  for (const r of sel.requirements) {
    if (r.operator === 'Exists') parts.push(r.key);
    else if (r.operator === 'DoesNotExist') parts.push(`!${r.key}`);
    else parts.push(`${r.key} ${r.operator === 'In' ? 'in' : 'notin'} (${r.values.join(',')})`);
  }
  return `{${parts.join(', ')}}`;
}
