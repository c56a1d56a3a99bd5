// Network policy of one pod interface as two VPP ACLs (policy-rules.ts compiles them,
// policy-acls.ts writes them): the egress ACL is the TAP's input list, the ingress ACL its
// output list. ACLs are replaced in place by index on update, so a changed policy never leaves
// the pod unprotected. Tags (`<key>#eg`, `<key>#in`) let retrieve find them; a policy that
// differs is reported as VPP shows it, with its ACL indexes, so the scheduler can fix or
// remove it.
//
// What VPP cannot express fails closed — the rule allows nothing — rather than being refused
// (an invalid item would leave the pod with no ACL at all, open): `viaService` — NAT44-ED
// translates after the input ACL (its ip4-unicast nodes run after acl-plugin-in-ip4-fa) and the
// output ACL sees the translated packet with no trace of the DNAT, and ACL rules match only
// addresses, protocol, ports and TCP flags (policy-rules.ts skips the rule); and SCTP ports —
// the ACL plugin reads ports for TCP and UDP only, so an SCTP packet matches as port 0 and a
// rule for port N never matches it. Both are in the README's list of VPP differences.
import { HAIRPIN_SNAT_ADDRESS } from '../naming.ts';
import { PREFIX } from '../../../items/keys.ts';
import { policyDependencies } from '../../../items/dependencies.ts';
import type { PodPolicy } from '../../../items/values.ts';
import type { ApplyContext, Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { DataPlaneError } from '../../../scheduler/errors.ts';
import type { AclCalls, AclRule } from '../calls/acl.ts';
import { keysByTag } from '../naming.ts';
import { setsOf, type CompiledPolicy } from '../policy-rules.ts';
import { check, isCidr, isIp } from '../validate.ts';
import type { PodInterfaceMeta } from './pod-interface.ts';
import {
  appliedMembers,
  compileWith,
  TAG_SUFFIX,
  type PolicyAclIndexes,
  type PolicyAcls,
} from './policy-acls.ts';

export interface PolicyMeta extends PolicyAclIndexes {
  swIfIndex: number;
}

export interface PolicyPorts {
  acl: Pick<AclCalls, 'list' | 'delete' | 'setInterfaceAcls' | 'interfaceAcls'>;
  acls: Pick<PolicyAcls, 'program' | 'adopt' | 'forget' | 'reset'>;
  /** The node's uplink address: a source of node → pod connections besides the pod gateway. */
  uplinkAddress?: string;
}

function interfaceOf(v: PodPolicy, ctx: Pick<ApplyContext, 'metadata'>): PodInterfaceMeta {
  const meta = ctx.metadata<PodInterfaceMeta>(v.interface);
  if (meta === undefined)
    throw new DataPlaneError(`policy: interface ${v.interface} has no sw_if_index yet`, { retriable: true });
  return meta;
}

/** What validate says about a value (pure; retrieve skips what it refuses). */
export function policyProblems(v: PodPolicy): (string | false)[] {
  const directions = (['ingress', 'egress'] as const).map((d) => ({ d, ...v[d] }));
  return [
    !v.interface.startsWith(PREFIX.podInterface) &&
      `interface ${JSON.stringify(v.interface)} is not a pod interface`,
    ...directions.flatMap(({ d, rules }) =>
      rules.flatMap((r) => [
        ...r.peers.flatMap((p) =>
          p.type === 'set'
            ? [
                (p.set === '' || p.set.includes('/')) &&
                  `${d} rule ${r.origin}: peer set ${JSON.stringify(p.set)} invalid`,
              ]
            : [p.cidr, ...p.except].map(
                (c) => !isCidr(c) && `${d} rule ${r.origin}: ${JSON.stringify(c)} is not a CIDR`,
              ),
        ),
        ...r.ports.map(
          (p) =>
            !(p.port === 0
              ? p.endPort === 0 || p.endPort === 65_535
              : p.port > 0 && p.endPort >= p.port && p.endPort < 65536) &&
            `${d} rule ${r.origin}: port range ${p.port}-${p.endPort} invalid`,
        ),
      ]),
    ),
  ];
}

/**
 * The node's own addresses a pod behind this interface sees node → pod connections from; with
 * them the address cnat gives a pod's connection to its own Service (hairpin), which kube-proxy
 * gives the node's address (descriptors/service.ts).
 */
const nodeAddressesOf = (itf: PodInterfaceMeta, uplink: string | undefined): string[] =>
  [...new Set([itf.gateway, uplink ?? '', HAIRPIN_SNAT_ADDRESS])].filter((a) => isIp(a));

type Found = Partial<Record<'egress' | 'ingress', { index: number; rules: AclRule[] }>>;

export function policyDescriptor(ports: PolicyPorts): Descriptor<PodPolicy, PolicyMeta> {
  const { acl, acls, uplinkAddress } = ports;

  const forget = async (key: string, meta: PolicyMeta | undefined): Promise<void> => {
    acls.forget(key);
    if (meta === undefined) return;
    if (meta.swIfIndex >= 0) await acl.setInterfaceAcls(meta.swIfIndex, [], []);
    if (meta.egressAcl >= 0) await acl.delete(meta.egressAcl);
    if (meta.ingressAcl >= 0) await acl.delete(meta.ingressAcl);
  };

  const apply = async (
    key: string,
    v: PodPolicy,
    ctx: ApplyContext,
    meta: PolicyMeta | undefined,
  ): Promise<PolicyMeta> => {
    const itf = interfaceOf(v, ctx);
    const indexes = await acls.program(
      key,
      v,
      nodeAddressesOf(itf, uplinkAddress),
      appliedMembers(ctx),
      meta,
    );
    try {
      // Also on update: a resync may have found the binding wrong while the rules were right.
      await acl.setInterfaceAcls(itf.swIfIndex, [indexes.egressAcl], [indexes.ingressAcl]);
    } catch (err) {
      // A failed create leaves nothing behind; an update keeps its ACLs for the retry.
      if (meta === undefined) await forget(key, { swIfIndex: -1, ...indexes }).catch(() => undefined);
      throw err;
    }
    return { swIfIndex: itf.swIfIndex, ...indexes };
  };

  return {
    name: 'policy',
    keyPrefix: PREFIX.policy,
    retrieveAfter: ['pod-interface', 'peer-set'],

    validate: (key, v) => check(key, policyProblems(v)),
    dependencies: (_key, v) => policyDependencies(v),

    create: (key, v, ctx) => apply(key, v, ctx, undefined),
    update: (key, _old, v, meta, ctx) => apply(key, v, ctx, meta),
    delete: (key, _v, meta) => forget(key, meta),

    async retrieve(ctx) {
      const all = await acl.list();
      const bindings = await acl.interfaceAcls();
      // Only once VPP has answered: a failed retrieve keeps what the registry knew.
      acls.reset();
      const tags = keysByTag(
        [...ctx.desired.keys()].flatMap((k) => [k + TAG_SUFFIX.egress, k + TAG_SUFFIX.ingress]),
      );
      const found = new Map<string, Found>();
      for (const a of all) {
        const full = tags.get(a.tag) ?? a.tag;
        const dir = full.endsWith(TAG_SUFFIX.egress)
          ? 'egress'
          : full.endsWith(TAG_SUFFIX.ingress)
            ? 'ingress'
            : undefined;
        if (dir === undefined || !full.startsWith(PREFIX.policy)) continue;
        const key = full.slice(0, -TAG_SUFFIX[dir].length);
        found.set(key, { ...found.get(key), [dir]: { index: a.index, rules: a.rules } });
      }
      const out: Retrieved<PodPolicy, PolicyMeta>[] = [];
      for (const [key, f] of found) {
        const want = ctx.desired.get(key);
        const itf = want === undefined ? undefined : ctx.metadata<PodInterfaceMeta>(want.interface);
        const meta: PolicyMeta = {
          swIfIndex: itf?.swIfIndex ?? boundTo(bindings, f.egress?.index ?? -1) ?? -1,
          egressAcl: f.egress?.index ?? -1,
          ingressAcl: f.ingress?.index ?? -1,
        };
        const rules = want && itf && expected(want, ctx, nodeAddressesOf(itf, uplinkAddress));
        const ok =
          rules !== undefined &&
          sameRules(f.egress?.rules, rules.egress) &&
          sameRules(f.ingress?.rules, rules.ingress) &&
          JSON.stringify(bindings.get(meta.swIfIndex)) ===
            JSON.stringify({ input: [meta.egressAcl], output: [meta.ingressAcl] });
        if (ok) acls.adopt(key, want!, nodeAddressesOf(itf!, uplinkAddress), meta, rules);
        out.push({ key, value: ok ? want! : stale(key), metadata: meta, origin: 'netloom' });
      }
      return out;
    },
  };
}

/** The rules `want` compiles to, or undefined when it cannot be compiled now (invalid, set missing). */
function expected(
  want: PodPolicy,
  ctx: { metadata<M>(key: string): M | undefined },
  nodeAddresses: readonly string[],
): CompiledPolicy | undefined {
  const members = appliedMembers(ctx);
  if (policyProblems(want).some((p) => p !== false)) return undefined;
  if ([...setsOf(want)].some((id) => members(id) === undefined)) return undefined;
  return compileWith(want, members, nodeAddresses);
}

const sameRules = (a: readonly AclRule[] | undefined, b: readonly AclRule[]): boolean =>
  a !== undefined && JSON.stringify(a) === JSON.stringify(b);

function boundTo(
  bindings: Map<number, { input: number[]; output: number[] }>,
  acl: number,
): number | undefined {
  for (const [sw, b] of bindings) if (b.input.includes(acl) || b.output.includes(acl)) return sw;
  return undefined;
}

/** A policy as found but not as desired: never equal to a desired value. */
function stale(key: string): PodPolicy {
  const [namespace = '', pod = ''] = key.slice(PREFIX.policy.length).split('/');
  const open = { isolated: false, rules: [] };
  return { namespace, pod, interface: '', podIps: [], ingress: open, egress: open };
}
