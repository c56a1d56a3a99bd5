// Services as NAT44-ED static mappings: one per frontend (VIP, protocol, port), load-balanced
// over the backends by weight (an LB static mapping; a plain static mapping for a single
// backend, since VPP wants at least two locals in an LB mapping), ClientIP affinity as the
// mapping's affinity timeout. Traffic policies are the renderer's (agent/renderers/services.ts):
// the item's backends are exactly the ones to use. Node ports use the uplink's address. The
// mapping's tag is the item key, which is how retrieve finds it; a backend change replaces the
// mapping (delete + add).
//
// Every mapping is OUT2IN_ONLY. Without it VPP (nat44_ed.c) wants an LB mapping's external
// address in the NAT pool (NO_SUCH_ENTRY otherwise: a cluster IP never is) and refuses a second
// plain mapping with the same backend address:port (VALUE_EXIST: a Service's cluster IP and node
// port share their backends), and it would also source-NAT the backend's own connections to the
// VIP. The client's source is the mapping's other flag (see README "Services"):
// - masqueradeOutside null → SELF_TWICE_NAT: the client is kept, except when it is the backend
//   the connection lands on (hairpin), whose source becomes the twice-NAT address;
// - [] → TWICE_NAT: every client's source becomes the twice-NAT address;
// - [cidr…] → TWICE_NAT too. A mapping has no source match, so "masquerade unless the source is
//   in cidr" cannot be said; masquerading everyone is the side where replies always come back
//   (the cost: such clients' addresses are hidden from the backend).
// The twice-NAT address is the uplink's, in VPP's twice-NAT pool (kept apart from source NAT's).
//
// noBackends: a frontend without backends has no mapping, and a /32 route on its VIP answers
// what NAT44-ED did not translate (its nodes run on ip4-unicast, before the FIB lookup, so the
// VIP's ports that have backends are unaffected): ICMP_UNREACH for 'reject' (VPP's ip4-null DPO
// sends ICMP host unreachable — there is no TCP reset in the FIB) and DROP for 'drop'. A VIP's
// route is shared by its frontends: reject when any of them without backends rejects, gone when
// none is without backends. Node ports get no route (the uplink address is the node's own).
import { PREFIX } from '../../../items/keys.ts';
import { serviceDependencies } from '../../../items/dependencies.ts';
import type { Service } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { DataPlaneError } from '../../../scheduler/errors.ts';
import { API_SOURCE, type FibCalls, type VppRoute } from '../calls/fib.ts';
import {
  NAT_IS_OUT2IN_ONLY,
  NAT_IS_SELF_TWICE_NAT,
  NAT_IS_TWICE_NAT,
  type NatCalls,
  type NatMapping,
} from '../calls/nat.ts';
import { keysByTag, probabilities, tagOf } from '../naming.ts';
import { check, isCidr, isIp4, isVrf } from '../validate.ts';
import type { Uplink } from './snat.ts';

const PROTOCOLS: Record<Service['protocol'], number> = { TCP: 6, UDP: 17, SCTP: 132 };
const NAMES = new Map(Object.entries(PROTOCOLS).map(([k, v]) => [v, k as Service['protocol']]));

/** The mapping flags for a Service's masqueradeOutside (pure; see the header). */
export function flagsOf(v: Pick<Service, 'masqueradeOutside'>): number {
  return NAT_IS_OUT2IN_ONLY | (v.masqueradeOutside === null ? NAT_IS_SELF_TWICE_NAT : NAT_IS_TWICE_NAT);
}

/**
 * A load-balancer frontend restricted to source ranges: a NAT44-ED mapping has no source match,
 * so VPP cannot serve it to some clients only; it is left closed (a drop route on its VIP)
 * rather than opened to everyone.
 */
const restricted = (v: Service): boolean => v.sourceRanges !== undefined;

/** The mapping a Service needs, or undefined when it has no backend to send to (pure). */
export function mappingOf(key: string, v: Service, uplink: Uplink | undefined): NatMapping | undefined {
  // The renderer applied the traffic policies: these are exactly the backends to use. (The
  // Local policy's `inCluster` backends are not: a mapping cannot tell pods from the outside
  // world, so every client meets this node's own, as before kube-proxy's refinement.)
  const backends = v.backends;
  if (backends.length === 0 || restricted(v)) return undefined;
  const vip = v.vip === 'node' ? (uplink?.address ?? '') : v.vip;
  const p = backends.length === 1 ? [1] : probabilities(backends.map((b) => b.weight));
  return {
    external: vip,
    port: v.port,
    protocol: PROTOCOLS[v.protocol],
    affinity: v.affinitySeconds,
    flags: flagsOf(v),
    tag: tagOf(key),
    backends: backends.map((b, i) => ({ ip: b.ip, port: b.port, probability: p[i]!, vrf: v.vrf })),
  };
}

type Verdict = Service['noBackends'];
const routeType = (v: Verdict): 'unreach' | 'drop' => (v === 'reject' ? 'unreach' : 'drop');

/** What a frontend asks of its VIP's route: a verdict when it has no backends (pure). */
const routeNeed = (v: Service): Verdict | undefined =>
  v.vip === 'node' ? undefined : restricted(v) ? 'drop' : v.backends.length === 0 ? v.noBackends : undefined;

/** The route a VIP needs, given what its frontends without backends ask (pure). */
function vipRoute(needs: Iterable<Verdict>): 'unreach' | 'drop' | undefined {
  let out: 'unreach' | 'drop' | undefined;
  for (const n of needs) out = out === 'unreach' ? out : routeType(n);
  return out;
}

const vipId = (vrf: number, vip: string): string => `${vrf}|${vip}`;
const isVerdictRoute = (r: VppRoute): boolean =>
  r.paths.length === 1 && (r.paths[0]!.type === 'unreach' || r.paths[0]!.type === 'drop');

const sameMapping = (a: NatMapping, b: NatMapping): boolean => JSON.stringify(a) === JSON.stringify(b);

type Ports = {
  nat: Pick<
    NatCalls,
    'enable' | 'addMapping' | 'deleteMapping' | 'mappings' | 'addTwiceNatAddress' | 'twiceNatAddresses'
  >;
  fib: Pick<FibCalls, 'addRoute' | 'deleteRoute' | 'routes'>;
};

export function serviceDescriptor(
  ports: Ports,
  uplink: Uplink | undefined,
): Descriptor<Service, NatMapping | null> {
  const { nat, fib } = ports;
  // Per VIP: the frontends applied without backends and their verdicts; and the verdict route
  // VPP holds (learnt by retrieve, kept by every change). Both are the driver's, not items'.
  const needs = new Map<string, Map<string, Verdict>>();
  const held = new Map<string, 'unreach' | 'drop'>();

  const syncRoute = async (vrf: number, vip: string): Promise<void> => {
    const id = vipId(vrf, vip);
    const want = vipRoute(needs.get(id)?.values() ?? []);
    const have = held.get(id);
    if (want === have) return;
    if (want === undefined) {
      await fib.deleteRoute(vrf, `${vip}/32`);
      held.delete(id);
      return;
    }
    // An add replaces the paths of an existing prefix: reject ⇄ drop is one call.
    await fib.addRoute({ vrf, dst: `${vip}/32`, paths: [{ type: want }] });
    held.set(id, want);
  };

  const setNeed = (key: string, v: Service, need: Verdict | undefined): void => {
    const id = vipId(v.vrf, v.vip);
    const m = needs.get(id) ?? new Map<string, Verdict>();
    if (need === undefined) m.delete(key);
    else m.set(key, need);
    if (m.size === 0) needs.delete(id);
    else needs.set(id, m);
  };

  // The route first: syncing it is idempotent, so a failed mapping add retried finds nothing
  // of its own half-done (the add itself is the last step, and VPP's refusal leaves nothing).
  const apply = async (key: string, v: Service): Promise<NatMapping | null> => {
    const m = mappingOf(key, v, uplink);
    if (m !== undefined && uplink === undefined)
      throw new DataPlaneError(
        'services need the driver option `uplink`: its address is where node ports listen and what clients are translated to (twice-NAT)',
      );
    setNeed(key, v, routeNeed(v));
    if (v.vip !== 'node') await syncRoute(v.vrf, v.vip);
    if (m === undefined) return null;
    await nat.enable();
    await nat.addTwiceNatAddress(uplink!.address, true);
    await nat.addMapping(m);
    return m;
  };

  return {
    name: 'service',
    keyPrefix: PREFIX.service,

    validate(key, v) {
      check(key, [
        !isVrf(v.vrf) && `vrf ${v.vrf} out of range`,
        v.vip !== 'node' && !isIp4(v.vip) && `vip ${JSON.stringify(v.vip)}: NAT44 serves IPv4 frontends only`,
        PROTOCOLS[v.protocol] === undefined && `protocol ${JSON.stringify(v.protocol)} not supported`,
        !(Number.isInteger(v.port) && v.port > 0 && v.port < 65536) && `port ${v.port} out of range`,
        !(Number.isInteger(v.affinitySeconds) && v.affinitySeconds >= 0) &&
          `affinitySeconds ${v.affinitySeconds} invalid`,
        v.noBackends !== 'reject' && v.noBackends !== 'drop' && `noBackends ${JSON.stringify(v.noBackends)}`,
        v.masqueradeOutside !== null &&
          !Array.isArray(v.masqueradeOutside) &&
          'masqueradeOutside is neither a list nor null',
        ...(Array.isArray(v.masqueradeOutside) ? v.masqueradeOutside : []).map(
          (c) =>
            !(isCidr(c) && isIp4(c.split('/')[0]!)) &&
            `masqueradeOutside ${JSON.stringify(c)} is not an IPv4 CIDR`,
        ),
        ...v.backends.map(
          (b) => (!isIp4(b.ip) || !(b.port > 0 && b.port < 65536)) && `backend ${b.ip}:${b.port} invalid`,
        ),
      ]);
    },

    dependencies: (_key, v) => serviceDependencies(v),

    create: (key, v) => apply(key, v),

    async update(key, old, v, meta) {
      const before = meta ?? mappingOf(key, old, uplink);
      if (before) await nat.deleteMapping(before);
      return apply(key, v);
    },

    async delete(key, v, meta) {
      const m = meta ?? mappingOf(key, v, uplink);
      if (m) await nat.deleteMapping(m);
      setNeed(key, v, undefined);
      if (v.vip !== 'node') await syncRoute(v.vrf, v.vip);
    },

    async retrieve(ctx) {
      const byTag = keysByTag(ctx.desired.keys());
      // The verdict routes VPP holds on desired VIPs, and what the desired items ask of them.
      needs.clear();
      held.clear();
      const wanted = new Map<string, Verdict[]>();
      const vrfs = new Set<number>();
      for (const v of ctx.desired.values()) {
        vrfs.add(v.vrf);
        const n = routeNeed(v);
        if (n === undefined) continue;
        const id = vipId(v.vrf, v.vip);
        wanted.set(id, [...(wanted.get(id) ?? []), n]);
      }
      const desiredVips = new Set([...ctx.desired.values()].map((v) => vipId(v.vrf, v.vip)));
      for (const vrf of vrfs)
        for (const r of await fib.routes(vrf, false).catch(() => [] as VppRoute[])) {
          const vip = r.dst.endsWith('/32') ? r.dst.slice(0, -3) : '';
          const id = vipId(vrf, vip);
          if (vip !== '' && desiredVips.has(id) && r.source === API_SOURCE && isVerdictRoute(r))
            held.set(id, r.paths[0]!.type as 'unreach' | 'drop');
        }
      // A VIP whose route is not what its desired frontends ask (missing, wrong verdict, or
      // left over) is repaired by reporting those frontends as not applied as desired.
      const routeRight = (v: Service): boolean =>
        v.vip === 'node' || held.get(vipId(v.vrf, v.vip)) === vipRoute(wanted.get(vipId(v.vrf, v.vip)) ?? []);
      // Without the twice-NAT address (VPP restarted its NAT, say) no mapping is as desired.
      const poolRight = uplink !== undefined && (await nat.twiceNatAddresses()).includes(uplink.address);

      const out: Retrieved<Service, NatMapping | null>[] = [];
      const found = new Set<string>();
      const adopt = (key: string, v: Service): void => {
        setNeed(key, v, routeNeed(v));
      };
      for (const m of await nat.mappings()) {
        if (!m.tag.startsWith(PREFIX.service)) continue;
        const key = byTag.get(m.tag) ?? m.tag;
        const want = ctx.desired.get(key);
        const expected = want === undefined ? undefined : mappingOf(key, want, uplink);
        found.add(key);
        const right =
          want !== undefined &&
          expected !== undefined &&
          sameMapping(expected, m) &&
          poolRight &&
          routeRight(want);
        if (right) adopt(key, want);
        out.push({ key, value: right ? want : asFound(m), metadata: m, origin: 'netloom' });
      }
      // A desired frontend without backends has no mapping: it is there when its VIP's route is.
      for (const [key, v] of ctx.desired)
        if (!found.has(key) && mappingOf(key, v, uplink) === undefined && routeRight(v)) {
          adopt(key, v);
          out.push({ key, value: v, metadata: null, origin: 'netloom' });
        }
      return out;
    },
  };
}

/** What VPP shows of a mapping that is not as desired: never equal to a desired value. */
function asFound(m: NatMapping): Service {
  return {
    namespace: '',
    name: '',
    portName: '',
    vrf: m.backends[0]?.vrf ?? 0,
    kind: 'cluster-ip',
    vip: m.external,
    protocol: NAMES.get(m.protocol) ?? 'TCP',
    port: m.port,
    backends: m.backends.map((b) => ({ ip: b.ip, port: b.port, weight: b.probability, local: false })),
    noBackends: 'reject',
    masqueradeOutside: (m.flags & NAT_IS_TWICE_NAT) !== 0 ? [] : null,
    affinitySeconds: m.affinity,
  };
}
