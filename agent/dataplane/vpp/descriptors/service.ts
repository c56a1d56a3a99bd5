// Services as NAT44-ED static mappings: one per frontend (VIP, protocol, port), load-balanced
// over the backends by weight (an LB static mapping; a plain static mapping for a single
// backend, since VPP wants at least two locals in an LB mapping), ClientIP affinity as the
// mapping's affinity timeout. Traffic policies are the renderer's (agent/renderers/services.ts):
// the item's backends are exactly the ones to use. Node ports use the uplink's address. A
// frontend without backends has no mapping. The mapping's tag is the item
// key, which is how retrieve finds it; a backend change replaces the mapping (delete + add).
import { PREFIX } from '../../../items/keys.ts';
import { serviceDependencies } from '../../../items/dependencies.ts';
import type { Service } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { DataPlaneError } from '../../../scheduler/errors.ts';
import type { NatCalls, NatMapping } from '../calls/nat.ts';
import { keysByTag, probabilities, tagOf } from '../naming.ts';
import { check, isIp4, isVrf } from '../validate.ts';
import type { Uplink } from './snat.ts';

const PROTOCOLS: Record<Service['protocol'], number> = { TCP: 6, UDP: 17, SCTP: 132 };
const NAMES = new Map(Object.entries(PROTOCOLS).map(([k, v]) => [v, k as Service['protocol']]));

/** The mapping a Service needs, or undefined when it has no backend to send to (pure). */
export function mappingOf(key: string, v: Service, uplink: Uplink | undefined): NatMapping | undefined {
  // The renderer applied the traffic policies: these are exactly the backends to use.
  const backends = v.backends;
  if (backends.length === 0) return undefined;
  const vip = v.vip === 'node' ? (uplink?.address ?? '') : v.vip;
  const p = backends.length === 1 ? [1] : probabilities(backends.map((b) => b.weight));
  return {
    external: vip,
    port: v.port,
    protocol: PROTOCOLS[v.protocol],
    affinity: v.affinitySeconds,
    tag: tagOf(key),
    backends: backends.map((b, i) => ({ ip: b.ip, port: b.port, probability: p[i]!, vrf: v.vrf })),
  };
}

const sameMapping = (a: NatMapping, b: NatMapping): boolean => JSON.stringify(a) === JSON.stringify(b);

export function serviceDescriptor(
  ports: { nat: Pick<NatCalls, 'enable' | 'addMapping' | 'deleteMapping' | 'mappings'> },
  uplink: Uplink | undefined,
): Descriptor<Service, NatMapping | null> {
  const { nat } = ports;
  const apply = async (key: string, v: Service): Promise<NatMapping | null> => {
    const m = mappingOf(key, v, uplink);
    if (m === undefined) return null;
    if (m.external === '') throw new DataPlaneError('node ports need the driver option `uplink`');
    await nat.enable();
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
    },

    async retrieve(ctx) {
      const byTag = keysByTag(ctx.desired.keys());
      const out: Retrieved<Service, NatMapping | null>[] = [];
      const found = new Set<string>();
      for (const m of await nat.mappings()) {
        if (!m.tag.startsWith(PREFIX.service)) continue;
        const key = byTag.get(m.tag) ?? m.tag;
        const want = ctx.desired.get(key);
        const expected = want === undefined ? undefined : mappingOf(key, want, uplink);
        found.add(key);
        out.push({
          key,
          value: want !== undefined && expected !== undefined && sameMapping(expected, m) ? want : asFound(m),
          metadata: m,
          origin: 'netloom',
        });
      }
      // A desired frontend without backends has nothing in VPP: it is there by being absent.
      for (const [key, v] of ctx.desired)
        if (!found.has(key) && mappingOf(key, v, uplink) === undefined)
          out.push({ key, value: v, metadata: null, origin: 'netloom' });
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
    masqueradeOutside: [],
    affinitySeconds: m.affinity,
  };
}
