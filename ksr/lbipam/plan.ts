// The allocator's decisions, as a pure function of three inputs: the lbipam/ records in etcd (the
// truth about who holds which address), the services as Kubernetes shows them, and the pools.
// The same function serves every pass, a new leader's first one included, so recovery after a
// crash is not a separate code path: records are kept and re-asserted into status, records of
// services that are gone or no longer LoadBalancers are released, a status address without a
// record is claimed back when it is still free, and what is missing is allocated.
import { canonicalIp, type LbPools } from './pools.ts';
import { DEFAULT_POOL, ownerOf, type LbService } from './service.ts';

/** ip → owner (`<namespace>/<service>`), as read from lbipam/. */
export type LbRecords = ReadonlyMap<string, string>;

export type LbAction =
  /** Delete lbipam/<ip> (after any status still showing it was cleared). */
  | { type: 'release'; ip: string; owner: string }
  /** Create lbipam/<ip> create-only: the guard against handing one address out twice. */
  | { type: 'claim'; ip: string; service: LbService; pool: string }
  /** Write status.loadBalancer.ingress (empty: clear it). */
  | { type: 'status'; service: LbService; ips: string[] }
  | { type: 'event'; service: LbService; warning: boolean; reason: string; message: string };

export const REASONS = {
  allocated: 'LoadBalancerIPAllocated',
  conflict: 'LoadBalancerIPConflict',
  exhausted: 'LoadBalancerPoolExhausted',
  noPool: 'LoadBalancerPoolNotFound',
} as const;

type Claim = Extract<LbAction, { type: 'claim' }>;

/** Why a service gets no address (an event), or the address and its pool. */
type Choice = { ip: string; pool: string } | { reason: string; message: string };

const byAge = (a: LbService, b: LbService): number =>
  a.created < b.created ? -1 : a.created > b.created ? 1 : ownerOf(a) < ownerOf(b) ? -1 : 1;

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

class Planner {
  private readonly pools: LbPools;
  private readonly services: ReadonlyMap<string, LbService>;
  /** ip → owner once this plan is carried out. */
  readonly held: Map<string, string>;
  /** owner → the one address it keeps or gets. */
  readonly assigned = new Map<string, string>();
  readonly clears: LbAction[] = [];
  readonly releases: LbAction[] = [];
  readonly claims: Claim[] = [];
  readonly warnings = new Map<string, LbAction>();

  constructor(records: LbRecords, services: ReadonlyMap<string, LbService>, pools: LbPools) {
    this.pools = pools;
    this.services = services;
    this.held = new Map(records);
  }

  private warn(s: LbService, reason: string, message: string): void {
    this.warnings.set(ownerOf(s), { type: 'event', service: s, warning: true, reason, message });
  }

  private release(ip: string, owner: string): void {
    this.releases.push({ type: 'release', ip, owner });
    this.held.delete(ip);
  }

  /** The address a service asks for, if it can have it. */
  private requested(s: LbService, text: string): Choice {
    const ip = canonicalIp(text);
    if (ip === undefined)
      return { reason: REASONS.conflict, message: `${JSON.stringify(text)} is not an IP address` };
    const pool = this.pools.poolOf(ip);
    if (pool === undefined) return { reason: REASONS.conflict, message: `${ip} is in no netloom pool` };
    if (s.pool !== undefined && s.pool !== pool)
      return { reason: REASONS.conflict, message: `${ip} is in pool ${pool}, not in pool ${s.pool}` };
    const owner = this.held.get(ip);
    if (owner !== undefined && owner !== ownerOf(s))
      return { reason: REASONS.conflict, message: `${ip} is held by service ${owner}` };
    return { ip, pool };
  }

  /** Step 1: each owner keeps at most one of its records, and only while it wants one. */
  keepOrRelease(records: LbRecords): void {
    const byOwner = new Map<string, string[]>();
    for (const [ip, owner] of records) byOwner.set(owner, [...(byOwner.get(owner) ?? []), ip]);
    for (const [owner, ips] of [...byOwner].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const s = this.services.get(owner);
      const keep = s?.wants ? this.keepOne(s, ips.sort()) : undefined;
      for (const ip of ips) if (ip !== keep) this.release(ip, owner);
      if (keep !== undefined) this.assigned.set(owner, keep);
    }
  }

  private keepOne(s: LbService, ips: string[]): string | undefined {
    if (s.requested === undefined) return ips.find((ip) => s.statusIps.includes(ip)) ?? ips[0];
    const want = canonicalIp(s.requested);
    if (want !== undefined && ips.includes(want)) return want;
    const choice = this.requested(s, s.requested);
    // The request changed to an address it can have: move. Otherwise keep serving on the old one.
    if ('ip' in choice) return undefined;
    this.warn(s, choice.reason, `${choice.message}; keeping ${ips[0]}`);
    return ips[0];
  }

  /** Step 2: services left without an address choose one; those naming an address go first. */
  allocate(ordered: readonly LbService[]): void {
    const need = ordered.filter((s) => s.wants && !this.assigned.has(ownerOf(s)));
    const named = need.filter((s) => s.requested !== undefined || this.adoptable(s) !== undefined);
    for (const s of [...named, ...need.filter((s) => !named.includes(s))]) {
      const choice = this.choose(s);
      if ('reason' in choice) {
        this.warn(s, choice.reason, choice.message);
        continue;
      }
      this.held.set(choice.ip, ownerOf(s));
      this.assigned.set(ownerOf(s), choice.ip);
      this.claims.push({ type: 'claim', ip: choice.ip, service: s, pool: choice.pool });
    }
  }

  /** An address the status shows, in the service's pool and free: its record was lost. */
  private adoptable(s: LbService): string | undefined {
    const pool = s.pool ?? DEFAULT_POOL;
    return s.statusIps
      .map((ip) => canonicalIp(ip))
      .find((ip) => ip !== undefined && this.pools.poolOf(ip) === pool && !this.held.has(ip));
  }

  private choose(s: LbService): Choice {
    if (s.requested !== undefined) return this.requested(s, s.requested);
    const pool = s.pool ?? DEFAULT_POOL;
    const adopted = this.adoptable(s);
    if (adopted !== undefined) return { ip: adopted, pool };
    if (!this.pools.has(pool)) return { reason: REASONS.noPool, message: `no pool named ${pool}` };
    const ip = this.pools.firstFree(pool, new Set(this.held.keys()), s.family);
    if (ip === undefined)
      return {
        reason: REASONS.exhausted,
        message: `pool ${pool} has no free ${s.family === 6 ? 'IPv6 ' : s.family === 4 ? 'IPv4 ' : ''}address`,
      };
    return { ip, pool };
  }

  /** Step 3: status follows the records: the assigned address, or none. */
  statuses(ordered: readonly LbService[]): LbAction[] {
    const sets: LbAction[] = [];
    for (const s of ordered) {
      const ip = s.wants ? this.assigned.get(ownerOf(s)) : undefined;
      const ips = ip === undefined ? [] : [ip];
      if (sameList(s.statusIps, ips)) continue;
      // Clearing goes before the releases: an address stops being advertised before it is free.
      (ips.length === 0 ? this.clears : sets).push({ type: 'status', service: s, ips });
    }
    return sets;
  }
}

/**
 * What to do, in an order safe to carry out one action after another: clear statuses, release
 * records, claim records, set statuses, then events. The executor skips the remaining actions
 * of a service after one of its actions failed.
 */
export function planLb(
  records: LbRecords,
  services: ReadonlyMap<string, LbService>,
  pools: LbPools,
): LbAction[] {
  const p = new Planner(records, services, pools);
  const ordered = [...services.values()].sort(byAge);
  p.keepOrRelease(records);
  p.allocate(ordered);
  const sets = p.statuses(ordered);
  const allocated = p.claims.map((c): LbAction => ({
    type: 'event',
    service: c.service,
    warning: false,
    reason: REASONS.allocated,
    message: `assigned ${c.ip} from pool ${c.pool}`,
  }));
  return [...p.clears, ...p.releases, ...p.claims, ...sets, ...allocated, ...p.warnings.values()];
}
