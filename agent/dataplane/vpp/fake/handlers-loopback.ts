// Fake handlers for loopbacks, interface tags, unnumbered interfaces, VRF lookup, proxy ARP
// and the STN plugin's rules.
import { fromAddress, ip4String, toAddress } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { fail, ok, VNET, type Handler } from './handler.ts';

export const loopbackHandlers: Record<string, Handler> = {
  create_loopback_instance: (msg, ctx) => {
    const loops = [...ctx.state.interfaces.values()].filter((i) => i.devType === 'Loopback');
    let instance = msg['is_specified'] === true ? (msg['user_instance'] as number) : 0;
    if (msg['is_specified'] === true && loops.some((l) => l.name === `loop${instance}`))
      return fail(VNET.INVALID_VALUE);
    while (loops.some((l) => l.name === `loop${instance}`)) instance++;
    const mac = msg['mac_address'] as Uint8Array;
    const itf = ctx.state.addInterface({
      name: `loop${instance}`,
      devType: 'Loopback',
      mac,
      // A real VPP gives a new loopback an L3 MTU of 9000 (ethernet's default).
      mtu: [9000, 0, 0, 0],
    });
    ctx.interfaceEvent(itf.swIfIndex, false);
    return ok({ sw_if_index: itf.swIfIndex });
  },
  delete_loopback: (msg, ctx) => {
    const itf = ctx.state.interfaces.get(msg['sw_if_index'] as number);
    if (itf?.devType !== 'Loopback') return fail(VNET.INVALID_SW_IF_INDEX);
    ctx.state.removeInterface(itf.swIfIndex);
    ctx.interfaceEvent(itf.swIfIndex, true);
    return ok();
  },
  sw_interface_tag_add_del: (msg, ctx) => {
    const itf = ctx.state.interfaces.get(msg['sw_if_index'] as number);
    if (itf === undefined) return fail(VNET.INVALID_SW_IF_INDEX);
    itf.tag = msg['is_add'] === true ? (msg['tag'] as string) : '';
    return ok();
  },
  sw_interface_set_unnumbered: (msg, ctx) => {
    // sw_if_index holds the address; unnumbered_sw_if_index borrows it.
    const owner = ctx.state.interfaces.get(msg['sw_if_index'] as number);
    const borrower = ctx.state.interfaces.get(msg['unnumbered_sw_if_index'] as number);
    if (owner === undefined || borrower === undefined) return fail(VNET.INVALID_SW_IF_INDEX);
    // vnet_sw_interface_check_table_same: the borrower must already be in the owner's tables.
    if (msg['is_add'] === true && (owner.vrf4 !== borrower.vrf4 || owner.vrf6 !== borrower.vrf6))
      return fail(VNET.UNEXPECTED_INTF_STATE);
    if (msg['is_add'] === true) borrower.unnumberedTo = owner.swIfIndex;
    else delete borrower.unnumberedTo;
    return ok();
  },
  sw_interface_get_table: (msg, ctx) => {
    const itf = ctx.state.interfaces.get(msg['sw_if_index'] as number);
    if (itf === undefined) return fail(VNET.INVALID_SW_IF_INDEX, { vrf_id: 0 });
    return ok({ vrf_id: msg['is_ipv6'] === true ? itf.vrf6 : itf.vrf4 });
  },
  proxy_arp_add_del: (msg, ctx) => {
    const p = msg['proxy'] as VppFields;
    const key = `${p['table_id'] as number}/${ip4String(p['low'] as Uint8Array)}-${ip4String(p['hi'] as Uint8Array)}`;
    if (msg['is_add'] === true) {
      if (ctx.state.proxyArp.has(key)) return fail(VNET.VALUE_EXIST);
      ctx.state.proxyArp.set(key, p);
      return ok();
    }
    return ctx.state.proxyArp.delete(key) ? ok() : fail(VNET.NO_SUCH_ENTRY);
  },
  proxy_arp_dump: (_msg, ctx) => ({ details: [...ctx.state.proxyArp.values()].map((proxy) => ({ proxy })) }),
  proxy_arp_intfc_enable_disable: (msg, ctx) => {
    const itf = ctx.state.interfaces.get(msg['sw_if_index'] as number);
    if (itf === undefined) return fail(VNET.INVALID_SW_IF_INDEX);
    itf.proxyArp = msg['enable'] === true;
    return ok();
  },
  proxy_arp_intfc_dump: (_msg, ctx) => ({
    details: [...ctx.state.interfaces.values()]
      .filter((i) => i.proxyArp === true)
      .map((i) => ({ sw_if_index: i.swIfIndex })),
  }),
  // stn plugin (stn.c): one rule per address; adding an existing one is VALUE_EXIST, deleting
  // a missing one NO_SUCH_ENTRY.
  stn_add_del_rule: (msg, ctx) => {
    const address = fromAddress(msg['ip_address'] as VppFields);
    const sw = msg['sw_if_index'] as number;
    if (msg['is_add'] === true) {
      if (!ctx.state.interfaces.has(sw)) return fail(VNET.INVALID_SW_IF_INDEX);
      if (ctx.state.stnRules.has(address)) return fail(VNET.VALUE_EXIST);
      ctx.state.stnRules.set(address, sw);
      return ok();
    }
    return ctx.state.stnRules.delete(address) ? ok() : fail(VNET.NO_SUCH_ENTRY);
  },
  stn_rules_dump: (_msg, ctx) => ({
    details: [...ctx.state.stnRules].map(([address, sw]) => ({
      ip_address: toAddress(address),
      sw_if_index: sw,
    })),
  }),
};
