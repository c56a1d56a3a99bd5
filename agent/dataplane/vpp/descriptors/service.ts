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
// The twice-NAT address is the last host of the node's pod block, put in VPP's twice-NAT pool
// (kept apart from source NAT's) by the node's source NAT item (snat.ts): a remote backend's
// reply comes back to it through the tunnels, NAT44 inside interfaces (tunnel.ts).
//
// noBackends: a frontend without backends has no mapping, and a /32 route on its VIP answers
// what NAT44-ED did not translate (its nodes run on ip4-unicast, before the FIB lookup, so the
// VIP's ports that have backends are unaffected): ICMP_UNREACH for 'reject' (VPP's ip4-null DPO
// sends ICMP host unreachable — there is no TCP reset in the FIB) and DROP for 'drop'. A VIP's
// route is shared by its frontends: reject when any of them without backends rejects, gone when
// none is without backends. Node ports get no route (the uplink address is the node's own).
//
// Pods as clients: NAT44-ED cannot serve them (README "Services"), so where VPP has cnat's
// feature arc every frontend pods reach by address (not node ports) is also a cnat translation
// (docs/adr/0018): cnat's input feature on pod interfaces translates before NAT44-ED and the
// egress ACLs see the packet; its output feature reverses the replies, and masquerades hairpin
// to HAIRPIN_SNAT_ADDRESS (the `k8s` source-NAT policy, set with the first translation). The
// backends are the ones for clients inside the cluster (`inCluster`, else the item's), balanced
// by cnat's flow hash: on the source address alone for ClientIP affinity (no timeout: the same
// client meets the same backend while the set is unchanged). cnat works in table 0 only.
import { PREFIX, serviceKey } from '../../../items/keys.ts';
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
import { type CnatCalls, FLOW_HASH_DEFAULT, FLOW_HASH_SRC_IP, type CnatTranslation } from '../calls/cnat.ts';
import { HAIRPIN_SNAT_ADDRESS, keysByTag, probabilities, tagOf } from '../naming.ts';
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

/** The cnat translation pods need for a frontend, or undefined (pure; see the header). */
export function translationOf(v: Service): CnatTranslation | undefined {
  const backends = v.inCluster?.backends ?? v.backends;
  if (v.vip === 'node' || v.vrf !== 0 || backends.length === 0 || restricted(v)) return undefined;
  return {
    vip: v.vip,
    port: v.port,
    protocol: PROTOCOLS[v.protocol],
    backends: backends.map((b) => ({ ip: b.ip, port: b.port })),
    flowHash: v.affinitySeconds > 0 ? FLOW_HASH_SRC_IP : FLOW_HASH_DEFAULT,
  };
}

const frontendId = (vip: string, protocol: number, port: number): string => `${vip}|${protocol}|${port}`;
const backendList = (t: Pick<CnatTranslation, 'backends'>): string =>
  t.backends
    .map((b) => `${b.ip}:${b.port}`)
    .sort()
    .join(' ');

/** What the descriptor keeps of an applied frontend: its NAT44 mapping and cnat translation id. */
export interface ServiceMeta {
  mapping: NatMapping | null;
  translation: number | null;
}

type Verdict = Service['noBackends'];
/** The FIB source cnat registers (cnat_client.c) for its VIPs' entries. */
const CNAT_SOURCE = 'cnat';
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
  nat: Pick<NatCalls, 'enable' | 'addMapping' | 'deleteMapping' | 'mappings'>;
  fib: Pick<FibCalls, 'addRoute' | 'deleteRoute' | 'routes'>;
  /** Absent: pods are not served (NAT44-ED only, as on a VPP without cnat's feature arc). */
  cnat?: Pick<CnatCalls, 'available' | 'update' | 'delete' | 'translations' | 'ensureSnat' | 'snatAddress'>;
};

export function serviceDescriptor(
  ports: Ports,
  uplink: Uplink | undefined,
): Descriptor<Service, ServiceMeta> {
  const { nat, fib } = ports;
  const { cnat } = ports;
  // Asked at each use: the VPP connected now decides (a restart may bring another version).
  const cnatOn = (): boolean => cnat?.available() === true;
  // Whether cnat's source-NAT address and policy are known to be set (by this driver since
  // the last retrieve, or found by it).
  let snatSet = false;
  const translate = async (t: CnatTranslation): Promise<number> => {
    if (!snatSet) {
      await cnat!.ensureSnat(HAIRPIN_SNAT_ADDRESS);
      snatSet = true;
    }
    return cnat!.update(t);
  };
  /** The translation a frontend wants on this VPP (none without cnat). */
  const translationWanted = (v: Service): CnatTranslation | undefined =>
    cnatOn() ? translationOf(v) : undefined;
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
  const apply = async (key: string, v: Service, before: number | null): Promise<ServiceMeta> => {
    const m = mappingOf(key, v, uplink);
    if (m !== undefined && uplink === undefined)
      throw new DataPlaneError(
        'services need the driver option `uplink`: its address is where node ports listen and what clients are translated to (twice-NAT)',
      );
    setNeed(key, v, routeNeed(v));
    if (v.vip !== 'node') await syncRoute(v.vrf, v.vip);
    // The translation before the mapping: an update of (vip, port, protocol) replaces it in
    // place, and one no longer wanted goes.
    const t = translationWanted(v);
    let translation: number | null = null;
    if (t !== undefined) translation = await translate(t);
    else if (before !== null && cnatOn()) await cnat!.delete(before);
    if (m === undefined) return { mapping: null, translation };
    await nat.enable();
    await nat.addMapping(m);
    return { mapping: m, translation };
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

    create: (key, v) => apply(key, v, null),

    async update(key, old, v, meta) {
      // What retrieve or apply recorded is what VPP holds; without it, what `old` implies.
      const before = meta !== undefined ? meta.mapping : mappingOf(key, old, uplink);
      if (before) await nat.deleteMapping(before);
      // VPP takes a translation's flow hash when it makes it and ignores it in an update
      // (cnat_translation.c): a changed affinity needs the translation made again.
      let prior = meta?.translation ?? null;
      const was = translationWanted(old);
      const will = translationWanted(v);
      if (prior !== null && was !== undefined && will !== undefined && was.flowHash !== will.flowHash) {
        await cnat!.delete(prior);
        prior = null;
      }
      return apply(key, v, prior);
    },

    async delete(key, v, meta) {
      const m = meta !== undefined ? meta.mapping : mappingOf(key, v, uplink);
      if (m) await nat.deleteMapping(m);
      if (meta?.translation != null && cnatOn()) await cnat!.delete(meta.translation);
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
          // A VIP with a cnat translation shows cnat's entry (its source outranks the API's):
          // a verdict route beneath it cannot be read, so it is taken to be as last applied.
          if (vip !== '' && desiredVips.has(id) && r.source === CNAT_SOURCE) {
            const want = vipRoute(wanted.get(id) ?? []);
            if (want === undefined) held.delete(id);
            else held.set(id, want);
          }
        }
      // A VIP whose route is not what its desired frontends ask (missing, wrong verdict, or
      // left over) is repaired by reporting those frontends as not applied as desired.
      const routeRight = (v: Service): boolean =>
        v.vip === 'node' || held.get(vipId(v.vrf, v.vip)) === vipRoute(wanted.get(vipId(v.vrf, v.vip)) ?? []);
      // The twice-NAT address is the node's source NAT item's (snat.ts); mappings are as desired
      // only with the uplink known (node ports) — the pool is that item's to keep.
      const poolRight = uplink !== undefined;

      // cnat's translations carry no tag: each is the frontend (vip, protocol, port) it serves,
      // netloom's by construction (nothing else on a netloom node programs cnat).
      const translations = new Map(
        (cnatOn() ? await cnat!.translations() : []).map((t) => [frontendId(t.vip, t.protocol, t.port), t]),
      );
      snatSet = translations.size > 0 && (await cnat!.snatAddress()) === HAIRPIN_SNAT_ADDRESS;
      const claimed = new Set<string>();
      /** The translation VPP holds for a frontend, claimed for the key reported with it. */
      const claim = (vip: string, protocol: number, port: number): number | null => {
        const id = frontendId(vip, protocol, port);
        claimed.add(id);
        return translations.get(id)?.id ?? null;
      };
      // As desired: the translation the frontend wants, with these backends, and the source-NAT
      // address behind it; or none when it wants none.
      const translationRight = (v: Service): boolean => {
        const want = translationWanted(v);
        const have = translations.get(frontendId(v.vip, PROTOCOLS[v.protocol], v.port));
        if (want === undefined) return have === undefined;
        return have !== undefined && backendList(have) === backendList(want) && snatSet;
      };

      const out: Retrieved<Service, ServiceMeta>[] = [];
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
          routeRight(want) &&
          translationRight(want);
        if (right) adopt(key, want);
        // Claimed by the mapping's own frontend, desired or not: a Service deleted while the
        // agent was down takes its translation with its mapping.
        const metadata = { mapping: m, translation: claim(m.external, m.protocol, m.port) };
        out.push({ key, value: right ? want : asFound(m), metadata, origin: 'netloom' });
      }
      // A desired frontend without backends has no mapping: it is there when its VIP's route is
      // (and no translation is left on it).
      for (const [key, v] of ctx.desired)
        if (!found.has(key) && mappingOf(key, v, uplink) === undefined) {
          found.add(key);
          const right = routeRight(v) && translationRight(v);
          if (right) adopt(key, v);
          const metadata = { mapping: null, translation: claim(v.vip, PROTOCOLS[v.protocol], v.port) };
          if (right || metadata.translation !== null)
            out.push({
              key,
              value: right
                ? v
                : asFoundTranslation(translations.get(frontendId(v.vip, PROTOCOLS[v.protocol], v.port)), v),
              metadata,
              origin: 'netloom',
            });
        }
      // A translation no reported frontend accounts for is left over: reported under the key its
      // frontend would have, so the scheduler deletes it (or, desired after all, updates it).
      for (const [id, t] of translations) {
        if (claimed.has(id)) continue;
        const protocol = NAMES.get(t.protocol) ?? 'TCP';
        const key = serviceKey(0, protocol, t.vip, t.port);
        if (found.has(key)) continue;
        out.push({
          key,
          value: asFoundTranslation(t),
          metadata: { mapping: null, translation: t.id },
          origin: 'netloom',
        });
      }
      return out;
    },
  };
}

/** What VPP shows of a translation that is not as desired: never equal to a desired value. */
function asFoundTranslation(t: CnatTranslation | undefined, v?: Service): Service {
  return {
    namespace: '',
    name: '',
    portName: '',
    vrf: 0,
    kind: 'cluster-ip',
    vip: t?.vip ?? v?.vip ?? '',
    protocol: NAMES.get(t?.protocol ?? 0) ?? v?.protocol ?? 'TCP',
    port: t?.port ?? v?.port ?? 0,
    backends: (t?.backends ?? []).map((b) => ({ ip: b.ip, port: b.port, weight: 0, local: false })),
    noBackends: 'reject',
    masqueradeOutside: null,
    affinitySeconds: -1,
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
