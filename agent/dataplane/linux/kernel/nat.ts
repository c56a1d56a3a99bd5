// Source NAT with nftables: table `inet <natTable>`, chain `postrouting` (nat hook), one rule
// per item carrying the item key as its comment. Each change is one `nft -f -` script (atomic);
// adds echo the new rule's handle back as JSON, so a later replace/delete needs no lookup.
// A custom network's rule also sets the connection's conntrack mark, and a restore rule in chain
// `prerouting` (filter hook at mangle priority: after conntrack, before the replies are de-NATed
// at dstnat) copies it onto each reply's packet mark, which an fwmark rule turns into the VRF's
// table (descriptors/snat.ts). The prerouting chain exists only once such a rule was added.
import { isCondition } from '../errors.ts';
import { isV6, type LinuxNames } from '../naming.ts';
import type { NatPort, NatRestore, NatRule } from '../ports.ts';
import { formatIp, parseIp, sizeOf } from '../../../../lib/cidr.ts';
import type { KernelTools } from '../tools.ts';

const CHAIN = 'postrouting';
const RESTORE_CHAIN = 'prerouting';

const hex = (n: number): string => `0x${n.toString(16)}`;

/** The rule's text after `add rule inet <table> postrouting` (pure, for golden tests). */
export function ruleText(rule: NatRule): string {
  const fam = isV6(rule.source) ? 'ip6' : 'ip';
  const except = rule.except.filter((c) => isV6(c) === (fam === 'ip6'));
  const parts = [`${fam} saddr ${rule.source}`];
  if (except.length === 1) parts.push(`${fam} daddr != ${except[0]}`);
  if (except.length > 1) parts.push(`${fam} daddr != { ${except.join(', ')} }`);
  parts.push('counter');
  if (rule.ctMark !== undefined) parts.push(`ct mark set ${hex(rule.ctMark)}`);
  parts.push(rule.toAddress === '' ? 'masquerade' : `snat ${fam} to ${rule.toAddress}`);
  parts.push(`comment ${JSON.stringify(rule.comment)}`);
  return parts.join(' ');
}

/** The restore rule's text after `add rule inet <table> prerouting` (pure, for golden tests). */
export function restoreText(mark: number, comment: string): string {
  return `ct direction reply ct mark ${hex(mark)} meta mark set ${hex(mark)} comment ${JSON.stringify(comment)}`;
}

/** Table and chain(s), created when missing (`add` of an existing one is a no-op in nft). */
export function setupScript(table: string, restore = false): string {
  const nat = `add table inet ${table}\nadd chain inet ${table} ${CHAIN} { type nat hook postrouting priority srcnat; policy accept; }\n`;
  return restore
    ? nat +
        `add chain inet ${table} ${RESTORE_CHAIN} { type filter hook prerouting priority mangle; policy accept; }\n`
    : nat;
}

/** The whole script that adds `rule` (and its restore rule), pure for golden tests. */
export function addScript(table: string, rule: NatRule): string {
  const restore = rule.ctMark !== undefined;
  let script = setupScript(table, restore) + `add rule inet ${table} ${CHAIN} ${ruleText(rule)}\n`;
  if (rule.ctMark !== undefined)
    script += `add rule inet ${table} ${RESTORE_CHAIN} ${restoreText(rule.ctMark, rule.comment)}\n`;
  return script;
}

/**
 * IPv4 prefixes as the smallest list of CIDRs covering the same addresses, sorted (IPv6 ones
 * kept, sorted): nft merges adjacent prefixes of a set literal into ranges (10.1.0.0/16 and
 * 10.2.0.0/16 list back as 10.1.0.0-10.2.255.255), so lists are compared in this form.
 */
export function canonicalPrefixes(prefixes: readonly string[]): string[] {
  const ranges: [number, number][] = [];
  const v6: string[] = [];
  for (const p of prefixes) {
    const [ip = '', len = '32'] = p.split('/');
    const base = parseIp(ip);
    if (base === undefined) v6.push(p);
    else ranges.push([base, base + sizeOf(Number(len)) - 1]);
  }
  return [...cidrsOfRanges(ranges), ...[...new Set(v6)].sort()];
}

/** Merged ranges cut into aligned CIDRs (pure). */
function cidrsOfRanges(ranges: [number, number][]): string[] {
  const merged: [number, number][] = [];
  for (const [lo, hi] of [...ranges].sort((a, b) => a[0] - b[0])) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  const out: string[] = [];
  for (const [lo0, hi] of merged) {
    for (let lo = lo0; lo <= hi;) {
      let len = 32;
      while (len > 0 && lo % sizeOf(len - 1) === 0 && lo + sizeOf(len - 1) - 1 <= hi) len--;
      out.push(`${formatIp(lo)}/${len}`);
      lo += sizeOf(len);
    }
  }
  return out;
}

type Expr = Record<string, unknown>;

function prefixOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v.includes('/') ? v : `${v}/${isV6(v) ? 128 : 32}`;
  const p = (v as { prefix?: { addr: string; len: number } } | null)?.prefix;
  return p ? `${p.addr}/${p.len}` : undefined;
}

/** A set element as CIDRs: a prefix, an address, or an IPv4 range nft merged adjacent prefixes into. */
function prefixesOf(v: unknown): string[] {
  const range = (v as { range?: unknown[] } | null)?.range;
  if (Array.isArray(range)) {
    const [lo, hi] = range.map((x) => (typeof x === 'string' ? parseIp(x) : undefined));
    return lo !== undefined && hi !== undefined ? cidrsOfRanges([[lo, hi]]) : [];
  }
  const p = prefixOf(v);
  return p === undefined ? [] : [p];
}

/** A rule read back from `nft -j`, or undefined for a rule netloom does not write. */
export function parseRule(r: {
  handle: number;
  comment?: string;
  expr?: Expr[];
}): (NatRule & { handle: number }) | undefined {
  if (r.comment === undefined) return undefined;
  const rule: NatRule & { handle: number } = {
    handle: r.handle,
    source: '',
    except: [],
    toAddress: '',
    comment: r.comment,
  };
  let action = false;
  for (const e of r.expr ?? []) {
    const m = e['match'] as { op: string; left: { payload?: { field: string } }; right: unknown } | undefined;
    if (m?.left.payload?.field === 'saddr' && m.op === '==') rule.source = prefixOf(m.right) ?? '';
    else if (m?.left.payload?.field === 'daddr' && m.op === '!=') {
      const set = (m.right as { set?: unknown[] } | null)?.set;
      rule.except = (set ?? [m.right]).flatMap(prefixesOf);
    } else if ('masquerade' in e) action = true;
    else if (ctMarkSet(e) !== undefined) rule.ctMark = ctMarkSet(e);
    else if ('snat' in e) {
      const addr = (e['snat'] as { addr?: unknown } | null)?.addr;
      rule.toAddress = typeof addr === 'string' ? addr : '';
      action = true;
    }
  }
  return action && rule.source !== '' ? rule : undefined;
}

/** The value of a `ct mark set <n>` statement, else undefined. */
function ctMarkSet(e: Expr): number | undefined {
  const m = e['mangle'] as { key?: { ct?: { key?: string } }; value?: unknown } | undefined;
  return m?.key?.ct?.key === 'mark' && typeof m.value === 'number' ? m.value : undefined;
}

/** A restore rule read back from `nft -j`, or undefined for any other rule. */
export function parseRestore(r: { handle: number; comment?: string; expr?: Expr[] }): NatRestore | undefined {
  if (r.comment === undefined) return undefined;
  let reply = false;
  let matched: number | undefined;
  let set: number | undefined;
  for (const e of r.expr ?? []) {
    const m = e['match'] as { op: string; left: { ct?: { key: string } }; right: unknown } | undefined;
    const g = e['mangle'] as { key?: { meta?: { key?: string } }; value?: unknown } | undefined;
    if (m?.op === '==' && m.left.ct?.key === 'direction') reply = m.right === 'reply';
    else if (m?.op === '==' && m.left.ct?.key === 'mark' && typeof m.right === 'number') matched = m.right;
    else if (g?.key?.meta?.key === 'mark' && typeof g.value === 'number') set = g.value;
    else return undefined;
  }
  return reply && matched !== undefined && set === matched
    ? { mark: matched, comment: r.comment, handle: r.handle }
    : undefined;
}

type ListedRule = { handle: number; comment?: string; expr?: Expr[] };

export class KernelNat implements NatPort {
  private readonly tools: KernelTools;
  private readonly hostNetns: string | undefined;
  private readonly table: string;

  constructor(tools: KernelTools, hostNetns: string | undefined, names: LinuxNames) {
    this.tools = tools;
    this.hostNetns = hostNetns;
    this.table = names.natTable;
  }

  async add(rule: NatRule): Promise<number> {
    const script = addScript(this.table, rule);
    const echo = (await this.tools.nft(this.hostNetns, script, { echo: true })) as
      { nftables?: Expr[] } | undefined;
    for (const item of echo?.nftables ?? []) {
      const added = (item['add'] as { rule?: { handle: number } } | undefined)?.rule;
      if (added) return added.handle;
    }
    // Older nft without JSON echo: find the rule by its comment.
    const found = (await this.list()).find((r) => r.comment === rule.comment);
    return found?.handle ?? -1;
  }

  /**
   * Delete and add in one transaction rather than `replace rule … handle`, and without JSON echo:
   * nft 1.0.6 (Debian 12) aborts on a replace whose rule holds a set of address ranges ("BUG:
   * unhandled op 2", interval_set_eval), which an except-list of adjacent prefixes becomes, and
   * its JSON echo of such a rule can abort too. The new handle is read back by the comment.
   */
  async replace(handle: number, rule: NatRule): Promise<number> {
    // Every rule of this comment goes, not only `handle`: a duplicate left by an older agent (or
    // one nft listed in a form the parser skips) must not keep masquerading what the new one spares.
    const stale = new Set([
      handle,
      ...(await this.rules(CHAIN)).filter((r) => r.comment === rule.comment).map((r) => r.handle),
    ]);
    await this.tools.nft(
      this.hostNetns,
      [...stale]
        .filter((h) => h >= 0)
        .map((h) => `delete rule inet ${this.table} ${CHAIN} handle ${h}\n`)
        .join('') + `add rule inet ${this.table} ${CHAIN} ${ruleText(rule)}\n`,
    );
    const found = (await this.rules(CHAIN)).filter((r) => r.comment === rule.comment);
    return found.at(-1)?.handle ?? -1;
  }

  async remove(handle: number): Promise<void> {
    try {
      await this.tools.nft(this.hostNetns, `delete rule inet ${this.table} ${CHAIN} handle ${handle}\n`);
    } catch (err) {
      if (!isCondition(err, 'missing')) throw err;
    }
  }

  async removeAll(comment: string): Promise<void> {
    const lines: string[] = [];
    for (const chain of [CHAIN, RESTORE_CHAIN])
      for (const r of await this.rules(chain))
        if (r.comment === comment) lines.push(`delete rule inet ${this.table} ${chain} handle ${r.handle}\n`);
    if (lines.length === 0) return;
    try {
      await this.tools.nft(this.hostNetns, lines.join(''));
    } catch (err) {
      if (!isCondition(err, 'missing')) throw err;
    }
  }

  async list(): Promise<(NatRule & { handle: number })[]> {
    return (await this.rules(CHAIN)).flatMap((r) => parseRule(r) ?? []);
  }

  async restores(): Promise<NatRestore[]> {
    return (await this.rules(RESTORE_CHAIN)).flatMap((r) => parseRestore(r) ?? []);
  }

  /** The rules of one chain of the table; none when the table or the chain is absent. */
  private async rules(chain: string): Promise<ListedRule[]> {
    let listing: { nftables?: Expr[] };
    try {
      listing = (await this.tools.nftJson(this.hostNetns, ['list', 'chain', 'inet', this.table, chain])) as {
        nftables?: Expr[];
      };
    } catch (err) {
      if (isCondition(err, 'missing')) return [];
      throw err;
    }
    return (listing.nftables ?? []).flatMap((item) => (item['rule'] as ListedRule | undefined) ?? []);
  }
}
