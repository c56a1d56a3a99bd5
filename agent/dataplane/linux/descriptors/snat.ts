// Source NAT for traffic leaving the cluster: one nft rule per item (masquerade, or snat to a
// fixed address), the item key as the rule's comment so retrieve maps rules back to items.
//
// In a custom network (VRF N, table T, rule priority P of descriptors/vrf.ts) the pods' way out
// and the replies' way back are policy rules too, all from or to the item's block S (this node's
// share of the network), so no other item's rule changes while an SNAT item comes and goes:
//
//   pref P-2  to S fwmark M/mask lookup T      replies: de-NATed to a pod of S on the uplink, their
//                                              conntrack mark M restored as packet mark before
//                                              de-NAT (kernel/nat.ts), routed in T, not in main
//                                              (where the network is unreachable)
//   pref P-2  from S lookup T                  the network itself first (its pods, its peers' blocks)
//   pref P-1  from S to X table T unreachable  for each internal prefix X (`except`): the pod CIDR,
//                                              services, every network; the sender gets an ICMP error
//   pref P    from S lookup main               the rest — outside the cluster — out by the node's
//                                              routes, before the VRF's guard (P+1) refuses it
//
// The rules at one priority never depend on their order (P-2: two lookups of T; P-1: only
// refusals; P: reached only by what T and the refusals left, where T has nothing either). The
// reverse-path check of a reply (no mark: `from S to <outside>`) finds main's route to the uplink
// too, so a node with rp_filter on accepts the replies. M = N in the mark's upper 16 bits
// (naming.ts snatMark). Retrieve reads the nft rules by comment and these rules by shape; an
// item is as desired only when all of them are.
import { PREFIX, snatKey } from '../../../items/keys.ts';
import { snatDependencies } from '../../../items/dependencies.ts';
import type { SourceNat } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { contains, parsePrefix } from '../../../../lib/cidr.ts';
import { canonicalPrefixes } from '../kernel/nat.ts';
import { ruleLine } from '../kernel/rules.ts';
import {
  DEFAULT_NAMES,
  MAIN_TABLE,
  MAX_SNAT_VRF,
  SNAT_MARK_MASK,
  isV6,
  snatMark,
  vrfInRange,
  vrfOfTable,
  vrfTable,
  type LinuxNames,
} from '../naming.ts';
import type { KernelRule, NatPort, NatRestore, NatRule, RulePort } from '../ports.ts';
import { check, isCidr, isIp, sameSet } from '../validate.ts';
import { vrfOfRule } from './vrf.ts';

export interface SnatMeta {
  handle: number;
}

const ruleOf = (key: string, v: SourceNat): NatRule => ({
  source: v.source,
  except: v.except,
  toAddress: v.toAddress,
  comment: key,
  ...(v.vrf !== 0 ? { ctMark: snatMark(v.vrf) } : {}),
});

/** The policy rules of source NAT in VRF N for its block (pure; none for VRF 0). */
export function snatVrfRules(names: LinuxNames, v: SourceNat): KernelRule[] {
  const table = vrfTable(names, v.vrf);
  if (table === 'main') return [];
  const P = names.vrfRulePref;
  const internal = canonicalPrefixes(v.except).filter((x) => !isV6(x));
  return [
    {
      pref: P - 2,
      action: 'lookup',
      table,
      to: v.source,
      fwmark: { mark: snatMark(v.vrf), mask: SNAT_MARK_MASK },
    },
    { pref: P - 2, action: 'lookup', table, from: v.source },
    ...internal.map((to): KernelRule => ({ pref: P - 1, action: 'unreachable', table, from: v.source, to })),
    { pref: P, action: 'lookup', table: MAIN_TABLE, from: v.source },
  ];
}

/**
 * The block a listed rule serves when it has one of snatVrfRules' shapes, and its VRF (undefined
 * for the `lookup main` rule, which names no VRF table); else undefined.
 */
export function snatRuleOwner(
  names: LinuxNames,
  r: KernelRule,
): { vrf: number | undefined; source: string } | undefined {
  const P = names.vrfRulePref;
  const vrf = vrfOfTable(names, r.table);
  if (r.iif !== undefined) return undefined;
  const marked = r.fwmark?.mask === SNAT_MARK_MASK && vrf !== undefined && r.fwmark.mark === snatMark(vrf);
  if (r.pref === P - 2 && r.action === 'lookup' && vrf !== undefined) {
    if (marked && r.to !== undefined && r.from === undefined) return { vrf, source: r.to };
    if (!r.fwmark && r.from !== undefined && r.to === undefined) return { vrf, source: r.from };
  }
  if (r.fwmark) return undefined;
  if (r.pref === P - 1 && r.action === 'unreachable' && vrf !== undefined && r.from && r.to)
    return { vrf, source: r.from };
  if (r.pref === P && r.action === 'lookup' && r.table === MAIN_TABLE && r.from && !r.to)
    return { vrf: undefined, source: r.from };
  return undefined;
}

const text = (r: KernelRule): string => ruleLine('add', r, 0);

/** The VRF whose subnet (a `from` rule of descriptors/vrf.ts) holds `source`, if any. */
function vrfHolding(names: LinuxNames, rules: readonly KernelRule[], source: string): number | undefined {
  const ip = parsePrefix(source, 'source').base;
  for (const r of rules) {
    const vrf = vrfOfRule(names, r);
    if (
      vrf !== undefined &&
      r.from !== undefined &&
      r.action === 'lookup' &&
      contains(parsePrefix(r.from, 'subnet'), ip)
    )
      return vrf;
  }
  return undefined;
}

/** `snat/<vrf>/<cidr>` → its VRF, or undefined for a comment of another shape. */
function vrfOfKey(key: string): number | undefined {
  const [vrf = ''] = key.slice(PREFIX.snat.length).split('/');
  return /^\d+$/.test(vrf) ? Number(vrf) : undefined;
}

function vrfProblems(names: LinuxNames, v: SourceNat): (string | false)[] {
  if (v.vrf === 0) return [];
  if (!vrfInRange(names, v.vrf))
    return [`vrf ${v.vrf} out of range (table ${names.vrfTableBase} + vrf must be a free u32 table)`];
  return [
    v.vrf > MAX_SNAT_VRF && `vrf ${v.vrf}: source NAT's conntrack mark carries VRFs up to ${MAX_SNAT_VRF}`,
    isCidr(v.source) &&
      isV6(v.source) &&
      `source ${v.source}: IPv6 in a custom network is not implemented by the linux driver`,
    !v.except.some((c) => isCidr(c) && !isV6(c)) &&
      'except is empty: in a custom network it lists the internal prefixes its pods must not reach through the way out',
    names.vrfRulePref - 2 < 1 &&
      `vrfRulePref ${names.vrfRulePref} leaves no room for source NAT's rules (P-2 and P-1)`,
  ];
}

export function snatDescriptor(
  ports: { nat: NatPort; rules: RulePort },
  names: LinuxNames = DEFAULT_NAMES,
): Descriptor<SourceNat, SnatMeta> {
  const handleOf = async (key: string, meta: SnatMeta | undefined): Promise<number | undefined> =>
    meta && meta.handle >= 0 ? meta.handle : (await ports.nat.list()).find((r) => r.comment === key)?.handle;

  /** VRF N's rules for `v` and any listed ones of its block left over from another value. */
  const vrfRulesToRemove = async (v: SourceNat): Promise<KernelRule[]> => {
    const listed = (await ports.rules.list()).filter((r) => {
      const o = snatRuleOwner(names, r);
      return o !== undefined && o.source === v.source && (o.vrf === undefined || o.vrf === v.vrf);
    });
    const seen = new Set<string>();
    return [...snatVrfRules(names, v), ...listed].filter((r) => !seen.has(text(r)) && !!seen.add(text(r)));
  };

  return {
    name: 'snat',
    keyPrefix: PREFIX.snat,

    validate(key, v) {
      check(key, [
        ...vrfProblems(names, v),
        !isCidr(v.source) && `source ${JSON.stringify(v.source)} is not a CIDR`,
        ...v.except.map((c) => !isCidr(c) && `except ${JSON.stringify(c)} is not a CIDR`),
        v.toAddress !== '' && !isIp(v.toAddress) && `toAddress ${JSON.stringify(v.toAddress)} is not an IP`,
        key !== snatKey(v.vrf, v.source) && 'key does not match the source',
      ]);
    },

    // nft lists adjacent prefixes merged into ranges: compare what they cover.
    equivalent: (_key, a, b) =>
      a.vrf === b.vrf &&
      a.source === b.source &&
      a.toAddress === b.toAddress &&
      sameSet(canonicalPrefixes(a.except), canonicalPrefixes(b.except)),

    // A custom network's item is several objects: changed by removing and adding them all.
    updateWithRecreate: (_key, _old, v) => v.vrf !== 0,

    dependencies: (_key, v) => snatDependencies(v),

    async create(key, v) {
      // nft first: until the rules open the way out, the VRF's guard still refuses it, so no
      // packet leaves unmasqueraded.
      const handle = await ports.nat.add(ruleOf(key, v));
      if (v.vrf !== 0) {
        try {
          await ports.rules.add(snatVrfRules(names, v));
        } catch (err) {
          // Nothing half-made.
          await ports.rules.remove(snatVrfRules(names, v)).catch(() => undefined);
          await ports.nat.removeAll(key).catch(() => undefined);
          throw err;
        }
      }
      return { handle };
    },

    async update(key, _old, v, meta) {
      // replace() also sweeps any other rule of this key, so it serves an unknown handle too.
      const handle = (await handleOf(key, meta)) ?? -1;
      return { handle: await ports.nat.replace(handle, ruleOf(key, v)) };
    },

    async delete(key, v, meta) {
      if (v.vrf !== 0) {
        // The way out closes first, then the marks go.
        await ports.rules.remove(await vrfRulesToRemove(v));
        await ports.nat.removeAll(key);
        return;
      }
      const handle = await handleOf(key, meta);
      if (handle !== undefined) await ports.nat.remove(handle);
    },

    async retrieve() {
      const out: Retrieved<SourceNat, SnatMeta>[] = [];
      const seen = new Set<string>();
      const nat = await ports.nat.list();
      // Read always: the leftovers of a custom network's item whose masquerade rule is gone
      // are found only here (a restore rule, policy rules of a block).
      const restores: NatRestore[] = await ports.nat.restores();
      const rules = await ports.rules.list();
      for (const r of nat) {
        const vrf = vrfOfKey(r.comment);
        if (!r.comment.startsWith(PREFIX.snat) || vrf === undefined || seen.has(r.comment)) continue;
        seen.add(r.comment);
        const value: SourceNat = { vrf, source: r.source, except: r.except, toAddress: r.toAddress };
        const whole =
          vrf === 0 ||
          (r.ctMark === snatMark(vrf) &&
            restores.some((x) => x.comment === r.comment && x.mark === snatMark(vrf)) &&
            sameSet(
              rules.filter((k) => snatRuleOwner(names, k)?.source === r.source).map(text),
              snatVrfRules(names, value).map(text),
            ));
        // Incomplete: a value no desired one equals (validate refuses an empty except in VRF N),
        // so the scheduler re-makes it, or deletes it when unwanted.
        out.push({
          key: r.comment,
          value: whole ? value : { ...value, except: [] },
          metadata: { handle: r.handle },
          origin: 'netloom',
        });
      }
      // Leftovers of an item whose masquerade rule is gone: restores and rules of a block.
      const strays = new Map<string, SourceNat>();
      for (const x of restores) {
        const vrf = vrfOfKey(x.comment);
        const source = x.comment.slice(PREFIX.snat.length).split('/').slice(1).join('/');
        if (vrf !== undefined && vrf !== 0 && isCidr(source) && !seen.has(x.comment))
          strays.set(x.comment, { vrf, source, except: [], toAddress: '' });
      }
      for (const k of rules) {
        const o = snatRuleOwner(names, k);
        if (!o) continue;
        const vrf = o.vrf ?? vrfHolding(names, rules, o.source);
        const key = vrf === undefined ? undefined : snatKey(vrf, o.source);
        if (key !== undefined && vrf !== undefined && !seen.has(key))
          strays.set(key, { vrf, source: o.source, except: [], toAddress: '' });
      }
      for (const [key, value] of strays)
        out.push({ key, value, metadata: { handle: -1 }, origin: 'netloom' });
      return out;
    },
  };
}
