// Routes with iproute2, each marked with netloom's protocol number: retrieve lists only those,
// and a delete names the protocol so a route someone else added to the same prefix survives.
import { isV6, normalizeDst, type LinuxNames } from '../naming.ts';
import type { KernelRoute, RoutePort, RouteTable } from '../ports.ts';
import type { KernelTools } from '../tools.ts';

interface IpRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
  flags?: string[];
}

/** The `ip route replace …` line for a route (pure, for golden tests). */
export function replaceLine(r: KernelRoute, proto: number): string {
  const parts = ['route replace'];
  if (r.type !== 'unicast') parts.push(r.type);
  parts.push(r.dst);
  if (r.gateway) parts.push('via', r.gateway);
  if (r.dev) parts.push('dev', r.dev);
  if (r.onlink) parts.push('onlink');
  if (r.type === 'unicast' && !r.gateway) parts.push('scope link');
  parts.push('table', String(r.table), 'proto', String(proto));
  return parts.join(' ');
}

/** A table as `ip -j route show table all` names it: absent for main, a name or a number. */
function parseTable(t: string | undefined): RouteTable | undefined {
  if (t === undefined || t === 'main') return 'main';
  if (t === 'local') return 'local';
  if (t === 'default') return 253;
  const n = Number(t);
  return Number.isInteger(n) && n > 0 ? n : undefined; // a table named in rt_tables: not netloom's
}

const SPECIAL = new Set(['blackhole', 'unreachable', 'local']);

/** A listed route; undefined when it is in a table netloom cannot address by number. */
export function parseRoute(r: IpRoute, v6: boolean): KernelRoute | undefined {
  const type = SPECIAL.has(r.type ?? '') ? (r.type as KernelRoute['type']) : 'unicast';
  const table = parseTable(r.table);
  if (table === undefined) return undefined;
  return {
    dst: normalizeDst(r.dst, v6),
    type,
    table,
    ...(r.dev !== undefined && type !== 'blackhole' && type !== 'unreachable' ? { dev: r.dev } : {}),
    ...(r.gateway !== undefined ? { gateway: r.gateway } : {}),
    ...(r.flags?.includes('onlink') ? { onlink: true } : {}),
  };
}

export class KernelRoutes implements RoutePort {
  private readonly tools: KernelTools;
  private readonly hostNetns: string | undefined;
  private readonly proto: number;

  constructor(tools: KernelTools, hostNetns: string | undefined, names: LinuxNames) {
    this.tools = tools;
    this.hostNetns = hostNetns;
    this.proto = names.routeProto;
  }

  async replace(r: KernelRoute): Promise<void> {
    await this.tools.batch(this.hostNetns, [{ cmd: replaceLine(r, this.proto) }]);
  }

  async remove(r: Pick<KernelRoute, 'dst' | 'table'>): Promise<void> {
    const cmd = `route del ${r.dst} table ${r.table} proto ${this.proto}`;
    await this.tools.batch(this.hostNetns, [{ cmd, ok: ['missing'] }]);
  }

  async list(): Promise<KernelRoute[]> {
    // `table all` lists both address families in one answer.
    const found = await this.tools.json<IpRoute>(this.hostNetns, [
      'route',
      'show',
      'table',
      'all',
      'proto',
      String(this.proto),
    ]);
    return found.flatMap((r) => parseRoute(r, isV6(r.dst)) ?? []);
  }
}
