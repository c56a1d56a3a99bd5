// Policy rules with iproute2 (`ip rule`), each marked with netloom's protocol number: a VRF is a
// routing table chosen by rules (descriptors/vrf.ts), so rules are how a custom network's pods,
// its VXLAN device and the node's own traffic to it reach that table. A rule without the mark
// is someone else's, and is never listed, changed or deleted here.
import { MAIN_TABLE, type LinuxNames } from '../naming.ts';
import type { KernelRule, RulePort } from '../ports.ts';
import type { BatchLine, KernelTools } from '../tools.ts';

interface IpRule {
  priority?: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  iif?: string;
  table?: string;
  action?: string;
  protocol?: string;
  fwmark?: string;
  fwmask?: string;
}

/** The `ip rule add|del …` line for a rule (pure, for golden tests). */
export function ruleLine(op: 'add' | 'del', r: KernelRule, proto: number): string {
  const parts = ['rule', op];
  if (r.from !== undefined) parts.push('from', r.from);
  if (r.to !== undefined) parts.push('to', r.to);
  if (r.iif !== undefined) parts.push('iif', r.iif);
  if (r.fwmark !== undefined) parts.push('fwmark', `${hex(r.fwmark.mark)}/${hex(r.fwmark.mask)}`);
  // An unreachable rule keeps the VRF's table only as a tag: retrieve tells whose it is by it.
  parts.push(
    ...(r.action === 'lookup' ? ['lookup', String(r.table)] : ['table', String(r.table), 'unreachable']),
  );
  parts.push('pref', String(r.pref), 'protocol', String(proto));
  return parts.join(' ');
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** A prefix as `ip -j rule` prints it: the length is left out for a host (/32). */
const prefix = (addr: string | undefined, len: number | undefined): string | undefined =>
  addr === undefined || addr === 'all' ? undefined : `${addr}/${len ?? 32}`;

/** One `ip -j rule show` entry as a KernelRule, when it carries `proto` and a numbered table. */
export function parseRule(r: IpRule, proto: number): KernelRule | undefined {
  // `lookup main` (a custom network's way out to the uplink, descriptors/snat.ts) reads back by name.
  const table = r.table === 'main' ? MAIN_TABLE : Number(r.table);
  if (r.protocol !== String(proto) || r.priority === undefined || !Number.isInteger(table)) return undefined;
  if (r.action !== undefined && r.action !== 'unreachable') return undefined;
  const from = prefix(r.src, r.srclen);
  const to = prefix(r.dst, r.dstlen);
  return {
    pref: r.priority,
    action: r.action === 'unreachable' ? 'unreachable' : 'lookup',
    table,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(r.iif !== undefined ? { iif: r.iif } : {}),
    // ip prints no fwmask for a full mask.
    ...(r.fwmark !== undefined
      ? { fwmark: { mark: Number(r.fwmark), mask: Number(r.fwmask ?? 0xffffffff) } }
      : {}),
  };
}

export class KernelRules implements RulePort {
  private readonly tools: KernelTools;
  private readonly hostNetns: string | undefined;
  private readonly proto: number;

  constructor(tools: KernelTools, hostNetns: string | undefined, names: LinuxNames) {
    this.tools = tools;
    this.hostNetns = hostNetns;
    this.proto = names.routeProto;
  }

  async add(rules: readonly KernelRule[]): Promise<void> {
    if (rules.length === 0) return;
    const lines: BatchLine[] = rules.map((r) => ({ cmd: ruleLine('add', r, this.proto), ok: ['exists'] }));
    await this.tools.batch(this.hostNetns, lines);
  }

  async remove(rules: readonly KernelRule[]): Promise<void> {
    if (rules.length === 0) return;
    const lines: BatchLine[] = rules.map((r) => ({ cmd: ruleLine('del', r, this.proto), ok: ['missing'] }));
    await this.tools.batch(this.hostNetns, lines);
  }

  async list(): Promise<KernelRule[]> {
    const found = await this.tools.json<IpRule>(this.hostNetns, ['rule', 'show']);
    return found.flatMap((r) => parseRule(r, this.proto) ?? []);
  }
}
