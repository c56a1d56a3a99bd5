// Routes in VPP FIB tables. A route through an interface item (pod interface, tunnel) takes
// the sw_if_index, and for tunnels the derived next hop, from that item's metadata; `host` is a
// local (receive) path, `drop` a drop path. Adding an existing prefix replaces its paths, so
// updates are in place.
//
// Every table holds entries nobody configured: special drop routes, connected and local routes
// of interface addresses, and the adjacency /32 VPP adds for every neighbour — the tunnels'
// static neighbours among them, whose /32 leaves through a tunnel netloom tagged. Only the FIB
// source tells them apart (ip_route_v2_dump): netloom's routes are the API source's. VPP does
// not record which API client made a route, so retrieve reports the desired routes it finds
// as they are, and, as netloom's, only the other API routes whose every path leaves through an
// interface netloom tagged (a pod interface, a tunnel): stale routes of pods and peers that
// are gone. Everything else in a table is left alone — except
// one kind netloom can recognise without a tag: a drop route in table 0 for exactly a subnet of
// one of netloom's VRFs (the subnet read back from the VRF's proxy-ARP range in its table,
// descriptors/vrf.ts). That is the default network barred from a custom network; when the
// network is gone the route must go too, or its addresses stay unreachable.
import { PREFIX, routeKey } from '../../../items/keys.ts';
import { routeDependencies } from '../../../items/dependencies.ts';
import type { NextHop, Route } from '../../../items/values.ts';
import type { ApplyContext, Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { DataPlaneError } from '../../../scheduler/errors.ts';
import { API_SOURCE, type FibCalls, type VppPath, type VppRoute } from '../calls/fib.ts';
import type { InterfaceCalls } from '../calls/interfaces.ts';
import { check, isCidr, isIp, isIp4, isVrf } from '../validate.ts';
import { VRF_NAME_PREFIX } from './vrf.ts';
import { bigIntToIp, hostOfPrefix, ipToBigInt } from '../../../../lib/cidr.ts';

/** What an interface item's metadata offers to routes through it. */
export interface RouteTargetMeta {
  swIfIndex: number;
  routeGateway?: string;
}

type Ports = {
  fib: Pick<FibCalls, 'addRoute' | 'deleteRoute' | 'routes' | 'tables'>;
  interfaces: Pick<InterfaceCalls, 'list' | 'proxyArpRanges'>;
};

/** The CIDR whose hosts are exactly `low`…`hi` (hostRange4's inverse), or undefined. */
export function cidrOfHostRange(low: string, hi: string): string | undefined {
  if (!isIp4(low) || !isIp4(hi)) return undefined;
  const first = ipToBigInt(low) - 1n;
  const size = ipToBigInt(hi) + 2n - first;
  if (size < 4n || (size & (size - 1n)) !== 0n || first % size !== 0n) return undefined;
  const length = 32 - (size.toString(2).length - 1);
  return `${bigIntToIp(first, 4)}/${length}`;
}

/** Subnets of netloom's VRFs as VPP holds them (tables named netloom:…, their proxy-ARP ranges). */
async function vrfSubnets(ports: Ports): Promise<Set<string>> {
  const ids = new Set(
    (await ports.fib.tables())
      .filter((t) => t.id !== 0 && t.name.startsWith(VRF_NAME_PREFIX))
      .map((t) => t.id),
  );
  const out = new Set<string>();
  for (const r of await ports.interfaces.proxyArpRanges()) {
    const cidr = ids.has(r.vrf) ? cidrOfHostRange(r.low, r.hi) : undefined;
    if (cidr !== undefined) out.add(cidr);
  }
  return out;
}

/** The VPP route for a Route value, given its interface's metadata (pure). */
export function vppRoute(v: Route, target: RouteTargetMeta | undefined): VppRoute | undefined {
  let path: VppPath;
  if (v.via.type === 'drop') path = { type: 'drop' };
  else if (v.via.type === 'host') path = { type: 'local' };
  else if (target === undefined) return undefined;
  // Through a tunnel the tunnel's derived next hop is used, not the item's gateway (the peer's
  // pod gateway, 10.x.<peer>.1): only the derived one has a static neighbour on the tunnel, and
  // nothing on the far side answers ARP for the pod gateway over VXLAN, so VPP could never
  // resolve it. The packet lands at the peer's pod gateway either way.
  else {
    const gateway = target.routeGateway ?? v.via.gateway ?? '';
    // A host route through an interface without a next hop is recorded by VPP with the host as
    // its next hop (fib_table_route_path_fixup: an attached host path); asking for exactly that
    // keeps what is sent and what a dump shows the same.
    path = {
      type: 'via',
      swIfIndex: target.swIfIndex,
      nextHop: gateway === '' ? hostOfPrefix(v.dst) : gateway,
    };
  }
  return { vrf: v.vrf, dst: v.dst, paths: [path] };
}

const samePaths = (a: VppRoute, b: VppRoute): boolean => JSON.stringify(a.paths) === JSON.stringify(b.paths);

function resolve(v: Route, ctx: ApplyContext): VppRoute {
  const target = v.via.type === 'interface' ? ctx.metadata<RouteTargetMeta>(v.via.interface) : undefined;
  const r = vppRoute(v, target);
  if (r === undefined)
    throw new DataPlaneError(`route ${v.dst}: its interface has no sw_if_index yet`, { retriable: true });
  return r;
}

export function routeDescriptor(ports: Ports): Descriptor<Route, VppRoute> {
  const { fib, interfaces } = ports;
  return {
    name: 'route',
    keyPrefix: PREFIX.route,
    retrieveAfter: ['pod-interface', 'tunnel'],

    validate(key, v) {
      check(key, [
        !isVrf(v.vrf) && `vrf ${v.vrf} out of range`,
        !isCidr(v.dst) && `dst ${JSON.stringify(v.dst)} is not a CIDR`,
        v.via.type === 'interface' &&
          v.via.gateway !== undefined &&
          !isIp(v.via.gateway) &&
          `gateway ${JSON.stringify(v.via.gateway)} is not an IP`,
        isCidr(v.dst) && key !== routeKey(v.vrf, v.dst) && 'key does not match vrf and dst',
      ]);
    },

    dependencies: (_key, v) => routeDependencies(v),

    async create(_key, v, ctx) {
      const r = resolve(v, ctx);
      await fib.addRoute(r);
      return r;
    },

    async update(_key, _old, v, _meta, ctx) {
      const r = resolve(v, ctx);
      await fib.addRoute(r);
      return r;
    },

    async delete(_key, v) {
      await fib.deleteRoute(v.vrf, v.dst);
    },

    async retrieve(ctx) {
      // Interfaces netloom tagged, by sw_if_index → item key (for naming stale routes).
      const owned = new Map<number, string>();
      for (const itf of await interfaces.list()) {
        if (itf.tag.startsWith(PREFIX.podInterface) || itf.tag.startsWith(PREFIX.tunnel))
          owned.set(itf.swIfIndex, itf.tag);
      }
      const barred = await vrfSubnets(ports);
      const vrfs = new Set([0, ...[...ctx.desired.values()].map((v) => v.vrf)]);
      const out: Retrieved<Route, VppRoute>[] = [];
      for (const vrf of vrfs) {
        for (const ipv6 of [false, true]) {
          for (const found of await fib.routes(vrf, ipv6).catch(() => [])) {
            // VPP's own entries (adjacency, interface, special…) are never netloom's.
            if (found.source !== API_SOURCE) continue;
            const key = routeKey(vrf, found.dst);
            const want = ctx.desired.get(key);
            const target =
              want?.via.type === 'interface' ? ctx.metadata<RouteTargetMeta>(want.via.interface) : undefined;
            const expected = want === undefined ? undefined : vppRoute(want, target);
            if (want !== undefined && expected !== undefined && samePaths(expected, found)) {
              out.push({ key, value: want, metadata: found, origin: 'netloom' });
            } else if (
              found.paths.length > 0 &&
              found.paths.every((p) => p.type === 'via' && owned.has(p.swIfIndex ?? -1))
            ) {
              const p = found.paths[0]!;
              const via: NextHop = {
                type: 'interface',
                interface: owned.get(p.swIfIndex!)!,
                ...(p.nextHop ? { gateway: p.nextHop } : {}),
              };
              out.push({ key, value: { vrf, dst: found.dst, via }, metadata: found, origin: 'netloom' });
            } else if (
              vrf === 0 &&
              barred.has(found.dst) &&
              found.paths.length === 1 &&
              found.paths[0]!.type === 'drop'
            ) {
              out.push({
                key,
                value: { vrf, dst: found.dst, via: { type: 'drop' } },
                metadata: found,
                origin: 'netloom',
              });
            }
          }
        }
      }
      return out;
    },
  };
}
