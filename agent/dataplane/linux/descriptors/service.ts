// Service frontends in nftables (the layout is in ../service-plan.ts). Each item owns its own
// element, chains and sets, named from its key, so operations on different keys never touch the
// same objects: the family is `concurrent`, and the kernel port coalesces the transactions the
// scheduler starts together. The metadata is the objects the item was written as; a change is
// computed from it, and when the table turns out to hold something else (changed by hand since
// the last retrieve), the change is recomputed from what the table holds for that key.
import { isPort } from '../../../../lib/port-number.ts';
import { serviceDependencies } from '../../../items/dependencies.ts';
import { PREFIX, serviceKey } from '../../../items/keys.ts';
import type { Service } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import type { ConntrackFilter, ServicePort } from '../ports.ts';
import {
  backendsOf,
  changeOps,
  releaseOps,
  type Released,
  frontendsIn,
  planFrontend,
  sameObjects,
  serviceFrom,
  type FrontendObjects,
} from '../service-plan.ts';
import { check, isCidr, isIp4, vrfProblem } from '../validate.ts';
import { nftChange } from './nft-change.ts';

const PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP']);

/**
 * UDP has no connection to close: a client keeps sending to the backend its conntrack entry
 * names. Flows to backends that are gone are deleted, and when a frontend gets its first
 * backends, flows that met it without any (and bypassed DNAT) too.
 */
export function staleUdpFlows(old: Service | undefined, next: Service | undefined): ConntrackFilter[] {
  const v = old ?? next;
  if (v?.protocol !== 'UDP') return [];
  const front = {
    protocol: 'udp' as const,
    ...(v.vip === 'node' ? {} : { origDst: v.vip }),
    origPortDst: v.port,
  };
  const kept = new Set((next ? backendsOf(next) : []).map((b) => `${b.ip}:${b.port}`));
  const out: ConntrackFilter[] = [];
  for (const b of old ? backendsOf(old) : []) {
    if (!kept.has(`${b.ip}:${b.port}`)) out.push({ ...front, replySrc: b.ip, replyPortSrc: b.port });
  }
  if ((old?.backends.length ?? 0) === 0 && (next?.backends.length ?? 0) > 0) out.push(front);
  return out;
}

export function serviceDescriptor(ports: { services: ServicePort }): Descriptor<Service, FrontendObjects> {
  const { services } = ports;

  // The shared draw chains this agent has written (or is writing) since it last read the table:
  // a frontend that needs one of them takes it as there, so 10,000 frontends created together
  // write each shared chain once, not 10,000 times. Wrong only if the table lost it since, and
  // then the element naming it fails, and the redo from the table writes it.
  const written = new Set<string>();
  // Who uses each shared object ('chain:<name>', 'hairpin:<element>'): item keys, from what was
  // applied (create, update) or found (retrieve). The last user's change removes the object in
  // its own transaction; the redo from the table (below) leaves shared objects alone.
  const users = new Map<string, Set<string>>();
  const sharedOf = (o: FrontendObjects | undefined): string[] =>
    o?.shared ? [`chain:${o.shared.chain.name}`, ...o.shared.hairpin.map((h) => `hairpin:${h}`)] : [];
  const releasing = new Map<string, Released>();
  /** Moves `key`'s uses from `old` to `next`; returns the undo (for a change that failed). */
  const use = (
    key: string,
    old: FrontendObjects | undefined,
    next: FrontendObjects | undefined,
  ): (() => void) => {
    const after = new Set(sharedOf(next));
    const dropped = sharedOf(old).filter((u) => !after.has(u));
    const released: Released = { chains: [], hairpin: [] };
    for (const u of dropped) {
      const set = users.get(u);
      set?.delete(key);
      if (set === undefined || set.size > 0) continue;
      users.delete(u);
      if (u.startsWith('chain:')) {
        released.chains.push(u.slice(6));
        written.delete(u.slice(6));
      } else released.hairpin.push(u.slice(8));
    }
    const added = [...after].filter((u) => !(users.get(u)?.has(key) ?? false));
    for (const u of added) users.set(u, (users.get(u) ?? new Set()).add(key));
    if (released.chains.length + released.hairpin.length > 0) releasing.set(key, released);
    return () => {
      for (const u of added) users.get(u)?.delete(key);
      for (const u of dropped) users.set(u, (users.get(u) ?? new Set()).add(key));
    };
  };
  // Old → next; when the table held something else than `old`, redone from what it holds
  // (without releasing shared objects: what the table holds is not what the counts assumed).
  const apply = nftChange<FrontendObjects>(
    services,
    (key, old, next) => {
      const release = releasing.get(key);
      releasing.delete(key);
      return release ? [...changeOps(key, old, next), ...releaseOps(release)] : changeOps(key, old, next);
    },
    (t, key) => frontendsIn(t, [key]).get(key),
  );
  const change = async (
    key: string,
    old: FrontendObjects | undefined,
    next: FrontendObjects | undefined,
  ): Promise<void> => {
    const undo = use(key, old, next);
    try {
      await write(key, old, next);
    } catch (err) {
      releasing.delete(key);
      undo();
      throw err;
    } finally {
      releasing.delete(key);
    }
  };
  const write = async (
    key: string,
    old: FrontendObjects | undefined,
    next: FrontendObjects | undefined,
  ): Promise<void> => {
    const chain = next?.shared?.chain;
    if (!chain || old?.shared?.chain.name === chain.name) return apply(key, old, next);
    if (written.has(chain.name)) {
      const base = old ?? { elements: [], chains: [], sets: [] };
      return apply(key, { ...base, shared: { chain, hairpin: old?.shared?.hairpin ?? [] } }, next);
    }
    written.add(chain.name);
    try {
      await apply(key, old, next);
    } catch (err) {
      written.delete(chain.name);
      throw err;
    }
  };

  const flushStale = async (old: Service | undefined, next: Service | undefined): Promise<void> => {
    for (const f of staleUdpFlows(old, next)) await services.flushConntrack(f);
  };

  return {
    name: 'service',
    keyPrefix: PREFIX.service,
    // Different keys own disjoint objects; the port coalesces what starts together.
    concurrent: true,

    validate(key, v) {
      check(key, [
        vrfProblem(v.vrf),
        !PROTOCOLS.has(v.protocol) && `protocol ${JSON.stringify(v.protocol)} is not TCP, UDP or SCTP`,
        v.vip !== 'node' &&
          !isIp4(v.vip) &&
          `vip ${JSON.stringify(v.vip)} is neither an IPv4 address nor 'node'`,
        !isPort(v.port) && `port ${JSON.stringify(v.port)} out of range`,
        ...v.backends.map(
          (b) =>
            (!isIp4(b.ip) || !isPort(b.port) || !(b.weight > 0)) &&
            `backend ${JSON.stringify(`${b.ip}:${b.port}`)} (weight ${b.weight}) is not an IPv4 address, port and positive weight`,
        ),
        v.noBackends !== 'reject' && v.noBackends !== 'drop' && `noBackends ${JSON.stringify(v.noBackends)}`,
        ...(v.masqueradeOutside ?? []).map(
          (c) =>
            !(isCidr(c) && isIp4(c.split('/')[0]!)) &&
            `masqueradeOutside ${JSON.stringify(c)} is not an IPv4 CIDR`,
        ),
        !(Number.isInteger(v.affinitySeconds) && v.affinitySeconds >= 0) &&
          `affinitySeconds ${v.affinitySeconds}`,
        PROTOCOLS.has(v.protocol) &&
          isPort(v.port) &&
          (v.vip === 'node' || isIp4(v.vip)) &&
          key !== serviceKey(v.vrf, v.protocol, v.vip, v.port) &&
          'key does not match vrf, protocol, vip and port',
      ]);
    },

    // Equal when the table would hold the same: names, kinds, weights (every backend gets an
    // equal share here) and locality (already applied by the renderer) change nothing.
    equivalent: (key, a, b) => sameObjects(planFrontend(key, a), planFrontend(key, b)),

    dependencies: (_key, v) => serviceDependencies(v),

    async create(key, v) {
      const next = planFrontend(key, v);
      await change(key, undefined, next);
      await flushStale(undefined, v);
      return next;
    },

    async update(key, old, v, meta) {
      const next = planFrontend(key, v);
      await change(key, meta ?? planFrontend(key, old), next);
      await flushStale(old, v);
      return next;
    },

    async delete(key, v, meta) {
      await change(key, meta ?? planFrontend(key, v), undefined);
      await flushStale(v, undefined);
    },

    async retrieve(ctx) {
      written.clear();
      users.clear();
      const { table, baseIntact } = await services.list();
      if (!table) return [];
      const out: Retrieved<Service, FrontendObjects>[] = [];
      for (const [key, found] of frontendsIn(table, ctx.desired.keys())) {
        const want = ctx.desired.get(key);
        // A damaged fixed part breaks every frontend: reporting them as found rewrites them,
        // and the port writes the fixed part first.
        use(key, undefined, found);
        if (want && baseIntact && sameObjects(found, planFrontend(key, want))) {
          out.push({ key, value: want, metadata: found, origin: 'netloom' });
          continue;
        }
        let value = serviceFrom(key, found, want);
        // Drift the value cannot express (a rule missing, an extra one): an impossible port
        // keeps it from comparing equal to the desired value, so the scheduler rewrites it.
        if (want && sameObjects(planFrontend(key, value), planFrontend(key, want)))
          value = { ...value, port: 0 };
        out.push({ key, value, metadata: found, origin: 'netloom' });
      }
      return out;
    },
  };
}
