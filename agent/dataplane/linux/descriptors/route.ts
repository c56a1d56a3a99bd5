// Routes in the node's namespace, marked with netloom's protocol number. A route through an
// interface item takes the device (and, for tunnels, the onlink next hop, which wins over the
// value's gateway) from that item's metadata: `routeDevice` / `routeGateway`.
// `host` is a local route (delivered to the node), `drop` a blackhole.
import { PREFIX, routeKey } from '../../../items/keys.ts';
import { routeDependencies } from '../../../items/dependencies.ts';
import type { NextHop, Route } from '../../../items/values.ts';
import type { ApplyContext, Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { DataPlaneError } from '../../../scheduler/errors.ts';
import type { KernelRoute, RoutePort } from '../ports.ts';
import { check, isCidr, isIp, vrfProblem } from '../validate.ts';
import { wiredRouteKey } from './pod-interface.ts';

/** What an interface item's metadata offers to routes through it. */
export interface RouteTargetMeta {
  routeDevice: string;
  routeGateway?: string;
  /** Host prefixes the interface's own creation already routed to routeDevice (a pod's veth). */
  hostRoutes?: string[];
}

/** Whether the interface's creation installed exactly this route already (no process needed). */
function installedWith(r: KernelRoute, target: RouteTargetMeta | undefined): boolean {
  return (
    target?.hostRoutes?.includes(r.dst) === true &&
    r.type === 'unicast' &&
    r.table === 'main' &&
    r.dev === target.routeDevice &&
    r.gateway === undefined
  );
}

/** The kernel route for a Route value, given its interface's metadata (pure). */
export function kernelRoute(v: Route, target: RouteTargetMeta | undefined): KernelRoute | undefined {
  switch (v.via.type) {
    case 'drop':
      return { dst: v.dst, type: 'blackhole', table: 'main' };
    case 'host':
      return { dst: v.dst, type: 'local', table: 'local', dev: 'lo' };
    case 'interface': {
      if (!target) return undefined;
      // Through a tunnel the driver's own overlay next hop is used: the peer's pod gateway
      // (via.gateway) is where the packet ends up anyway, and only the derived next hop has
      // a neighbour entry on the VXLAN device.
      const gateway = target.routeGateway ?? v.via.gateway;
      return {
        dst: v.dst,
        type: 'unicast',
        table: 'main',
        dev: target.routeDevice,
        ...(gateway ? { gateway, onlink: true } : {}),
      };
    }
  }
}

const sameRoute = (a: KernelRoute, b: KernelRoute): boolean =>
  a.dst === b.dst &&
  a.type === b.type &&
  a.table === b.table &&
  a.dev === b.dev &&
  a.gateway === b.gateway &&
  !!a.onlink === !!b.onlink;

function resolve(v: Route, ctx: ApplyContext): KernelRoute {
  const target = v.via.type === 'interface' ? ctx.metadata<RouteTargetMeta>(v.via.interface) : undefined;
  const r = kernelRoute(v, target);
  if (!r)
    throw new DataPlaneError(
      `route ${v.dst}: interface ${v.via.type === 'interface' ? v.via.interface : ''} has no device yet`,
      { retriable: true },
    );
  return r;
}

export function routeDescriptor(
  ports: { routes: RoutePort },
  wiredRoutes: Set<string> = new Set(),
): Descriptor<Route, KernelRoute> {
  return {
    name: 'route',
    keyPrefix: PREFIX.route,
    retrieveAfter: ['pod-interface', 'tunnel'],

    validate(key, v) {
      check(key, [
        vrfProblem(v.vrf),
        !isCidr(v.dst) && `dst ${JSON.stringify(v.dst)} is not a CIDR`,
        v.via.type === 'interface' &&
          v.via.gateway !== undefined &&
          !isIp(v.via.gateway) &&
          `gateway ${JSON.stringify(v.via.gateway)} is not an IP`,
      ]);
    },

    dependencies: (_key, v) => routeDependencies(v),
    // Routes of one transaction share one node-side process (tools.ts coalesces a tick's batches).
    concurrent: true,

    async create(_key, v, ctx) {
      const r = resolve(v, ctx);
      // A pod's /32 came with its veth: the wiring routed it in the same process. Claimed once:
      // a later create of the same route (a repair after someone deleted it) runs for real.
      const target = v.via.type === 'interface' ? ctx.metadata<RouteTargetMeta>(v.via.interface) : undefined;
      const claimed = installedWith(r, target) && wiredRoutes.delete(wiredRouteKey(r.dev ?? '', r.dst));
      if (!claimed) await ports.routes.replace(r);
      return r;
    },

    async update(_key, _old, v, meta, ctx) {
      const r = resolve(v, ctx);
      await ports.routes.replace(r);
      if (meta && meta.table !== r.table) await ports.routes.remove(meta);
      return r;
    },

    async delete(_key, v, meta) {
      await ports.routes.remove(meta ?? { dst: v.dst, table: v.via.type === 'host' ? 'local' : 'main' });
    },

    async retrieve(ctx) {
      const found = new Map((await ports.routes.list()).map((r) => [`${r.table}|${r.dst}`, r]));
      const devices = new Map<string, string>(); // device → interface item key, to name what is found
      const out: Retrieved<Route, KernelRoute>[] = [];
      for (const [key, v] of ctx.desired) {
        const target =
          v.via.type === 'interface' ? ctx.metadata<RouteTargetMeta>(v.via.interface) : undefined;
        if (v.via.type === 'interface' && target) devices.set(target.routeDevice, v.via.interface);
        const want = kernelRoute(v, target);
        const got = want && found.get(`${want.table}|${want.dst}`);
        if (want && got && sameRoute(want, got)) {
          out.push({ key, value: v, metadata: got, origin: 'netloom' });
          found.delete(`${want.table}|${want.dst}`);
        }
      }
      const reported = new Set(out.map((r) => r.key));
      for (const r of found.values()) {
        const key = routeKey(0, r.dst);
        if (reported.has(key)) continue; // the same prefix in another table: left alone
        reported.add(key);
        out.push({
          key,
          value: { vrf: 0, dst: r.dst, via: nextHopOf(r, devices) },
          metadata: r,
          origin: 'netloom',
        });
      }
      return out;
    },
  };
}

/** A Route's next hop as read from the kernel (device names mapped back to item keys). */
function nextHopOf(r: KernelRoute, devices: ReadonlyMap<string, string>): NextHop {
  if (r.type === 'blackhole') return { type: 'drop' };
  if (r.type === 'local') return { type: 'host' };
  const iface = devices.get(r.dev ?? '') ?? `device:${r.dev ?? ''}`;
  return { type: 'interface', interface: iface, ...(r.gateway ? { gateway: r.gateway } : {}) };
}
