// Network policy of one pod interface as two VPP ACLs (policy-rules.ts compiles them): the
// egress ACL is the TAP's input list, the ingress ACL its output list. ACLs are replaced in
// place by index on update, so a changed policy never leaves the pod unprotected. Tags
// (`<key>#eg`, `<key>#in`) let retrieve find them; a policy that differs is reported as VPP
// shows it, with its ACL indexes, so the scheduler can fix or remove it.
import { PREFIX } from '../../../items/keys.ts';
import { policyDependencies } from '../../../items/dependencies.ts';
import type { PodPolicy } from '../../../items/values.ts';
import type { ApplyContext, Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { DataPlaneError } from '../../../scheduler/errors.ts';
import type { AclCalls, AclRule } from '../calls/acl.ts';
import { keysByTag, tagOf } from '../naming.ts';
import { compileDirection } from '../policy-rules.ts';
import { check, isCidr } from '../validate.ts';
import type { PodInterfaceMeta } from './pod-interface.ts';

export interface PolicyMeta {
  swIfIndex: number;
  egressAcl: number;
  ingressAcl: number;
}

const EGRESS = '#eg';
const INGRESS = '#in';

type Ports = { acl: Pick<AclCalls, 'addReplace' | 'delete' | 'list' | 'setInterfaceAcls' | 'interfaceAcls'> };

function interfaceOf(v: PodPolicy, ctx: ApplyContext): number {
  const meta = ctx.metadata<PodInterfaceMeta>(v.interface);
  if (meta === undefined)
    throw new DataPlaneError(`policy: interface ${v.interface} has no sw_if_index yet`, { retriable: true });
  return meta.swIfIndex;
}

const sameRules = (a: readonly AclRule[], b: readonly AclRule[]): boolean =>
  JSON.stringify(a) === JSON.stringify(b);

export function policyDescriptor(ports: Ports): Descriptor<PodPolicy, PolicyMeta> {
  const { acl } = ports;
  return {
    name: 'policy',
    keyPrefix: PREFIX.policy,
    retrieveAfter: ['pod-interface'],

    validate(key, v) {
      const rules = [...v.ingress.rules, ...v.egress.rules];
      check(key, [
        !v.interface.startsWith(PREFIX.podInterface) &&
          `interface ${JSON.stringify(v.interface)} is not a pod interface`,
        ...rules.flatMap((r) =>
          [...r.peers, ...r.except].map((c) => !isCidr(c) && `peer ${JSON.stringify(c)} is not a CIDR`),
        ),
        ...rules.flatMap((r) =>
          r.ports.map(
            (p) =>
              !(p.port > 0 && p.port < 65536 && (p.endPort === 0 || p.endPort >= p.port)) &&
              `port range ${p.port}-${p.endPort} invalid`,
          ),
        ),
      ]);
    },

    dependencies: (_key, v) => policyDependencies(v),

    async create(key, v, ctx) {
      const sw = interfaceOf(v, ctx);
      const egressAcl = await acl.addReplace(undefined, tagOf(key + EGRESS), compileDirection(v, 'egress'));
      const ingressAcl = await acl.addReplace(
        undefined,
        tagOf(key + INGRESS),
        compileDirection(v, 'ingress'),
      );
      await acl.setInterfaceAcls(sw, [egressAcl], [ingressAcl]);
      return { swIfIndex: sw, egressAcl, ingressAcl };
    },

    async update(key, _old, v, meta, ctx) {
      const sw = interfaceOf(v, ctx);
      const egressAcl = await acl.addReplace(
        meta?.egressAcl,
        tagOf(key + EGRESS),
        compileDirection(v, 'egress'),
      );
      const ingressAcl = await acl.addReplace(
        meta?.ingressAcl,
        tagOf(key + INGRESS),
        compileDirection(v, 'ingress'),
      );
      await acl.setInterfaceAcls(sw, [egressAcl], [ingressAcl]);
      return { swIfIndex: sw, egressAcl, ingressAcl };
    },

    async delete(_key, _v, meta) {
      if (meta === undefined) return;
      if (meta.swIfIndex >= 0) await acl.setInterfaceAcls(meta.swIfIndex, [], []);
      if (meta.egressAcl >= 0) await acl.delete(meta.egressAcl);
      if (meta.ingressAcl >= 0) await acl.delete(meta.ingressAcl);
    },

    async retrieve(ctx) {
      const tags = keysByTag([...ctx.desired.keys()].flatMap((k) => [k + EGRESS, k + INGRESS]));
      const found = new Map<
        string,
        { egress?: { index: number; rules: AclRule[] }; ingress?: { index: number; rules: AclRule[] } }
      >();
      for (const a of await acl.list()) {
        const full = tags.get(a.tag) ?? a.tag;
        const dir = full.endsWith(EGRESS) ? 'egress' : full.endsWith(INGRESS) ? 'ingress' : undefined;
        if (dir === undefined || !full.startsWith(PREFIX.policy)) continue;
        const key = full.slice(0, -EGRESS.length);
        found.set(key, { ...found.get(key), [dir]: { index: a.index, rules: a.rules } });
      }
      const bindings = await acl.interfaceAcls();
      const out: Retrieved<PodPolicy, PolicyMeta>[] = [];
      for (const [key, f] of found) {
        const want = ctx.desired.get(key);
        const sw = want === undefined ? undefined : ctx.metadata<PodInterfaceMeta>(want.interface)?.swIfIndex;
        const bound = sw === undefined ? undefined : bindings.get(sw);
        const meta = {
          swIfIndex: sw ?? boundTo(bindings, f.egress?.index ?? -1) ?? -1,
          egressAcl: f.egress?.index ?? -1,
          ingressAcl: f.ingress?.index ?? -1,
        };
        const ok =
          want !== undefined &&
          f.egress !== undefined &&
          f.ingress !== undefined &&
          sameRules(f.egress.rules, compileDirection(want, 'egress')) &&
          sameRules(f.ingress.rules, compileDirection(want, 'ingress')) &&
          JSON.stringify(bound) === JSON.stringify({ input: [f.egress.index], output: [f.ingress.index] });
        out.push({ key, value: ok ? want : stale(key), metadata: meta, origin: 'netloom' });
      }
      return out;
    },
  };
}

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
  return {
    namespace,
    pod,
    interface: '',
    podIps: [],
    ingress: { rules: [], default: 'allow' },
    egress: { rules: [], default: 'allow' },
  };
}
