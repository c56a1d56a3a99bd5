// Fake handlers for session control, interfaces and TAPs.
import { fromPrefix } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { fail, ok, VNET, type Handler, type HandlerContext } from './handler.ts';
import { IF_ADMIN_UP, IF_LINK_UP, type FakeInterface } from './state.ts';

const ALL = 0xffffffff;

/**
 * The (arc, feature) pairs the fake knows, for feature_enable_disable: a real VPP answers
 * INVALID_VALUE for a pair no node registered (vnet/feature/feature_api.c).
 */
const FEATURES = new Set(['ip4-unicast cnat-lookup-ip4', 'ip6-unicast cnat-lookup-ip6']);
/** What feature_cnat_enable_disable turns on, of the pairs above. */
const CNAT_ARC = FEATURES;

function details(itf: FakeInterface): VppFields {
  return {
    sw_if_index: itf.swIfIndex,
    sup_sw_if_index: itf.swIfIndex,
    l2_address: itf.mac,
    flags: itf.flags,
    link_mtu: itf.mtu[0] === 0 ? 9000 : itf.mtu[0],
    mtu: itf.mtu,
    interface_name: itf.name,
    interface_dev_type: itf.devType,
    tag: itf.tag,
  };
}

function withInterface(
  msg: VppFields,
  ctx: HandlerContext,
  fn: (itf: FakeInterface) => ReturnType<Handler>,
): ReturnType<Handler> {
  const itf = ctx.state.interfaces.get(msg['sw_if_index'] as number);
  return itf === undefined ? fail(VNET.INVALID_SW_IF_INDEX) : fn(itf);
}

function tapDetails(itf: FakeInterface): VppFields {
  const t = itf.tap!;
  return {
    sw_if_index: itf.swIfIndex,
    id: t['id'],
    tx_ring_sz: t['tx_ring_sz'],
    rx_ring_sz: t['rx_ring_sz'],
    host_mtu_size: t['host_mtu_size'],
    host_mac_addr: t['host_mac_addr'],
    host_ip4_prefix: t['host_ip4_prefix'],
    host_ip6_prefix: t['host_ip6_prefix'],
    tap_flags: t['tap_flags'],
    dev_name: itf.name,
    host_if_name: t['host_if_name'],
    host_namespace: t['host_namespace'],
    host_bridge: t['host_bridge'],
  };
}

let nextMac = 1;

export const interfaceHandlers: Record<string, Handler> = {
  feature_enable_disable: (msg, ctx) =>
    withInterface(msg, ctx, (itf) => {
      const name = `${msg['arc_name'] as string} ${msg['feature_name'] as string}`;
      if (!FEATURES.has(name)) return fail(VNET.INVALID_VALUE);
      const on = ctx.state.features.get(itf.swIfIndex) ?? [];
      if (msg['enable'] === true) on.push(name);
      // vnet removes one instance; disabling what is not there is a silent no-op.
      else if (on.includes(name)) on.splice(on.indexOf(name), 1);
      ctx.state.features.set(itf.swIfIndex, on);
      return ok();
    }),
  feature_is_enabled: (msg, ctx) =>
    withInterface(msg, ctx, (itf) => {
      const name = `${msg['arc_name'] as string} ${msg['feature_name'] as string}`;
      // cnat's own feature call enables its lookup among its other nodes (cnat_types.c).
      const byCnat = ctx.state.cnat.features.has(itf.swIfIndex) && CNAT_ARC.has(name);
      return ok({ is_enabled: byCnat || (ctx.state.features.get(itf.swIfIndex) ?? []).includes(name) });
    }),
  control_ping: (_msg, ctx) => ok({ client_index: ctx.clientIndex, vpe_pid: process.pid }),
  show_version: () =>
    ok({ program: 'vpe', version: '25.10-netloom-fake', build_date: '', build_directory: '' }),
  get_api_json: (_msg, ctx) =>
    ctx.apiJson === undefined ? fail(VNET.UNIMPLEMENTED) : ok({ json: ctx.apiJson }),
  sockclnt_delete: () => ({ reply: { response: 1 } }),
  want_interface_events: (msg, ctx) => {
    ctx.wantInterfaceEvents(msg['enable_disable'] !== 0, msg['pid'] as number);
    return ok();
  },

  sw_interface_dump: (msg, ctx) => {
    const want = msg['sw_if_index'] as number;
    const filter = msg['name_filter_valid'] === true ? (msg['name_filter'] as string) : undefined;
    const list = [...ctx.state.interfaces.values()].filter(
      (i) => (want === ALL || i.swIfIndex === want) && (filter === undefined || i.name.includes(filter)),
    );
    return { details: list.map(details) };
  },
  sw_interface_set_flags: (msg, ctx) =>
    withInterface(msg, ctx, (itf) => {
      const up = ((msg['flags'] as number) & IF_ADMIN_UP) !== 0;
      itf.flags = up ? IF_ADMIN_UP | IF_LINK_UP : 0;
      ctx.interfaceEvent(itf.swIfIndex, false);
      return ok();
    }),
  sw_interface_add_del_address: (msg, ctx) =>
    withInterface(msg, ctx, (itf) => {
      if (msg['del_all'] === true) {
        for (const a of [...itf.addresses]) ctx.state.removeAddress(itf, a);
        return ok();
      }
      const prefix = msg['prefix'] as VppFields;
      if (msg['is_add'] === true) {
        // The same address again: VNET_API_ERROR_ADDRESS_IN_USE, as a real VPP answers.
        if (itf.addresses.some((a) => fromPrefix(a) === fromPrefix(prefix))) return fail(VNET.ADDRESS_IN_USE);
        ctx.state.addAddress(itf, prefix);
        return ok();
      }
      return ctx.state.removeAddress(itf, prefix) ? ok() : fail(VNET.ADDRESS_NOT_FOUND_FOR_INTERFACE);
    }),
  sw_interface_set_table: (msg, ctx) =>
    withInterface(msg, ctx, (itf) => {
      const ip6 = msg['is_ipv6'] === true;
      const vrf = msg['vrf_id'] as number;
      if (!ctx.state.tables.has(ctx.state.tableKey(ip6, vrf))) return fail(VNET.NO_SUCH_FIB);
      // ip_table_bind: no table change while the interface has (or borrows) an address.
      if (ctx.state.hasAddress(itf, ip6)) return fail(VNET.ADDRESS_FOUND_FOR_INTERFACE);
      if (ip6) itf.vrf6 = vrf;
      else itf.vrf4 = vrf;
      return ok();
    }),
  sw_interface_set_mtu: (msg, ctx) =>
    withInterface(msg, ctx, (itf) => {
      itf.mtu = [...(msg['mtu'] as number[])];
      return ok();
    }),
  ip_address_dump: (msg, ctx) => {
    const itf = ctx.state.interfaces.get(msg['sw_if_index'] as number);
    const ip6 = msg['is_ipv6'] === true;
    const list = (itf?.addresses ?? []).filter((a) => ((a['address'] as VppFields)['af'] === 1) === ip6);
    return { details: list.map((prefix) => ({ sw_if_index: itf!.swIfIndex, prefix })) };
  },

  tap_create_v3: (msg, ctx) => {
    const taps = [...ctx.state.interfaces.values()].filter((i) => i.tap !== undefined);
    let id = msg['id'] as number;
    if (id === ALL) for (id = 0; taps.some((t) => t.tap!['id'] === id);) id++;
    if (taps.some((t) => t.tap!['id'] === id)) return fail(VNET.IF_ALREADY_EXISTS);
    const hostIfName = msg['host_if_name_set'] === true ? (msg['host_if_name'] as string) : `tap${id}`;
    const ns = msg['host_namespace_set'] === true ? (msg['host_namespace'] as string) : '';
    if (taps.some((t) => t.tap!['host_if_name'] === hostIfName && t.tap!['host_namespace'] === ns))
      return fail(VNET.UNSPECIFIED);
    const mac =
      msg['use_random_mac'] === true
        ? Uint8Array.from([2, 0xfe, 0, 0, (nextMac >> 8) & 0xff, nextMac++ & 0xff])
        : (msg['mac_address'] as Uint8Array);
    const itf = ctx.state.addInterface({
      name: `tap${id}`,
      devType: 'virtio',
      mac,
      mtu: [0, 0, 0, 0],
      tag: (msg['tag'] as string) ?? '',
    });
    itf.tap = { ...msg, id, host_if_name: hostIfName, host_namespace: ns };
    ctx.interfaceEvent(itf.swIfIndex, false);
    return ok({ sw_if_index: itf.swIfIndex });
  },
  tap_delete_v2: (msg, ctx) =>
    withInterface(msg, ctx, (itf) => {
      if (itf.tap === undefined) return fail(VNET.INVALID_SW_IF_INDEX);
      ctx.state.removeInterface(itf.swIfIndex);
      ctx.interfaceEvent(itf.swIfIndex, true);
      return ok();
    }),
  sw_interface_tap_v2_dump: (msg, ctx) => {
    const want = msg['sw_if_index'] as number;
    const list = [...ctx.state.interfaces.values()].filter(
      (i) => i.tap !== undefined && (want === ALL || want === i.swIfIndex),
    );
    return { details: list.map(tapDetails) };
  },
};
