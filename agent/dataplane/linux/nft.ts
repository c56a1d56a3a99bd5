// A small model of one nftables table, shared by the kernel port and the fake: the operations
// netloom sends (rendered to `nft -f` text), and the table as read back from `nft -j list table`
// with every rule printed in one canonical text form. Rules are written in that same form, so a
// rule read back equals the rule that was written exactly when the kernel holds what we wrote:
// comparing text is how retrieve tells "as desired" from "drifted". The printer covers the
// expressions netloom writes; anything else prints as `?<json>` and so never compares equal.
// Pure functions.

/** One statement of an nft transaction, in a table the caller names once. */
export type NftOp =
  | { op: 'add-table' }
  /** `base`: a base chain's spec (`type nat hook output priority -100; policy accept;`). */
  | { op: 'add-chain'; chain: string; base?: string }
  | { op: 'flush-chain'; chain: string }
  | { op: 'delete-chain'; chain: string }
  | { op: 'add-rule'; chain: string; rule: string }
  /**
   * A set, or a map when `map` names its values' type (`verdict`, `ipv4_addr . inet_service`);
   * `typeof` (`<key exprs> : <value exprs>` for a map) instead of `type` and `map` where a key
   * holds a value no named type fits (a `numgen` draw); `timeout` makes it a dynamic set with
   * timeouts.
   */
  | {
      op: 'add-set';
      set: string;
      type: string;
      map?: string;
      typeof?: string;
      timeout?: number;
      comment?: string;
    }
  | { op: 'delete-set'; set: string }
  /** `value`: a map element's verdict or data. */
  | { op: 'add-element'; set: string; key: string; value?: string; comment?: string }
  | { op: 'delete-element'; set: string; key: string };

export interface NftChain {
  /** Base chain spec, as `add-chain` takes it; undefined for a regular chain. */
  base?: string;
  rules: string[];
}

export interface NftElement {
  /** A map element's value: its verdict (`goto svc-…`) or data (`10.1.1.5 . 8080`). */
  value?: string;
  comment?: string;
}

export interface NftSet {
  type: string;
  /** For a map: its values' type (`verdict`, `ipv4_addr . inet_service`). */
  map?: string;
  timeout?: number;
  comment?: string;
  /** By element key text (`10.96.0.10 . tcp . 80`). */
  elements: Map<string, NftElement>;
}

/** One table's chains and sets (maps included); undefined table = not there. */
export interface NftTable {
  chains: Map<string, NftChain>;
  sets: Map<string, NftSet>;
}

export const emptyTable = (): NftTable => ({ chains: new Map(), sets: new Map() });

/**
 * A table netloom owns: where it is, and its fixed part (maps and hooked chains written once per
 * agent, before the first change, and again when a read finds them damaged).
 */
export interface NftTableSpec {
  family: NftFamily;
  name: string;
  setupOps(): NftOp[];
  baseIntact(t: NftTable | undefined): boolean;
}

const quote = (s: string): string => JSON.stringify(s);

/** The address family of a table: `ip` (IPv4 only) or `inet` (both). */
export type NftFamily = 'ip' | 'inet';

/** The `nft -f` line of one operation on `<family> <table>`. */
export function opText(table: string, o: NftOp, family: NftFamily = 'ip'): string {
  const t = `${family} ${table}`;
  switch (o.op) {
    case 'add-table':
      return `add table ${t}`;
    case 'add-chain':
      return o.base ? `add chain ${t} ${o.chain} { ${o.base} }` : `add chain ${t} ${o.chain}`;
    case 'flush-chain':
      return `flush chain ${t} ${o.chain}`;
    case 'delete-chain':
      return `delete chain ${t} ${o.chain}`;
    case 'add-rule':
      return `add rule ${t} ${o.chain} ${o.rule}`;
    case 'add-set': {
      const body = [
        o.typeof !== undefined ? `typeof ${o.typeof};` : `type ${o.type}${o.map ? ` : ${o.map}` : ''};`,
      ];
      if (o.timeout !== undefined) body.push('flags dynamic,timeout;', `timeout ${o.timeout}s;`);
      if (o.comment !== undefined) body.push(`comment ${quote(o.comment)};`);
      return `add ${o.map ? 'map' : 'set'} ${t} ${o.set} { ${body.join(' ')} }`;
    }
    case 'delete-set':
      return `delete set ${t} ${o.set}`;
    case 'add-element': {
      const comment = o.comment !== undefined ? ` comment ${quote(o.comment)}` : '';
      const value = o.value !== undefined ? ` : ${o.value}` : '';
      return `add element ${t} ${o.set} { ${o.key}${comment}${value} }`;
    }
    case 'delete-element':
      return `delete element ${t} ${o.set} { ${o.key} }`;
  }
}

/** A whole transaction as `nft -f` input. */
export function scriptOf(table: string, ops: readonly NftOp[], family: NftFamily = 'ip'): string {
  return ops.map((o) => opText(table, o, family) + '\n').join('');
}

// ---- reading back: `nft -j list table` → NftTable ----

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;

/** A scalar from the listing as text (anything else as JSON, which no rule netloom writes holds). */
const str = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' ? `${v}` : JSON.stringify(v);

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** Whether an expression reads the packet mark (its constants print in hex, as nft does). */
const isMark = (e: unknown): boolean => JSON.stringify(e).includes('{"meta":{"key":"mark"}}');

const VERDICTS = ['accept', 'drop', 'return', 'continue'] as const;

function verdictText(e: Json): string | undefined {
  for (const v of VERDICTS) if (v in e) return v;
  for (const v of ['goto', 'jump'] as const) {
    const target = obj(e[v])?.['target'];
    if (typeof target === 'string') return `${v} ${target}`;
  }
  return undefined;
}

/** The canonical text of an expression (the left or right side of a match, a key, a value). */
export function exprText(e: unknown, markContext = false): string {
  if (typeof e === 'string') return e;
  if (typeof e === 'number') return markContext ? hex(e) : str(e);
  // A list on the right of a match is a set of flags (`ct state established,related`).
  if (Array.isArray(e)) return e.map((x) => exprText(x, markContext)).join(',');
  const o = obj(e);
  if (!o) return `?${JSON.stringify(e)}`;
  const payload = obj(o['payload']);
  if (payload) return `${str(payload['protocol'])} ${str(payload['field'])}`;
  const meta = obj(o['meta']);
  if (meta) return `meta ${str(meta['key'])}`;
  const ct = obj(o['ct']);
  if (ct) return `ct ${str(ct['key'])}`;
  const concat = o['concat'];
  if (Array.isArray(concat)) return concat.map((x) => exprText(x)).join(' . ');
  const prefix = obj(o['prefix']);
  if (prefix) {
    // A host prefix prints bare: /32 for IPv4, /128 for IPv6 (an IPv6 /32 is a network).
    const addr = str(prefix['addr']);
    const host = addr.includes(':') ? 128 : 32;
    return prefix['len'] === host ? addr : `${addr}/${str(prefix['len'])}`;
  }
  const range = o['range'];
  if (Array.isArray(range)) return range.map((x) => exprText(x)).join('-');
  const numgen = obj(o['numgen']);
  if (numgen) {
    const offset = numgen['offset'] ? ` offset ${str(numgen['offset'])}` : '';
    return `numgen ${str(numgen['mode'])} mod ${str(numgen['mod'])}${offset}`;
  }
  const fib = obj(o['fib']);
  if (fib) {
    const flags = fib['flags'];
    return `fib ${(Array.isArray(flags) ? flags : [flags]).map(String).join(' . ')} ${str(fib['result'])}`;
  }
  const set = o['set'];
  if (Array.isArray(set)) return `{ ${set.map((x) => elementText(x, markContext)).join(', ')} }`;
  for (const op of ['|', '&', '^'] as const) {
    const args = o[op];
    if (Array.isArray(args) && args.length === 2) {
      const mark = markContext || isMark(args[0]);
      return `${exprText(args[0], mark)} ${op} ${exprText(args[1], mark)}`;
    }
  }
  const verdict = verdictText(o);
  if (verdict) return verdict;
  return `?${JSON.stringify(e)}`;
}

/** A set or map literal's member: `k` or `k : v`. */
function elementText(x: unknown, mark: boolean): string {
  if (Array.isArray(x) && x.length === 2) return `${exprText(x[0], mark)} : ${exprText(x[1], mark)}`;
  return exprText(x, mark);
}

/** One statement of a rule. */
function statementText(s: unknown): string {
  const o = obj(s);
  if (!o) return `?${JSON.stringify(s)}`;
  const match = obj(o['match']);
  if (match) {
    const mark = isMark(match['left']);
    const left = exprText(match['left'], mark);
    const right = exprText(match['right'], mark);
    const op = str(match['op']);
    // nft prints `==` only after a binary operation (`meta mark & 0x4000 == 0x0`), and
    // implicit matches (`in` a flag set, `==` a value) as plain juxtaposition.
    if (op === '==' || op === 'in')
      return mark && /[|&^]/.test(left) ? `${left} == ${right}` : `${left} ${right}`;
    return `${left} ${op} ${right}`;
  }
  const mangle = obj(o['mangle']);
  if (mangle) {
    const mark = isMark(mangle['key']);
    return `${exprText(mangle['key'], mark)} set ${exprText(mangle['value'], mark)}`;
  }
  const set = obj(o['set']);
  if (set) return `${str(set['op'])} ${str(set['set'])} { ${exprText(set['elem'])} }`;
  const vmap = obj(o['vmap']);
  if (vmap) {
    const data = vmap['data'];
    return `${exprText(vmap['key'])} vmap ${typeof data === 'string' ? data : exprText(obj(data) ?? data)}`;
  }
  const dnat = obj(o['dnat']);
  if (dnat) {
    // To an address looked up in a map: `dnat ip to <key> map @m : <port>`.
    const lookup = obj(obj(dnat['addr'])?.['map']);
    if (lookup) {
      const port = dnat['port'] !== undefined ? ` : ${str(dnat['port'])}` : '';
      return `dnat ${str(dnat['family'] ?? 'ip')} to ${exprText(lookup['key'])} map ${str(lookup['data'])}${port}`;
    }
    return `dnat to ${str(dnat['addr'])}${dnat['port'] !== undefined ? `:${str(dnat['port'])}` : ''}`;
  }
  if ('masquerade' in o) {
    const flags = obj(o['masquerade'])?.['flags'];
    const list = flags === undefined ? [] : Array.isArray(flags) ? flags : [flags];
    return ['masquerade', ...list.map(String)].join(' ');
  }
  if ('reject' in o) {
    const r = obj(o['reject']);
    if (!r) return 'reject';
    if (r['type'] === 'tcp reset') return 'reject with tcp reset';
    if (r['type'] === 'icmp' && r['expr'] === 'port-unreachable') return 'reject';
    return `reject with ${str(r['type'])} ${str(r['expr'] ?? '')}`.trim();
  }
  if ('counter' in o) return 'counter';
  return verdictText(o) ?? `?${JSON.stringify(s)}`;
}

/** A rule read back, as text in the form netloom writes rules. */
export function ruleText(rule: { expr?: unknown[]; comment?: string }): string {
  const text = (rule.expr ?? []).map(statementText).join(' ');
  return rule.comment !== undefined ? `${text} comment ${quote(rule.comment)}` : text;
}

/** A base chain's spec as `add-chain` writes it. */
function baseSpec(c: Json): string | undefined {
  if (c['hook'] === undefined) return undefined;
  return `type ${str(c['type'])} hook ${str(c['hook'])} priority ${str(c['prio'])}; policy ${str(c['policy'] ?? 'accept')};`;
}

function setOf(s: Json, kind: 'set' | 'map'): NftSet {
  const type = s['type'];
  const out: NftSet = {
    type: Array.isArray(type) ? type.map(String).join(' . ') : str(type),
    elements: new Map(),
  };
  if (kind === 'map') out.map = typeof s['map'] === 'string' ? s['map'] : 'verdict';
  if (typeof s['timeout'] === 'number') out.timeout = s['timeout'];
  if (typeof s['comment'] === 'string') out.comment = s['comment'];
  const elems: unknown[] = Array.isArray(s['elem']) ? (s['elem'] as unknown[]) : [];
  for (const raw of elems) {
    // A map element is [key, value]; a key with a comment is wrapped as {"elem": {val, comment}}.
    const [k, v]: unknown[] = Array.isArray(raw) ? (raw as unknown[]) : [raw, undefined];
    const wrapped = obj(obj(k)?.['elem']);
    const element: NftElement = {};
    if (v !== undefined) element.value = exprText(v);
    if (typeof wrapped?.['comment'] === 'string') element.comment = wrapped['comment'];
    out.elements.set(exprText(wrapped ? wrapped['val'] : k), element);
  }
  return out;
}

/** The table in an `nft -j list table` answer. */
export function parseTable(listing: unknown): NftTable {
  const table = emptyTable();
  const items = obj(listing)?.['nftables'];
  for (const item of Array.isArray(items) ? items : []) {
    const o = obj(item);
    const chain = obj(o?.['chain']);
    if (chain) {
      const base = baseSpec(chain);
      table.chains.set(str(chain['name']), base ? { base, rules: [] } : { rules: [] });
    }
    for (const kind of ['set', 'map'] as const) {
      const s = obj(o?.[kind]);
      if (s) table.sets.set(str(s['name']), setOf(s, kind));
    }
    const rule = obj(o?.['rule']);
    if (rule) {
      const c = table.chains.get(str(rule['chain']));
      const comment = typeof rule['comment'] === 'string' ? rule['comment'] : undefined;
      c?.rules.push(
        ruleText({
          expr: Array.isArray(rule['expr']) ? rule['expr'] : [],
          ...(comment !== undefined ? { comment } : {}),
        }),
      );
    }
  }
  return table;
}
