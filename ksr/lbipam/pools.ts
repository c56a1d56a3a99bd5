// LoadBalancer address pools (netloom's take on Contrail's floating-IP pools): named sets of
// CIDRs and first-last ranges, given to KSR as `--lb-pools default=192.0.2.0/28,203.0.113.8-203.0.113.15;dmz=…`
// or as a mapping in the config file. Pure: parsing, membership, and the lowest free address.
import {
  bigIntToIp,
  broadcastOf,
  familyOf,
  ipToBigInt,
  isIp,
  networkOf,
  splitCidr,
  type Family,
} from '../../lib/cidr.ts';
import { ConfigError } from '../../lib/errors.ts';

const FIELD = 'lbPools';
const POOL_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** One contiguous stretch of a pool, bounds included. */
export interface PoolRange {
  first: bigint;
  last: bigint;
  family: Family;
  /** As the operator wrote it, for messages. */
  text: string;
}

export interface Pool {
  name: string;
  ranges: PoolRange[];
}

/** What the config accepts: the flag's text, or a file's mapping of name → list (or comma text). */
export type PoolsSpec = string | Record<string, string | string[]>;

/** The canonical text of an address (IPv6 in RFC 5952 form), so one address is one etcd key. */
export function canonicalIp(ip: string): string | undefined {
  if (!isIp(ip)) return undefined;
  return bigIntToIp(ipToBigInt(ip), familyOf(ip)!);
}

function parseRange(text: string, pool: string): PoolRange {
  const bad = (why: string): ConfigError =>
    new ConfigError(FIELD, `pool ${pool}: ${JSON.stringify(text)} ${why}`);
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const [a, b] = [text.slice(0, dash).trim(), text.slice(dash + 1).trim()];
    if (!isIp(a) || !isIp(b)) throw bad('is not a range of two addresses (first-last)');
    const family = familyOf(a)!;
    if (familyOf(b) !== family) throw bad('mixes IPv4 and IPv6');
    const [first, last] = [ipToBigInt(a), ipToBigInt(b)];
    if (first > last) throw bad('ends before it starts');
    return { first, last, family, text };
  }
  const c = splitCidr(text, { bare: false });
  if (c === undefined) throw bad('is neither a CIDR (a.b.c.d/n) nor a range (first-last)');
  const network = networkOf(text);
  if (network !== `${canonicalIp(c.ip) ?? c.ip}/${c.length}`)
    throw bad(`has host bits set; did you mean ${network}?`);
  // Every address of a CIDR is usable, network and broadcast included (they are not on a link
  // here: LoadBalancer addresses are routed /32s); a range excludes what it should not hand out.
  return {
    first: ipToBigInt(c.ip),
    last: ipToBigInt(broadcastOf(text)),
    family: c.family,
    text,
  };
}

function items(value: string | string[]): string[] {
  const list = Array.isArray(value) ? value : value.split(',');
  return list.map((s) => s.trim()).filter((s) => s !== '');
}

/** Parses and checks pools; throws ConfigError (field lbPools) naming the pool and the entry. */
export function parsePools(spec: PoolsSpec): Pool[] {
  const entries: [string, string | string[]][] =
    typeof spec === 'string'
      ? spec
          .split(';')
          .map((s) => s.trim())
          .filter((s) => s !== '')
          .map((s) => {
            const eq = s.indexOf('=');
            if (eq <= 0) throw new ConfigError(FIELD, `${JSON.stringify(s)} is not name=cidr|first-last,…`);
            return [s.slice(0, eq).trim(), s.slice(eq + 1)];
          })
      : Object.entries(spec);
  const pools: Pool[] = [];
  for (const [name, value] of entries) {
    if (!POOL_NAME.test(name))
      throw new ConfigError(FIELD, `pool name ${JSON.stringify(name)}: use a DNS label (a-z, 0-9, '-')`);
    if (pools.some((p) => p.name === name)) throw new ConfigError(FIELD, `pool ${name} is given twice`);
    const ranges = items(value).map((t) => parseRange(t, name));
    if (ranges.length === 0) throw new ConfigError(FIELD, `pool ${name} has no addresses`);
    pools.push({ name, ranges });
  }
  checkOverlaps(pools);
  return pools;
}

/** An address in two places would have two owners (or be counted twice): refuse it. */
function checkOverlaps(pools: readonly Pool[]): void {
  const all = pools.flatMap((p) => p.ranges.map((r) => ({ pool: p.name, r })));
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const [a, b] = [all[i]!, all[j]!];
      if (a.r.family === b.r.family && a.r.first <= b.r.last && b.r.first <= a.r.last)
        throw new ConfigError(FIELD, `${a.r.text} (pool ${a.pool}) overlaps ${b.r.text} (pool ${b.pool})`);
    }
  }
}

/** The configured pools, queried by the allocator. */
export class LbPools {
  readonly pools: readonly Pool[];

  constructor(pools: readonly Pool[]) {
    this.pools = pools;
  }

  get empty(): boolean {
    return this.pools.length === 0;
  }

  has(name: string): boolean {
    return this.pools.some((p) => p.name === name);
  }

  /** The pool holding a (canonical) address; undefined outside every pool. */
  poolOf(ip: string): string | undefined {
    if (!isIp(ip)) return undefined;
    const family = familyOf(ip);
    const n = ipToBigInt(ip);
    return this.pools.find((p) => p.ranges.some((r) => r.family === family && n >= r.first && n <= r.last))
      ?.name;
  }

  /**
   * The lowest address of `pool` (of `family`, when given) that `held` does not contain, ranges
   * in the order written. Lowest-first keeps the choice the same whichever leader makes it.
   * Each range costs at most (held addresses in it + 1) steps, however large it is.
   */
  firstFree(pool: string, held: ReadonlySet<string>, family?: Family): string | undefined {
    for (const r of this.pools.find((p) => p.name === pool)?.ranges ?? []) {
      if (family !== undefined && r.family !== family) continue;
      for (let n = r.first; n <= r.last; n++) {
        const ip = bigIntToIp(n, r.family);
        if (!held.has(ip)) return ip;
      }
    }
    return undefined;
  }
}
