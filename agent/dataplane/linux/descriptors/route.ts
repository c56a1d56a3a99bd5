// Routes in the node's namespace, marked with netloom's protocol number. A route through an
// interface item takes the device (and, for tunnels, the onlink next hop, which wins over the
// value's gateway) from that item's metadata: `routeDevice` / `routeGateway`.
// `host` is a local route (delivered to the node), `drop` an unreachable route (the packet is
// dropped and its sender gets an ICMP error at once, rather than waiting for a timeout; retrieve
// tells it apart from a blackhole, so a blackhole left by an older agent is replaced).
// VRF 0 routes go into main (`host` into local); VRF N's into its table (naming.ts vrfTable),
// `host` too: a local route works in any table.
import { PREFIX, routeKey } from '../../../items/keys.ts';
import { routeDependencies } from '../../../items/dependencies.ts';
import type { NextHop, Route } from '../../../items/values.ts';
import type { ApplyContext, Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { DataPlaneError } from '../../../scheduler/errors.ts';
import { DEFAULT_NAMES, vrfOfTable, vrfTable, type LinuxNames } from '../naming.ts';
import type { KernelRoute, RoutePort, RouteTable } from '../ports.ts';
import { check, isCidr, isIp, vrfRangeProblem } from '../validate.ts';
import { wiredRouteKey } from './pod-interface.ts';

/** What an interface item's metadata offers to routes through it. */
export interface RouteTargetMeta {
  routeDevice: string;
  routeGateway?: string;
  /** Host prefixes the interface's own creation already routed to routeDevice (a pod's veth). */
  hostRoutes?: string[];
  /** The table they went into (absent: main). */
  hostTable?: RouteTable;
}

/** Whether the interface's creation installed exactly this route already (no process needed). */
function installedWith(r: KernelRoute, target: RouteTargetMeta | undefined): boolean {
  return (
    target?.hostRoutes?.includes(r.dst) === true &&
    r.type === 'unicast' &&
    r.table === (target.hostTable ?? 'main') &&
    r.dev === target.routeDevice &&
    r.gateway === undefined
  );
}

/** The kernel route for a Route value, given its interface's metadata (pure). */
export function kernelRoute(
  v: Route,
  target: RouteTargetMeta | undefined,
  names: LinuxNames = DEFAULT_NAMES,
): KernelRoute | undefined {
  const table = vrfTable(names, v.vrf);
  switch (v.via.type) {
    case 'drop':
      return { dst: v.dst, type: 'unreachable', table };
    case 'host':
      return { dst: v.dst, type: 'local', table: v.vrf === 0 ? 'local' : table, dev: 'lo' };
    case 'interface': {
      if (!target) return undefined;
      // Through a tunnel the driver's own overlay next hop is used: the peer's pod gateway
      // (via.gateway) is where the packet ends up anyway, and only the derived next hop has
      // a neighbour entry on the VXLAN device.
      const gateway = target.routeGateway ?? v.via.gateway;
      return {
        dst: v.dst,
        type: 'unicast',
        table,
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

function resolve(v: Route, ctx: ApplyContext, names: LinuxNames): KernelRoute {
  const target = v.via.type === 'interface' ? ctx.metadata<RouteTargetMeta>(v.via.interface) : undefined;
  const r = kernelRoute(v, target, names);
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
  names: LinuxNames = DEFAULT_NAMES,
): Descriptor<Route, KernelRoute> {
  /** The VRF a found route is in; undefined for a table outside netloom's (never touched). */
  const vrfOf = (r: KernelRoute): number | undefined =>
    typeof r.table === 'number' ? vrfOfTable(names, r.table) : 0;
  return {
    name: 'route',
    keyPrefix: PREFIX.route,
    retrieveAfter: ['pod-interface', 'tunnel'],

    validate(key, v) {
      check(key, [
        ...vrfRangeProblem(names, v.vrf, [v.dst]),
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
      const r = resolve(v, ctx, names);
      // A pod's /32 came with its veth: the wiring routed it in the same process. Claimed once:
      // a later create of the same route (a repair after someone deleted it) runs for real.
      const target = v.via.type === 'interface' ? ctx.metadata<RouteTargetMeta>(v.via.interface) : undefined;
      const claimed = installedWith(r, target) && wiredRoutes.delete(wiredRouteKey(r.dev ?? '', r.dst));
      if (!claimed) await ports.routes.replace(r);
      return r;
    },

    async update(_key, _old, v, meta, ctx) {
      const r = resolve(v, ctx, names);
      await ports.routes.replace(r);
      if (meta && meta.table !== r.table) await ports.routes.remove(meta);
      return r;
    },

    async delete(_key, v, meta) {
      const table = v.vrf === 0 && v.via.type === 'host' ? 'local' : vrfTable(names, v.vrf);
      await ports.routes.remove(meta ?? { dst: v.dst, table });
    },

    async retrieve(ctx) {
      const found = new Map((await ports.routes.list()).map((r) => [`${r.table}|${r.dst}`, r]));
      const devices = new Map<string, string>(); // device → interface item key, to name what is found
      const out: Retrieved<Route, KernelRoute>[] = [];
      for (const [key, v] of ctx.desired) {
        const target =
          v.via.type === 'interface' ? ctx.metadata<RouteTargetMeta>(v.via.interface) : undefined;
        if (v.via.type === 'interface' && target) devices.set(target.routeDevice, v.via.interface);
        const want = kernelRoute(v, target, names);
        const got = want && found.get(`${want.table}|${want.dst}`);
        if (want && got && sameRoute(want, got)) {
          out.push({ key, value: v, metadata: got, origin: 'netloom' });
          found.delete(`${want.table}|${want.dst}`);
        }
      }
      const reported = new Set(out.map((r) => r.key));
      for (const r of found.values()) {
        const vrf = vrfOf(r);
        if (vrf === undefined) continue; // another table with netloom's mark: not a route item's
        const key = routeKey(vrf, r.dst);
        if (reported.has(key)) continue; // the same prefix in another table: left alone
        reported.add(key);
        out.push({
          key,
          value: { vrf, dst: r.dst, via: nextHopOf(r, devices) },
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
  if (r.type === 'unreachable') return { type: 'drop' };
  // A blackhole is not what `drop` makes: reported as a device-less interface, so it differs.
  if (r.type === 'blackhole') return { type: 'interface', interface: 'blackhole' };
  if (r.type === 'local') return { type: 'host' };
  const iface = devices.get(r.dev ?? '') ?? `device:${r.dev ?? ''}`;
  return { type: 'interface', interface: iface, ...(r.gateway ? { gateway: r.gateway } : {}) };
}
