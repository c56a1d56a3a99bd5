// Pure planning: which `ip -batch` lines take an interface and which give it back, computed
// from the recorded state and the live snapshot. Every plan is idempotent against the live
// state (it only touches what differs), so the same function serves the first attempt, the
// retries until the kernel shows the result, and recovery after a crash at any step.
import type { Recorded, RecordedAddress, RecordedRoute, Snapshot } from './model.ts';

/** Routes the kernel creates by itself from addresses and link state; never added by hand. */
const isKernelRoute = (r: RecordedRoute): boolean => r.protocol === 'kernel';
/** Learned from router advertisements: the kernel relearns them, with their lifetimes. */
const isLearnedRoute = (r: RecordedRoute): boolean => r.protocol === 'ra' || r.protocol === 'redirect';
/** SLAAC addresses come back from router advertisements; DHCPv4 leases are restored statically. */
const isLearnedAddress = (a: RecordedAddress): boolean => a.dynamic && a.family === 'inet6';

export function addressKey(a: RecordedAddress): string {
  return [a.family, a.address, a.peer ?? ''].join('|');
}

export function routeKey(r: RecordedRoute): string {
  return [r.family, r.table, r.type, r.dst, r.gateway, r.metric, r.src, r.scope, r.protocol].join('|');
}

function missing<T>(expected: readonly T[], current: readonly T[], key: (t: T) => string): T[] {
  const have = new Set(current.map(key));
  return expected.filter((t) => !have.has(key(t)));
}

/** ip prints "default" for both families; in a batch line the family must be explicit. */
function dstArg(r: RecordedRoute): string {
  if (r.dst !== 'default') return r.dst;
  return r.family === 'inet6' ? '::/0' : '0.0.0.0/0';
}

function routeSelector(r: RecordedRoute, dev: string): string[] {
  return [
    ...(r.type !== 'unicast' ? [r.type] : []),
    dstArg(r),
    ...(r.gateway ? ['via', r.gateway] : []),
    'dev',
    dev,
    'table',
    String(r.table),
    ...(r.family === 'inet6' || r.metric !== 0 ? ['metric', String(r.metric)] : []),
  ];
}

export function routeAddLine(r: RecordedRoute, dev: string): string {
  return [
    'route replace',
    ...routeSelector(r, dev),
    'proto',
    r.protocol,
    ...(r.family === 'inet' ? ['scope', r.scope] : []),
    ...(r.src ? ['src', r.src] : []),
    ...(r.onlink ? ['onlink'] : []),
    ...(r.pref ? ['pref', r.pref] : []),
  ].join(' ');
}

export function routeDelLine(r: RecordedRoute, dev: string): string {
  return ['route del', ...routeSelector(r, dev)].join(' ');
}

export function addressAddLine(a: RecordedAddress, dev: string): string {
  return [
    'address replace',
    a.address,
    ...(a.peer ? ['peer', a.peer] : []),
    'dev',
    dev,
    ...(a.scope !== 'global' ? ['scope', a.scope] : []),
    ...(a.broadcast ? ['broadcast', a.broadcast] : []),
    ...(a.label && a.label !== dev ? ['label', a.label] : []),
    ...a.flags,
  ].join(' ');
}

/** What the kernel must show once the interface is given back. */
export function expectedAfterRelease(rec: Recorded): {
  addresses: RecordedAddress[];
  routes: RecordedRoute[];
} {
  return {
    addresses: rec.addresses.filter((a) => !isLearnedAddress(a)),
    routes: rec.routes.filter((r) => !isLearnedRoute(r)),
  };
}

export interface ReleaseDiff {
  addresses: RecordedAddress[];
  routes: RecordedRoute[];
}

/** The recorded addresses and routes the live interface lacks (kernel routes included). */
export function releaseDiff(rec: Recorded, live: Snapshot): ReleaseDiff {
  const want = expectedAfterRelease(rec);
  return {
    addresses: missing(want.addresses, live.addresses, addressKey),
    routes: missing(want.routes, live.routes, routeKey),
  };
}

export function isReleased(rec: Recorded, live: Snapshot): boolean {
  const d = releaseDiff(rec, live);
  return (
    d.addresses.length === 0 &&
    d.routes.length === 0 &&
    live.link.adminUp === rec.adminUp &&
    live.link.mtu === rec.mtu &&
    live.link.mac.toLowerCase() === rec.mac.toLowerCase()
  );
}

/** Link properties first (MAC and MTU while down), then admin state. */
export function linkRestoreLines(rec: Recorded, live: Snapshot): string[] {
  const lines: string[] = [];
  const dev = rec.name;
  const macDiffers = rec.mac !== '' && live.link.mac.toLowerCase() !== rec.mac.toLowerCase();
  if (macDiffers && live.link.adminUp) lines.push(`link set dev ${dev} down`);
  if (macDiffers) lines.push(`link set dev ${dev} address ${rec.mac}`);
  if (live.link.mtu !== rec.mtu) lines.push(`link set dev ${dev} mtu ${rec.mtu}`);
  if (rec.adminUp && (macDiffers || !live.link.adminUp)) lines.push(`link set dev ${dev} up`);
  return lines;
}

/**
 * Addresses the live interface lacks, in an order that recreates the kernel's listing: IPv4
 * appends (the first of a subnet stays primary), IPv6 lists the newest first.
 */
export function addressRestoreLines(rec: Recorded, live: Snapshot): string[] {
  const todo = releaseDiff(rec, live).addresses;
  const v4 = todo.filter((a) => a.family === 'inet');
  const v6 = todo.filter((a) => a.family === 'inet6').reverse();
  return [...v4, ...v6].map((a) => addressAddLine(a, rec.name));
}

/**
 * Routes the live interface lacks, kernel routes left to the kernel. Routes without a gateway
 * go first: a gateway route needs its nexthop's subnet to be reachable.
 */
export function routeRestoreLines(rec: Recorded, live: Snapshot): string[] {
  const todo = releaseDiff(rec, live).routes.filter((r) => !isKernelRoute(r));
  const ordered = [...todo.filter((r) => !r.gateway), ...todo.filter((r) => r.gateway)];
  return ordered.map((r) => routeAddLine(r, rec.name));
}

/** Step 1 of a steal: the routes nobody else will remove (kernel routes go with addresses and link). */
export function stealRouteLines(live: Snapshot): string[] {
  return live.routes.filter((r) => !isKernelRoute(r)).map((r) => routeDelLine(r, live.link.name));
}

export function stealAddressLines(live: Snapshot): string[] {
  return live.addresses.length > 0 ? [`address flush dev ${live.link.name}`] : [];
}

export function stealLinkLines(live: Snapshot): string[] {
  return live.link.adminUp ? [`link set dev ${live.link.name} down`] : [];
}

/** Taken: nothing left for the kernel to route through it. */
export function isStolen(live: Snapshot): boolean {
  return !live.link.adminUp && live.addresses.length === 0 && live.routes.length === 0;
}
