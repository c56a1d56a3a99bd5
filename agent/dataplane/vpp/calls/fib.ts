// VPP calls for FIB tables (VRFs), routes and static neighbours.
import { fromAddress, fromPrefix, isIp6, macBytes, toAddress, toPrefix } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { GONE, tolerate, type VppApi } from '../vpp-api.ts';

export const PATH_NORMAL = 0;
export const PATH_LOCAL = 1;
export const PATH_DROP = 2;
/** FIB_API_PATH_TYPE_ICMP_UNREACH: the ip4-null DPO answers ICMP destination (host) unreachable. */
export const PATH_ICMP_UNREACH = 5;
const NO_INTERFACE = 0xffffffff;

/** One path of a route, in the driver's terms. */
export interface VppPath {
  type: 'via' | 'local' | 'drop' | 'unreach';
  /** For 'via': the outgoing interface and the next hop ('' for an attached route). */
  swIfIndex?: number;
  nextHop?: string;
}

export interface VppRoute {
  vrf: number;
  dst: string;
  paths: VppPath[];
  /**
   * The FIB source whose paths VPP shows for the entry (its best source), by name: 'API' for a
   * route an API client added; VPP's own entries say 'adjacency' (a neighbour's /32),
   * 'interface' (connected and local), 'special', 'default-route'... Absent on routes the
   * driver builds to add.
   */
  source?: string;
}

/** The FIB source of routes added through the API (fib_source_dump's name for it). */
export const API_SOURCE = 'API';

export interface VppTable {
  id: number;
  ipv6: boolean;
  name: string;
}

function pathFields(p: VppPath, ipv6: boolean): VppFields {
  const type =
    p.type === 'local'
      ? PATH_LOCAL
      : p.type === 'drop'
        ? PATH_DROP
        : p.type === 'unreach'
          ? PATH_ICMP_UNREACH
          : PATH_NORMAL;
  const nh = p.nextHop !== undefined && p.nextHop !== '' ? (toAddress(p.nextHop)['un'] as VppFields) : {};
  return {
    sw_if_index: p.swIfIndex ?? NO_INTERFACE,
    weight: 1,
    type,
    proto: ipv6 ? 1 : 0,
    nh: { address: nh },
  };
}

function pathOf(f: VppFields, ipv6: boolean): VppPath {
  const type = f['type'] as number;
  if (type === PATH_LOCAL) return { type: 'local' };
  if (type === PATH_DROP) return { type: 'drop' };
  if (type === PATH_ICMP_UNREACH) return { type: 'unreach' };
  const address = (f['nh'] as VppFields)['address'] as VppFields;
  const nextHop = fromAddress({ af: ipv6 ? 1 : 0, un: address });
  const zero = nextHop === '0.0.0.0' || nextHop === '::';
  return { type: 'via', swIfIndex: f['sw_if_index'] as number, nextHop: zero ? '' : nextHop };
}

export class FibCalls {
  private readonly api: VppApi;
  /** fib_source_dump: id → name. */
  private readonly sourceNames = new Map<number, string>();

  constructor(api: VppApi) {
    this.api = api;
  }

  async addTable(id: number, ipv6: boolean, name: string): Promise<void> {
    await this.api.request('ip_table_add_del', { is_add: true, table: { table_id: id, is_ip6: ipv6, name } });
  }

  async deleteTable(id: number, ipv6: boolean): Promise<void> {
    await tolerate(
      this.api.request('ip_table_add_del', { is_add: false, table: { table_id: id, is_ip6: ipv6 } }),
      [...GONE, -3],
    );
  }

  async tables(): Promise<VppTable[]> {
    const details = await this.api.dump('ip_table_dump');
    return details.map((d) => {
      const t = d['table'] as VppFields;
      return { id: t['table_id'] as number, ipv6: t['is_ip6'] as boolean, name: t['name'] as string };
    });
  }

  /** Adds or replaces the route (VPP replaces the paths of an existing prefix on add). */
  async addRoute(r: VppRoute): Promise<void> {
    const ipv6 = isIp6(r.dst);
    const paths = r.paths.map((p) => pathFields(p, ipv6));
    await this.api.request('ip_route_add_del', {
      is_add: true,
      route: { table_id: r.vrf, prefix: toPrefix(r.dst), paths },
    });
  }

  async deleteRoute(vrf: number, dst: string): Promise<void> {
    await tolerate(
      this.api.request('ip_route_add_del', {
        is_add: false,
        route: { table_id: vrf, prefix: toPrefix(dst) },
      }),
      [...GONE, -3],
    );
  }

  /**
   * Every entry of the table with the source it is shown from (ip_route_v2_dump): a real VPP's
   * tables hold entries nobody configured — the adjacency /32 of every static neighbour among
   * them — which only the source tells from a route netloom added.
   */
  async routes(vrf: number, ipv6: boolean): Promise<VppRoute[]> {
    const details = await this.api.dump('ip_route_v2_dump', {
      src: 0,
      table: { table_id: vrf, is_ip6: ipv6 },
    });
    const ids = details.map((d) => (d['route'] as VppFields)['src'] as number);
    // The source names are VPP's for as long as it runs (plugins register them at start), so
    // they are asked for again only when a dump names an id not known yet (a restarted VPP).
    if (ids.some((id) => !this.sourceNames.has(id))) await this.loadSourceNames();
    return details.map((d, i) => {
      const r = d['route'] as VppFields;
      return {
        vrf,
        dst: fromPrefix(r['prefix'] as VppFields),
        paths: (r['paths'] as VppFields[]).map((p) => pathOf(p, ipv6)),
        source: this.sourceNames.get(ids[i]!) ?? `source ${ids[i]!}`,
      };
    });
  }

  private async loadSourceNames(): Promise<void> {
    this.sourceNames.clear();
    for (const d of await this.api.dump('fib_source_dump')) {
      const src = d['src'] as VppFields;
      this.sourceNames.set(src['id'] as number, src['name'] as string);
    }
  }

  async setNeighbor(swIfIndex: number, ip: string, mac: string): Promise<void> {
    const neighbor = {
      sw_if_index: swIfIndex,
      flags: 1,
      mac_address: macBytes(mac),
      ip_address: toAddress(ip),
    };
    await this.api.request('ip_neighbor_add_del', { is_add: true, neighbor });
  }
}
