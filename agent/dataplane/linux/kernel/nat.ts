// Source NAT with nftables: table `inet <natTable>`, chain `postrouting` (nat hook), one rule
// per item carrying the item key as its comment. Each change is one `nft -f -` script (atomic);
// adds echo the new rule's handle back as JSON, so a later replace/delete needs no lookup.
import { isCondition } from '../errors.ts';
import { isV6, type LinuxNames } from '../naming.ts';
import type { NatPort, NatRule } from '../ports.ts';
import type { KernelTools } from '../tools.ts';

const CHAIN = 'postrouting';

/** The rule's text after `add rule inet <table> postrouting` (pure, for golden tests). */
export function ruleText(rule: NatRule): string {
  const fam = isV6(rule.source) ? 'ip6' : 'ip';
  const except = rule.except.filter((c) => isV6(c) === (fam === 'ip6'));
  const parts = [`${fam} saddr ${rule.source}`];
  if (except.length === 1) parts.push(`${fam} daddr != ${except[0]}`);
  if (except.length > 1) parts.push(`${fam} daddr != { ${except.join(', ')} }`);
  parts.push('counter');
  parts.push(rule.toAddress === '' ? 'masquerade' : `snat ${fam} to ${rule.toAddress}`);
  parts.push(`comment ${JSON.stringify(rule.comment)}`);
  return parts.join(' ');
}

/** Table and chain, created when missing (`add` of an existing one is a no-op in nft). */
export function setupScript(table: string): string {
  return `add table inet ${table}\nadd chain inet ${table} ${CHAIN} { type nat hook postrouting priority srcnat; policy accept; }\n`;
}

type Expr = Record<string, unknown>;

function prefixOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v.includes('/') ? v : `${v}/${isV6(v) ? 128 : 32}`;
  const p = (v as { prefix?: { addr: string; len: number } } | null)?.prefix;
  return p ? `${p.addr}/${p.len}` : undefined;
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
      rule.except = (set ?? [m.right]).map(prefixOf).filter((x): x is string => x !== undefined);
    } else if ('masquerade' in e) action = true;
    else if ('snat' in e) {
      const addr = (e['snat'] as { addr?: unknown } | null)?.addr;
      rule.toAddress = typeof addr === 'string' ? addr : '';
      action = true;
    }
  }
  return action && rule.source !== '' ? rule : undefined;
}

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
    const script = setupScript(this.table) + `add rule inet ${this.table} ${CHAIN} ${ruleText(rule)}\n`;
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

  async replace(handle: number, rule: NatRule): Promise<void> {
    await this.tools.nft(
      this.hostNetns,
      `replace rule inet ${this.table} ${CHAIN} handle ${handle} ${ruleText(rule)}\n`,
    );
  }

  async remove(handle: number): Promise<void> {
    try {
      await this.tools.nft(this.hostNetns, `delete rule inet ${this.table} ${CHAIN} handle ${handle}\n`);
    } catch (err) {
      if (!isCondition(err, 'missing')) throw err;
    }
  }

  async list(): Promise<(NatRule & { handle: number })[]> {
    let listing: { nftables?: Expr[] };
    try {
      listing = (await this.tools.nftJson(this.hostNetns, ['list', 'chain', 'inet', this.table, CHAIN])) as {
        nftables?: Expr[];
      };
    } catch (err) {
      if (isCondition(err, 'missing')) return [];
      throw err;
    }
    const out: (NatRule & { handle: number })[] = [];
    for (const item of listing.nftables ?? []) {
      const r = item['rule'] as { handle: number; comment?: string; expr?: Expr[] } | undefined;
      const parsed = r ? parseRule(r) : undefined;
      if (parsed) out.push(parsed);
    }
    return out;
  }
}
