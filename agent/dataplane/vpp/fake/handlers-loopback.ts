// Fake handlers for loopbacks, interface tags, unnumbered interfaces, VRF lookup and proxy ARP.
import { ip4String } from '../addresses.ts';
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
      mtu: [0, 0, 0, 0],
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
};
