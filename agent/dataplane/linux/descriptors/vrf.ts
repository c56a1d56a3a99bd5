// A custom network's VRF, without VRF devices (the kernel here has none; see README): VRF N is
// routing table `vrfTableBase + N`, and policy rules (IPv4, netloom's protocol number) choose
// it. Per subnet S of the network:
//
//   pref P     from S lookup T            what the network's pods send (forwarded from their veths,
//                                         after Service DNAT too) is routed in T
//   pref P     to S iif lo lookup T       the node's own traffic to the network (replies to pods,
//                                         the ICMP errors the guard below makes) is routed in T
//   pref P+1   from S table T unreachable the guard: what T has no route for never reaches main,
//                                         so a pod of N reaches neither the default network nor
//                                         another one, and its sender gets an ICMP error
//
// T itself holds only route items (pod /32s, peers' blocks via the VRF's VXLAN device), so
// routes and the guard never compete for one kernel object. The VXLAN device's `iif` rule is the
// overlay's (overlay.ts). Retrieve reads `ip -j rule show`: netloom's VRF rules are the ones of
// those three shapes with its protocol, priorities P/P+1 and a table in its range; any other
// rule — someone else's — is never touched.
import { PREFIX, vrfKey } from '../../../items/keys.ts';
import { vrfDependencies } from '../../../items/dependencies.ts';
import type { Vrf } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { networkOf } from '../../../../lib/cidr.ts';
import { isV6, vrfInRange, vrfOfTable, vrfTable, type LinuxNames } from '../naming.ts';
import type { KernelRule, RulePort } from '../ports.ts';
import { ruleLine } from '../kernel/rules.ts';
import { check, isCidr, sameSet } from '../validate.ts';

/** The rules VRF `v` is made of (pure). */
export function vrfRules(names: LinuxNames, v: Vrf): KernelRule[] {
  const table = vrfTable(names, v.id);
  if (table === 'main') return [];
  const pref = names.vrfRulePref;
  return [
    ...v.subnets.map((s): KernelRule => ({ pref, action: 'lookup', table, from: s })),
    ...v.subnets.map((s): KernelRule => ({ pref, action: 'lookup', table, to: s, iif: 'lo' })),
    ...v.subnets.map((s): KernelRule => ({ pref: pref + 1, action: 'unreachable', table, from: s })),
  ];
}

/** The VRF a listed rule belongs to, when it is one of the shapes vrfRules makes; else undefined. */
export function vrfOfRule(names: LinuxNames, r: KernelRule): number | undefined {
  const vrf = vrfOfTable(names, r.table);
  if (vrf === undefined || r.fwmark !== undefined) return undefined;
  const P = names.vrfRulePref;
  const from = r.pref === P && r.action === 'lookup' && r.from !== undefined && !r.to && !r.iif;
  const to = r.pref === P && r.action === 'lookup' && r.to !== undefined && !r.from && r.iif === 'lo';
  const guard = r.pref === P + 1 && r.action === 'unreachable' && r.from !== undefined && !r.to && !r.iif;
  return from || to || guard ? vrf : undefined;
}

const text = (r: KernelRule): string => ruleLine('add', r, 0);

export function vrfDescriptor(ports: { rules: RulePort }, names: LinuxNames): Descriptor<Vrf, undefined> {
  const rulesOf = (v: Vrf): KernelRule[] => vrfRules(names, v);
  return {
    name: 'vrf',
    keyPrefix: PREFIX.vrf,

    validate(key, v) {
      check(key, [
        !(Number.isInteger(v.id) && v.id > 0) && `id ${v.id} out of range (VRF 0 is implicit)`,
        Number.isInteger(v.id) &&
          v.id > 0 &&
          !vrfInRange(names, v.id) &&
          `id ${v.id}: table ${names.vrfTableBase} + ${v.id} is not a usable table`,
        key !== vrfKey(v.id) && 'key does not match the id',
        v.subnets.length === 0 && 'no subnets (a VRF is selected by its subnets)',
        ...v.subnets.map((s) => !isCidr(s) && `subnet ${JSON.stringify(s)} is not a CIDR`),
        ...v.subnets.map(
          (s) =>
            isCidr(s) &&
            isV6(s) &&
            `subnet ${s}: IPv6 in a custom network is not implemented by the linux driver`,
        ),
        ...v.subnets.map(
          (s) =>
            isCidr(s) &&
            !isV6(s) &&
            networkOf(s) !== s &&
            `subnet ${s} has host bits set (the network is ${networkOf(s)})`,
        ),
        new Set(v.subnets).size !== v.subnets.length && 'subnets repeat',
      ]);
    },

    equivalent: (_key, a, b) => a.id === b.id && a.network === b.network && sameSet(a.subnets, b.subnets),

    dependencies: (_key, v) => vrfDependencies(v),

    async create(_key, v) {
      const rules = rulesOf(v);
      try {
        await ports.rules.add(rules);
      } catch (err) {
        await ports.rules.remove(rules).catch(() => undefined); // nothing half-made
        throw err;
      }
      return undefined;
    },

    // A subnet change (or a repair of missing or stray rules): only the rules that differ.
    async update(_key, old, v) {
      const want = new Set(rulesOf(v).map(text));
      await ports.rules.remove(rulesOf(old).filter((r) => !want.has(text(r))));
      await ports.rules.add(rulesOf(v));
      return undefined;
    },

    async delete(_key, v) {
      await ports.rules.remove(rulesOf(v));
    },

    async retrieve(ctx) {
      const found = new Map<number, KernelRule[]>();
      for (const r of await ports.rules.list()) {
        const vrf = vrfOfRule(names, r);
        if (vrf !== undefined) found.set(vrf, [...(found.get(vrf) ?? []), r]);
      }
      const out: Retrieved<Vrf, undefined>[] = [];
      for (const [id, rules] of found) {
        const key = vrfKey(id);
        const want = ctx.desired.get(key);
        const got = rules.map(text);
        if (want !== undefined && sameSet([...new Set(got)], rulesOf(want).map(text))) {
          out.push({ key, value: want, origin: 'netloom' });
          continue;
        }
        // Not as wanted (or not wanted): what the rules show. The network's name is not in the
        // kernel; a value with the wanted subnets but rules missing or astray is marked.
        const subnets = [...new Set(rules.map((r) => r.from ?? r.to ?? ''))].sort();
        const network = want?.network ?? '';
        const same = want !== undefined && sameSet(subnets, want.subnets);
        out.push({
          key,
          value: { id, network: same ? `${network} (rules incomplete)` : network, subnets },
          origin: 'netloom',
        });
      }
      return out;
    },
  };
}
