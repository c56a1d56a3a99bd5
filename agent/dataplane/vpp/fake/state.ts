// What the fake VPP remembers: interfaces (local0, TAPs, af_packet, VXLAN tunnels), FIB tables
// and routes (with the special routes a real VPP shows in every table, and the connected/local
// routes an interface address adds), neighbours, NAT44-ED and ACL configuration. Values are
// kept in the API's own shapes so dumps return what was configured.
import { fromAddress, fromPrefix, toAddress, toPrefix } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { addressOf, broadcastOf, containsIp, hostOfPrefix, networkOf } from '../../../../lib/cidr.ts';

export const IF_ADMIN_UP = 1;
export const IF_LINK_UP = 2;
const PATH_TYPE_LOCAL = 1;
const PATH_TYPE_DROP = 2;

export interface FakeInterface {
  readonly swIfIndex: number;
  readonly name: string;
  readonly devType: string;
  tag: string;
  flags: number;
  mtu: number[];
  mac: Uint8Array;
  vrf4: number;
  vrf6: number;
  /** vl_api_address_with_prefix_t values. */
  addresses: VppFields[];
  tap?: VppFields;
  /** An af_packet interface's kernel end (af_packet_create_v3's host_if_name). */
  afPacket?: { hostIfName: string };
  vxlan?: VppFields;
  /** The interface whose address this one borrows (sw_interface_set_unnumbered). */
  unnumberedTo?: number;
  proxyArp?: boolean;
}

/**
 * FIB sources (src/vnet/fib/fib_source.h) as fib_source_dump names them, with their ids and
 * priorities (lower is better); the fake models the ones its entries come from.
 */
export const FIB_SOURCES = [
  { id: 1, name: 'special', priority: 0 },
  { id: 4, name: 'interface', priority: 3 },
  { id: 8, name: 'API', priority: 7 },
  { id: 9, name: 'CLI', priority: 8 },
  { id: 16, name: 'adjacency', priority: 15 },
  { id: 21, name: 'default-route', priority: 20 },
  // Allocated by the cnat plugin at its init (a dynamic source): its VIPs and source-NAT address.
  { id: 33, name: 'cnat', priority: 2 },
] as const;
export type FibSourceName = (typeof FIB_SOURCES)[number]['name'];

export interface FakeAcl {
  tag: string;
  rules: VppFields[];
}

export class FakeVppState {
  readonly interfaces = new Map<number, FakeInterface>();
  /** key `4/<id>` or `6/<id>` → ip_table struct. */
  readonly tables = new Map<string, VppFields>();
  /** table key → prefix text → ip_route struct. */
  readonly routes = new Map<string, Map<string, VppFields>>();
  /**
   * `<table key>|<prefix>` of routes VPP made itself (special, connected, and the adjacency /32
   * of a neighbour that no API route covers): not rendered.
   */
  readonly systemRoutes = new Set<string>();
  /**
   * The FIB source whose paths an entry shows (VPP's best source, what ip_route_v2_details
   * reports), by `<table key>|<prefix>`; absent: API (a route a client added).
   */
  readonly routeSources = new Map<string, FibSourceName>();
  readonly neighbors = new Map<string, VppFields>();
  readonly nat = {
    enabled: false,
    interfaces: new Map<number, number>(),
    addresses: new Map<string, VppFields>(),
    /** The twice-NAT pool: VPP keeps it apart (the same address may be in both). */
    twiceNatAddresses: new Map<string, VppFields>(),
    /** `addr:port:proto` → lb static mapping details fields. */
    lb: new Map<string, VppFields>(),
    /** `external:port:proto` → static mapping details fields. */
    static: new Map<string, VppFields>(),
    /** `ip:port:proto/vrf` → identity mapping details fields. */
    identity: new Map<string, VppFields>(),
  };
  /**
   * Features enabled by vnet's generic API (feature_enable_disable), per interface, as
   * `<arc> <feature>`, once per enable: vnet adds a feature again when asked again.
   */
  readonly features = new Map<number, string[]>();
  /** The cnat plugin (handlers-cnat.ts). */
  readonly cnat = {
    /** Interfaces with cnat's feature arc (feature_cnat_enable_disable). */
    features: new Set<number>(),
    /** Table 0's source-NAT policy entry, made by the first address set; null before. */
    snat: null as null | { ip4: Uint8Array; ip6: Uint8Array; policy: number; pods: Set<number> },
    /** Translations by id, as cnat_translation_details carries them. */
    translations: new Map<number, VppFields>(),
    /**
     * Each translation's flow hash, as VPP keeps it: set when the translation is made, never by
     * an update (cnat_translation.c), and left out of the dump.
     */
    flowHash: new Map<number, number>(),
    /** Freed translation ids: VPP's pool hands the last freed one out first. */
    freeIds: [] as number[],
    nextId: 0,
  };
  readonly acls = new Map<number, FakeAcl>();
  readonly aclBindings = new Map<number, { nInput: number; acls: number[] }>();
  /** `<table>/<low>-<hi>` → proxy_arp struct. */
  readonly proxyArp = new Map<string, VppFields>();
  /** STN plugin rules: address text → the interface that gets what VPP does not handle itself. */
  readonly stnRules = new Map<string, number>();
  /**
   * Graph nodes and their next nodes, by index (what `add_node_next` extends). vxlan4-input
   * starts with its static nexts, VXLAN_INPUT_NEXT_DROP and _L2_INPUT (src/plugins/vxlan).
   */
  readonly nodeNexts = new Map<string, string[]>([
    ['vxlan4-input', ['error-drop', 'l2-input']],
    ['vxlan6-input', ['error-drop', 'l2-input']],
    ['ip4-input', []],
    ['ip6-input', []],
    ['ethernet-input', []],
    ['error-drop', []],
    ['l2-input', []],
  ]);
  private nextIfIndex = 1;
  /** Freed sw_if_indices: VPP's interface pool hands the last freed one out first. */
  private freeIfIndices: number[] = [];
  private nextAclIndex = 0;
  private nextStats = 1;

  constructor() {
    this.interfaces.set(0, {
      swIfIndex: 0,
      name: 'local0',
      devType: 'local',
      tag: '',
      flags: 0,
      mtu: [0, 0, 0, 0],
      mac: new Uint8Array(6),
      vrf4: 0,
      vrf6: 0,
      addresses: [],
    });
    this.addTable({ table_id: 0, is_ip6: false, name: 'ipv4-VRF:0' });
    this.addTable({ table_id: 0, is_ip6: true, name: 'ipv6-VRF:0' });
  }

  addInterface(
    init: Omit<FakeInterface, 'swIfIndex' | 'flags' | 'vrf4' | 'vrf6' | 'addresses' | 'tag'> & {
      tag?: string;
    },
  ): FakeInterface {
    const swIfIndex = this.freeIfIndices.pop() ?? this.nextIfIndex++;
    const itf: FakeInterface = { swIfIndex, flags: 0, vrf4: 0, vrf6: 0, addresses: [], tag: '', ...init };
    this.interfaces.set(swIfIndex, itf);
    return itf;
  }

  removeInterface(swIfIndex: number): void {
    const itf = this.interfaces.get(swIfIndex);
    if (itf === undefined) return;
    for (const a of [...itf.addresses]) this.removeAddress(itf, a);
    this.interfaces.delete(swIfIndex);
    this.freeIfIndices.push(swIfIndex);
    this.aclBindings.delete(swIfIndex);
    this.nat.interfaces.delete(swIfIndex);
    // Its feature arcs go with it; cnat's pod table keeps the index (a bitmap nothing clears).
    this.cnat.features.delete(swIfIndex);
    this.features.delete(swIfIndex);
    for (const [a, sw] of this.stnRules) if (sw === swIfIndex) this.stnRules.delete(a);
    for (const [k, n] of this.neighbors)
      if ((n['sw_if_index'] as number) === swIfIndex) this.removeNeighbor(k);
  }

  /**
   * A static neighbour, and the adjacency route VPP adds for it (FIB source "adjacency": a /32
   * `via <interface> <ip>` in the interface's table) unless an API route holds the prefix,
   * whose paths win (API is the better source).
   */
  addNeighbor(key: string, n: VppFields): void {
    this.neighbors.set(key, n);
    const adj = this.adjacencyOf(n);
    if (adj === undefined) return;
    const routes = this.routes.get(adj.table)!;
    const id = `${adj.table}|${adj.prefix}`;
    if (routes.has(adj.prefix) && this.routeSources.get(id) === undefined) return; // API wins
    routes.set(adj.prefix, this.route(this.tables.get(adj.table)!, adj.prefix, [adj.path]));
    this.systemRoutes.add(id);
    this.routeSources.set(id, 'adjacency');
  }

  removeNeighbor(key: string): boolean {
    const n = this.neighbors.get(key);
    if (n === undefined) return false;
    this.neighbors.delete(key);
    const adj = this.adjacencyOf(n);
    const id = adj === undefined ? '' : `${adj.table}|${adj.prefix}`;
    if (adj !== undefined && this.routeSources.get(id) === 'adjacency') {
      this.routes.get(adj.table)?.delete(adj.prefix);
      this.systemRoutes.delete(id);
      this.routeSources.delete(id);
    }
    return true;
  }

  /**
   * What cnat's tracking of a path's destination leaves in table 0, as a real VPP showed it: an
   * address on a connected subnet gets its adjacency /32 (as a neighbour's), and it stays after
   * the translation goes (test/vpp-conformance.golden.json).
   */
  trackAddress(ip: string): void {
    const tableKey = this.tableKey(false, 0);
    const routes = this.routes.get(tableKey)!;
    const prefix = `${ip}/32`;
    if (routes.has(prefix)) return;
    const itf = [...this.interfaces.values()].find(
      (i) =>
        i.vrf4 === 0 &&
        i.addresses.some((a) => {
          const cidr = fromPrefix(a);
          return !cidr.includes(':') && containsIp(cidr, ip) && addressOf(cidr) !== ip;
        }),
    );
    if (itf === undefined) return;
    const id = `${tableKey}|${prefix}`;
    const path = { sw_if_index: itf.swIfIndex, nh: { address: toAddress(ip)['un'] } };
    routes.set(prefix, this.route(this.tables.get(tableKey)!, prefix, [path]));
    this.systemRoutes.add(id);
    this.routeSources.set(id, 'adjacency');
  }

  /**
   * The table 0 /32s cnat's source holds (handlers-cnat.ts): every translation's VIP and the
   * source-NAT address. cnat's priority beats the API's, so where both hold a prefix the entry
   * shows cnat's path (a DPO: no interface, no next hop) while the API route stays beneath it.
   */
  cnatPrefixes(): Set<string> {
    const out = new Set<string>();
    for (const t of this.cnat.translations.values())
      out.add(`${fromAddress((t['vip'] as VppFields)['addr'] as VppFields)}/32`);
    if (this.cnat.snat !== null) out.add(`${fromAddress({ af: 0, un: { ip4: this.cnat.snat.ip4 } })}/32`);
    return out;
  }

  /** An API route added: it takes over an entry VPP's adjacency source held. */
  apiRouteAdded(tableKey: string, prefix: string): void {
    const id = `${tableKey}|${prefix}`;
    if (this.routeSources.get(id) !== 'adjacency') return;
    this.systemRoutes.delete(id);
    this.routeSources.delete(id);
  }

  /** An API route deleted: a neighbour's adjacency route shows again where one exists. */
  apiRouteDeleted(tableKey: string, prefix: string): void {
    for (const [k, n] of this.neighbors) {
      const adj = this.adjacencyOf(n);
      if (adj?.table === tableKey && adj.prefix === prefix) this.addNeighbor(k, n);
    }
  }

  private adjacencyOf(n: VppFields): { table: string; prefix: string; path: VppFields } | undefined {
    const sw = n['sw_if_index'] as number;
    const itf = this.interfaces.get(sw);
    const address = n['ip_address'] as VppFields;
    if (itf === undefined) return undefined;
    const ip6 = address['af'] === 1;
    const table = this.tableKey(ip6, ip6 ? itf.vrf6 : itf.vrf4);
    if (!this.routes.has(table)) return undefined;
    const ip = fromAddress(address);
    return {
      table,
      prefix: `${ip}/${ip6 ? 128 : 32}`,
      path: { sw_if_index: sw, nh: { address: address['un'] } },
    };
  }

  /** The source an entry's paths come from (ip_route_v2_details `src`). */
  routeSource(tableKey: string, prefix: string): FibSourceName {
    return this.routeSources.get(`${tableKey}|${prefix}`) ?? 'API';
  }

  tableKey(isIp6: boolean, id: number): string {
    return `${isIp6 ? 6 : 4}/${id}`;
  }

  addTable(table: VppFields): void {
    const key = this.tableKey(table['is_ip6'] === true, table['table_id'] as number);
    if (this.tables.has(key)) return;
    this.tables.set(key, table);
    const routes = new Map<string, VppFields>();
    this.routes.set(key, routes);
    // The entries every VPP table starts with; a resync must leave them alone.
    const special =
      table['is_ip6'] === true
        ? ['::/0', 'fe80::/10', 'ff00::/8']
        : ['0.0.0.0/0', '0.0.0.0/32', '224.0.0.0/4', '240.0.0.0/4', '255.255.255.255/32'];
    for (const p of special) {
      routes.set(p, this.route(table, p, [{ sw_if_index: 0xffffffff, type: PATH_TYPE_DROP }]));
      this.systemRoutes.add(`${key}|${p}`);
      // A real VPP's dump: 0.0.0.0/0, 0.0.0.0/32 and 255.255.255.255/32 by the default-route
      // source, the multicast and class E blocks by the special one.
      const byDefault = ['0.0.0.0/0', '::/0', '0.0.0.0/32', '255.255.255.255/32'].includes(p);
      this.routeSources.set(`${key}|${p}`, byDefault ? 'default-route' : 'special');
    }
  }

  removeTable(isIp6: boolean, id: number): void {
    const key = this.tableKey(isIp6, id);
    this.tables.delete(key);
    this.routes.delete(key);
    for (const id of [...this.routeSources.keys()])
      if (id.startsWith(`${key}|`)) this.routeSources.delete(id);
  }

  addAddress(itf: FakeInterface, prefix: VppFields): void {
    const text = fromPrefix(prefix);
    if (itf.addresses.some((a) => fromPrefix(a) === text)) return;
    itf.addresses.push(prefix);
    const ip6 = (prefix['address'] as VppFields)['af'] === 1;
    const table = this.tables.get(this.tableKey(ip6, ip6 ? itf.vrf6 : itf.vrf4));
    if (table === undefined) return;
    const key = this.tableKey(ip6, table['table_id'] as number);
    const routes = this.routes.get(key)!;
    for (const [p, paths] of interfaceRoutes(itf.swIfIndex, text, ip6)) {
      routes.set(p, this.route(table, p, paths));
      this.systemRoutes.add(`${key}|${p}`);
      this.routeSources.set(`${key}|${p}`, 'interface');
    }
  }

  removeAddress(itf: FakeInterface, prefix: VppFields): boolean {
    const text = fromPrefix(prefix);
    const i = itf.addresses.findIndex((a) => fromPrefix(a) === text);
    if (i < 0) return false;
    itf.addresses.splice(i, 1);
    const ip6 = (prefix['address'] as VppFields)['af'] === 1;
    const routes = this.routes.get(this.tableKey(ip6, ip6 ? itf.vrf6 : itf.vrf4));
    const key = this.tableKey(ip6, ip6 ? itf.vrf6 : itf.vrf4);
    for (const [p] of interfaceRoutes(itf.swIfIndex, text, ip6)) {
      routes?.delete(p);
      this.systemRoutes.delete(`${key}|${p}`);
      this.routeSources.delete(`${key}|${p}`);
    }
    return true;
  }

  route(table: VppFields, cidr: string, paths: VppFields[]): VppFields {
    // fib_table_route_path_fixup: a host prefix through an interface with no next hop is an
    // attached host path, recorded with the host address as its next hop.
    const host = hostOfPrefix(cidr);
    paths = paths.map((p) => {
      const un = ((p['nh'] as VppFields | undefined)?.['address'] ?? {}) as VppFields;
      const bytes = (un['ip6'] ?? un['ip4']) as Uint8Array | undefined;
      const zero = bytes === undefined || bytes.every((b) => b === 0);
      if (host === '' || !zero || p['type'] !== 0 || p['sw_if_index'] === 0xffffffff) return p;
      return { ...p, nh: { ...(p['nh'] as VppFields), address: toAddress(host)['un'] as VppFields } };
    });
    return {
      table_id: table['table_id'],
      stats_index: this.nextStats++,
      prefix: toPrefix(cidr),
      n_paths: paths.length,
      paths,
    };
  }

  /**
   * Whether the interface has an address for `ip6`, its own or the one it borrows (VPP's
   * `foreach_ip_interface_address` with "honor unnumbered", as `ip_table_bind` asks it).
   */
  hasAddress(itf: FakeInterface, ip6: boolean): boolean {
    const owner = itf.unnumberedTo === undefined ? itf : this.interfaces.get(itf.unnumberedTo);
    return (owner?.addresses ?? []).some((a) => ((a['address'] as VppFields)['af'] === 1) === ip6);
  }

  allocateAcl(): number {
    return this.nextAclIndex++;
  }
}

/**
 * The FIB entries VPP adds for an interface address (`ip4_add_interface_routes`,
 * `ip4_add_interface_prefix_routes` in src/vnet/ip/ip4_forward.c): the address itself as a
 * local route; below /32 the attached prefix (glean); up to /30 the prefix's network and
 * broadcast addresses as drops. IPv6 is modelled as the prefix and the local /128.
 */
export function interfaceRoutes(swIfIndex: number, cidr: string, ip6: boolean): [string, VppFields[]][] {
  const [ip = '', lenText = ''] = cidr.split('/');
  const len = Number(lenText);
  const host = `${ip}/${ip6 ? 128 : 32}`;
  const out: [string, VppFields[]][] = [[host, [{ sw_if_index: swIfIndex, type: PATH_TYPE_LOCAL }]]];
  // The attached prefix: a real VPP's ip_route_v2_dump names it by the interface's address
  // (10.1.1.1/24), not by the network (`show ip fib` prints 10.1.1.0/24).
  if (len < (ip6 ? 128 : 32)) out.push([cidr, [{ sw_if_index: swIfIndex }]]);
  if (!ip6 && len <= 30) {
    const net = networkOf(cidr).split('/')[0]!;
    const drop = [{ sw_if_index: 0xffffffff, type: PATH_TYPE_DROP }];
    if (net !== ip) out.push([`${net}/32`, drop]);
    const bcast = broadcastOf(cidr);
    if (bcast !== ip) out.push([`${bcast}/32`, drop]);
  }
  return out;
}
