// Pod policies in nftables (layout: ../policy-plan.ts): a PodPolicy item is, per isolated
// direction, a chain of allow rules ending in drop and the element that sends its pod's host
// veth to it. The host veth comes from the pod interface item's metadata (a dependency, so it
// is applied first). Each item owns its own chains and elements, named from its key, so
// operations on different keys never touch the same objects: the family is `concurrent`, and
// the table port coalesces what a transaction changes into one `nft -f`. A change is one
// transaction (flush and refill), so the pod is judged by the old rules or the new ones, never
// by none; it is in the kernel when the scheduler books the item applied.
import { isPortBound } from '../../../../lib/port-number.ts';
import { isCidr, isIp } from '../../../../lib/cidr.ts';
import { policyDependencies } from '../../../items/dependencies.ts';
import { PREFIX, policyKey } from '../../../items/keys.ts';
import type { PodPolicy, PolicyRule } from '../../../items/values.ts';
import type { ApplyContext, Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { DataPlaneError } from '../../../scheduler/errors.ts';
import type { NftTablePort } from '../ports.ts';
import {
  planPolicy,
  policiesIn,
  policyFrom,
  policyInTable,
  policyOps,
  samePolicy,
  type PolicyObjects,
} from '../policy-plan.ts';
import { check } from '../validate.ts';
import { nftChange } from './nft-change.ts';
import type { PodInterfaceMeta } from './pod-interface.ts';

const PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP']);

function ruleProblems(dir: string, r: PolicyRule, i: number): (string | false)[] {
  const at = `${dir} rule ${i}`;
  return [
    ...r.peers.map((p) =>
      p.type === 'set'
        ? (p.set === '' || p.set.includes('/')) && `${at}: set ${JSON.stringify(p.set)} is not a key part`
        : p.type === 'cidr'
          ? (!isCidr(p.cidr) || p.except.some((e) => !isCidr(e))) &&
            `${at}: ipBlock ${JSON.stringify(p.cidr)} except ${JSON.stringify(p.except)} is not made of CIDRs`
          : `${at}: peer type ${JSON.stringify((p as { type: unknown }).type)}`,
    ),
    ...r.ports.map(
      (p) =>
        (!PROTOCOLS.has(p.protocol) ||
          !isPortBound(p.port) ||
          !isPortBound(p.endPort) ||
          (p.port !== 0 && p.endPort < p.port)) &&
        `${at}: port ${JSON.stringify(p)} is not TCP, UDP or SCTP with 0 ≤ port ≤ endPort ≤ 65535`,
    ),
  ];
}

/** The pod's host veth, from its interface item (applied first: it is a dependency). */
function hostIfNameOf(v: PodPolicy, ctx: ApplyContext): string {
  const name = ctx.metadata<PodInterfaceMeta>(v.interface)?.hostIfName;
  if (name === undefined)
    throw new DataPlaneError(`pod interface ${v.interface} has no host veth recorded`, { retriable: true });
  return name;
}

export function policyDescriptor(ports: { policies: NftTablePort }): Descriptor<PodPolicy, PolicyObjects> {
  const { policies } = ports;

  // Old → next; when the table held something else than `old`, redone from what it holds (and
  // whatever element sits on the pod's veth).
  const change = nftChange(policies, policyOps, policyInTable);

  return {
    name: 'policy',
    keyPrefix: PREFIX.policy,
    concurrent: true,
    // The host veth of each policy's interface, for comparing what is found with the plan.
    retrieveAfter: ['pod-interface'],

    validate(key, v) {
      const [namespace = '', pod = '', ifname = ''] = v.interface.startsWith(PREFIX.podInterface)
        ? v.interface.slice(PREFIX.podInterface.length).split('/')
        : [];
      check(key, [
        ifname === '' && `interface ${JSON.stringify(v.interface)} is not a pod interface key`,
        ifname !== '' && key !== policyKey(namespace, pod, ifname) && 'key does not match the interface',
        ...v.podIps.map((ip) => !(isIp(ip) || isCidr(ip)) && `podIp ${JSON.stringify(ip)} is not an address`),
        ...v.ingress.rules.flatMap((r, i) => ruleProblems('ingress', r, i)),
        ...v.egress.rules.flatMap((r, i) => ruleProblems('egress', r, i)),
      ]);
    },

    dependencies: (_key, v) => policyDependencies(v),

    async create(key, v, ctx) {
      const next = planPolicy(key, v, hostIfNameOf(v, ctx));
      await change(key, undefined, next);
      return next;
    },

    // Always rewritten, even when only origins changed: the same ops repair what the item's
    // chains lost meanwhile, and one pod's chains are cheap.
    async update(key, old, v, meta, ctx) {
      const next = planPolicy(key, v, hostIfNameOf(v, ctx));
      await change(key, meta ?? planPolicy(key, old, hostIfNameOf(old, ctx)), next);
      return next;
    },

    async delete(key, v, meta, ctx) {
      const old = meta ?? planPolicy(key, v, ctx.metadata<PodInterfaceMeta>(v.interface)?.hostIfName ?? '');
      await change(key, old, undefined);
    },

    async retrieve(ctx) {
      const { table, baseIntact } = await policies.list();
      const found = table ? policiesIn(table, ctx.desired.keys()) : new Map<string, PolicyObjects>();
      const out: Retrieved<PodPolicy, PolicyObjects>[] = [];
      const planOf = (key: string, want: PodPolicy): PolicyObjects | undefined => {
        const host = ctx.metadata<PodInterfaceMeta>(want.interface)?.hostIfName;
        return host === undefined ? undefined : planPolicy(key, want, host);
      };
      for (const [key, objects] of found) {
        const want = ctx.desired.get(key);
        const plan = want && planOf(key, want);
        // A damaged fixed part breaks every chain: reporting them as found rewrites them, and
        // the port writes the fixed part first.
        if (want && plan && baseIntact && samePolicy(objects, plan)) {
          out.push({ key, value: want, metadata: objects, origin: 'netloom' });
        } else {
          out.push({ key, value: policyFrom(key, objects, want), metadata: objects, origin: 'netloom' });
        }
      }
      // A policy that isolates nothing is nothing in the table: as desired when its interface is.
      for (const [key, want] of ctx.desired) {
        const plan = found.has(key) ? undefined : planOf(key, want);
        if (plan && plan.chains.length === 0 && plan.elements.length === 0)
          out.push({ key, value: want, metadata: plan, origin: 'netloom' });
      }
      return out;
    },
  };
}
