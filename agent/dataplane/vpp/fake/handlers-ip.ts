// Fake handlers for FIB tables, routes, neighbours and VXLAN tunnels.
import { fromAddress, fromPrefix, toPrefix } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { fail, ok, VNET, type Handler } from './handler.ts';
import { FIB_SOURCES } from './state.ts';

const ALL = 0xffffffff;

function sameTunnel(a: VppFields, b: VppFields): boolean {
  return (
    fromAddress(a['src_address'] as VppFields) === fromAddress(b['src_address'] as VppFields) &&
    fromAddress(a['dst_address'] as VppFields) === fromAddress(b['dst_address'] as VppFields) &&
    a['vni'] === b['vni'] &&
    (a['encap_vrf_id'] ?? 0) === (b['encap_vrf_id'] ?? 0)
  );
}

export const ipHandlers: Record<string, Handler> = {
  ip_table_add_del: (msg, ctx) => {
    const table = msg['table'] as VppFields;
    const ip6 = table['is_ip6'] === true;
    const id = table['table_id'] as number;
    if (msg['is_add'] === true) {
      ctx.state.addTable({
        table_id: id,
        is_ip6: ip6,
        name: table['name'] || `${ip6 ? 'ipv6' : 'ipv4'}-VRF:${id}`,
      });
      return ok();
    }
    if (id === 0) return fail(VNET.INVALID_VALUE);
    ctx.state.removeTable(ip6, id);
    return ok();
  },
  ip_table_dump: (_msg, ctx) => ({ details: [...ctx.state.tables.values()].map((table) => ({ table })) }),

  ip_route_add_del: (msg, ctx) => {
    const route = msg['route'] as VppFields;
    const prefix = route['prefix'] as VppFields;
    const ip6 = (prefix['address'] as VppFields)['af'] === 1;
    const key = ctx.state.tableKey(ip6, route['table_id'] as number);
    const table = ctx.state.tables.get(key);
    if (table === undefined) return fail(VNET.NO_SUCH_FIB);
    const routes = ctx.state.routes.get(key)!;
    const text = fromPrefix(prefix);
    if (msg['is_add'] === true) {
      const stored = ctx.state.route(table, text, route['paths'] as VppFields[]);
      routes.set(text, stored);
      ctx.state.apiRouteAdded(key, text);
      return ok({ stats_index: stored['stats_index'] });
    }
    // Only the API's own entry can be deleted by the API; VPP's stay. A delete of what the API
    // does not hold succeeds and changes nothing (stats_index ~0), as on a real VPP.
    if (ctx.state.routeSource(key, text) !== 'API' || !routes.delete(text))
      return ok({ stats_index: 0xffffffff });
    ctx.state.apiRouteDeleted(key, text);
    return ok();
  },
  ip_route_dump: (msg, ctx) => {
    const t = msg['table'] as VppFields;
    const routes = ctx.state.routes.get(ctx.state.tableKey(t['is_ip6'] === true, t['table_id'] as number));
    return { details: [...(routes?.values() ?? [])].map((route) => ({ route })) };
  },
  // Every entry with the id of the source whose paths it shows (src 0: every source).
  ip_route_v2_dump: (msg, ctx) => {
    const t = msg['table'] as VppFields;
    const key = ctx.state.tableKey(t['is_ip6'] === true, t['table_id'] as number);
    const want = msg['src'] as number;
    const ids = new Map<string, number>(FIB_SOURCES.map((f) => [f.name, f.id]));
    const entries = new Map<string, VppFields>(
      [...(ctx.state.routes.get(key)?.entries() ?? [])].map(([prefix, route]) => [
        prefix,
        { ...route, src: ids.get(ctx.state.routeSource(key, prefix))! },
      ]),
    );
    if (key === ctx.state.tableKey(false, 0))
      for (const prefix of ctx.state.cnatPrefixes())
        entries.set(prefix, {
          table_id: 0,
          prefix: toPrefix(prefix),
          paths: [{ sw_if_index: 0xffffffff, type: 0, nh: { address: { ip4: new Uint8Array(4) } } }],
          src: ids.get('cnat')!,
        });
    const details = [...entries.values()]
      .map((route) => ({ route }))
      .filter((d) => want === 0 || d.route.src === want);
    return { details };
  },
  fib_source_dump: () => ({ details: FIB_SOURCES.map((src) => ({ src })) }),

  ip_neighbor_add_del: (msg, ctx) => {
    const n = msg['neighbor'] as VppFields;
    if (!ctx.state.interfaces.has(n['sw_if_index'] as number)) return fail(VNET.INVALID_SW_IF_INDEX);
    const key = `${n['sw_if_index'] as number}/${fromAddress(n['ip_address'] as VppFields)}`;
    if (msg['is_add'] === true) ctx.state.addNeighbor(key, n);
    else if (!ctx.state.removeNeighbor(key)) return fail(VNET.NO_SUCH_ENTRY);
    return ok({ stats_index: 0 });
  },
  ip_neighbor_dump: (msg, ctx) => {
    const want = msg['sw_if_index'] as number;
    const list = [...ctx.state.neighbors.values()].filter((n) => want === ALL || n['sw_if_index'] === want);
    return { details: list.map((neighbor) => ({ age: 0, neighbor })) };
  },

  vxlan_add_del_tunnel_v3: (msg, ctx) => {
    const tunnels = [...ctx.state.interfaces.values()].filter((i) => i.vxlan !== undefined);
    const existing = tunnels.find((t) => sameTunnel(t.vxlan!, msg));
    if (msg['is_add'] !== true) {
      if (existing === undefined) return fail(VNET.NO_SUCH_ENTRY);
      ctx.state.removeInterface(existing.swIfIndex);
      ctx.interfaceEvent(existing.swIfIndex, true);
      return ok({ sw_if_index: existing.swIfIndex });
    }
    if (existing !== undefined) return fail(VNET.TUNNEL_EXIST);
    // vxlan_add_del_tunnel_clean_input: the encap table must exist.
    const ip6 = (msg['src_address'] as VppFields)['af'] === 1;
    if (!ctx.state.tables.has(ctx.state.tableKey(ip6, (msg['encap_vrf_id'] as number) ?? 0)))
      return fail(VNET.NO_SUCH_FIB);
    // vnet_vxlan_add_del_tunnel: ~0 means l2-input, whatever is_l3 says (only the CLI picks
    // ip4-input for l3); an index past the input node's nexts is refused.
    const nexts = ctx.state.nodeNexts.get(ip6 ? 'vxlan6-input' : 'vxlan4-input')!;
    const decap = msg['decap_next_index'] === ALL ? 1 : (msg['decap_next_index'] as number);
    if (decap >= nexts.length) return fail(VNET.INVALID_DECAP_NEXT);
    let instance = msg['instance'] as number;
    if (instance === ALL)
      for (instance = 0; tunnels.some((t) => t.vxlan!['instance'] === instance);) instance++;
    else if (tunnels.some((t) => t.vxlan!['instance'] === instance)) return fail(VNET.INVALID_VALUE);
    const itf = ctx.state.addInterface({
      name: `vxlan_tunnel${instance}`,
      devType: 'VXLAN',
      mac: new Uint8Array(6),
      mtu: [0, 0, 0, 0],
    });
    itf.vxlan = {
      ...msg,
      instance,
      decap_next_index: decap,
      dst_port: msg['dst_port'] || 4789,
      src_port: msg['src_port'] || 4789,
    };
    ctx.interfaceEvent(itf.swIfIndex, false);
    return ok({ sw_if_index: itf.swIfIndex });
  },
  add_node_next: (msg, ctx) => {
    const nexts = ctx.state.nodeNexts.get(msg['node_name'] as string);
    if (nexts === undefined) return fail(VNET.NO_SUCH_NODE, { next_index: ALL });
    const next = msg['next_name'] as string;
    if (!ctx.state.nodeNexts.has(next)) return fail(VNET.NO_SUCH_NODE2, { next_index: ALL });
    // vlib_node_add_next: an existing arc keeps its slot.
    if (!nexts.includes(next)) nexts.push(next);
    return ok({ next_index: nexts.indexOf(next) });
  },
  get_next_index: (msg, ctx) => {
    const nexts = ctx.state.nodeNexts.get(msg['node_name'] as string);
    if (nexts === undefined) return fail(VNET.NO_SUCH_NODE, { next_index: ALL });
    const next = msg['next_name'] as string;
    if (!ctx.state.nodeNexts.has(next)) return fail(VNET.NO_SUCH_NODE2, { next_index: ALL });
    const index = nexts.indexOf(next);
    return index < 0 ? fail(VNET.NO_SUCH_ENTRY, { next_index: ALL }) : ok({ next_index: index });
  },
  vxlan_tunnel_v2_dump: (msg, ctx) => {
    const want = msg['sw_if_index'] as number;
    const list = [...ctx.state.interfaces.values()].filter(
      (i) => i.vxlan !== undefined && (want === ALL || i.swIfIndex === want),
    );
    return {
      details: list.map((i) => {
        const v = i.vxlan!;
        return {
          sw_if_index: i.swIfIndex,
          instance: v['instance'],
          src_address: v['src_address'],
          dst_address: v['dst_address'],
          src_port: v['src_port'],
          dst_port: v['dst_port'],
          mcast_sw_if_index: v['mcast_sw_if_index'],
          encap_vrf_id: v['encap_vrf_id'],
          decap_next_index: v['decap_next_index'],
          vni: v['vni'],
        };
      }),
    };
  },
};
