// Fake handlers for NAT44-ED and ACLs, with the retvals of the real plugins for the cases a
// driver meets: NAT disabled → UNSUPPORTED, mapping exists → VALUE_EXIST, fewer than two LB
// locals → INVALID_VALUE, enabling twice → retval 1 (not an error), unknown ACL → NO_SUCH_ENTRY.
// Mapping flags as nat44_ed.c and nat44_ed_api.c treat them: an LB mapping that is not
// OUT2IN_ONLY needs its external address in the (ordinary) pool, else NO_SUCH_ENTRY; a plain
// mapping that is not OUT2IN_ONLY claims its local address:port, and a second one claiming it
// gets VALUE_EXIST; the LB handler keeps TWICE_NAT over SELF_TWICE_NAT when both are given;
// twice-NAT with ADDR_ONLY is UNSUPPORTED. Addresses with the TWICE_NAT flag go to a pool of
// their own; the dump lists both, flagged.
import { ip4String } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { fail, ok, VNET, type Handler, type HandlerResult } from './handler.ts';
import type { FakeVppState } from './state.ts';

const NAT_IS_TWICE_NAT = 0x01;
const NAT_IS_SELF_TWICE_NAT = 0x02;
const NAT_IS_OUT2IN_ONLY = 0x04;
const NAT_IS_ADDR_ONLY = 0x08;
const NAT_IS_INSIDE = 32;
const NAT_IS_OUTSIDE = 16;
const TWICE_EITHER = NAT_IS_TWICE_NAT | NAT_IS_SELF_TWICE_NAT;

function natEnabled(state: FakeVppState, fn: () => HandlerResult): HandlerResult {
  return state.nat.enabled ? fn() : fail(VNET.UNSUPPORTED);
}

function lbKey(addr: unknown, port: unknown, proto: unknown): string {
  return `${ip4String(addr as Uint8Array)}:${String(port)}:${String(proto)}`;
}

export const natHandlers: Record<string, Handler> = {
  nat44_ed_plugin_enable_disable: (msg, ctx) => {
    const nat = ctx.state.nat;
    if (msg['enable'] === true) {
      // VNET_API_ERROR_FEATURE_ALREADY_ENABLED / _DISABLED, as the real plugin answers.
      if (nat.enabled) return { reply: { retval: -170 } };
      nat.enabled = true;
      return ok();
    }
    if (!nat.enabled) return { reply: { retval: -169 } };
    nat.enabled = false;
    nat.interfaces.clear();
    nat.addresses.clear();
    nat.twiceNatAddresses.clear();
    nat.lb.clear();
    nat.static.clear();
    nat.identity.clear();
    return ok();
  },
  nat44_interface_add_del_feature: (msg, ctx) =>
    natEnabled(ctx.state, () => {
      const sw = msg['sw_if_index'] as number;
      if (!ctx.state.interfaces.has(sw)) return fail(VNET.INVALID_SW_IF_INDEX);
      const side = (msg['flags'] as number) & (NAT_IS_INSIDE | NAT_IS_OUTSIDE);
      const cur = ctx.state.nat.interfaces.get(sw) ?? 0;
      if (msg['is_add'] === true) ctx.state.nat.interfaces.set(sw, cur | side);
      else if ((cur & side) === 0) return fail(VNET.NO_SUCH_ENTRY);
      else if ((cur & ~side) === 0) ctx.state.nat.interfaces.delete(sw);
      else ctx.state.nat.interfaces.set(sw, cur & ~side);
      return ok();
    }),
  nat44_interface_dump: (_msg, ctx) => ({
    details: [...ctx.state.nat.interfaces].map(([sw_if_index, flags]) => ({ sw_if_index, flags })),
  }),
  nat44_add_del_address_range: (msg, ctx) =>
    natEnabled(ctx.state, () => {
      const first = ip4String(msg['first_ip_address'] as Uint8Array);
      const last = ip4String(msg['last_ip_address'] as Uint8Array);
      if (first !== last) return fail(VNET.UNIMPLEMENTED);
      const twice = ((msg['flags'] as number) & NAT_IS_TWICE_NAT) !== 0;
      const addresses = twice ? ctx.state.nat.twiceNatAddresses : ctx.state.nat.addresses;
      if (msg['is_add'] === true) {
        if (addresses.has(first)) return fail(VNET.VALUE_EXIST);
        addresses.set(first, {
          ip_address: msg['first_ip_address'],
          flags: twice ? NAT_IS_TWICE_NAT : 0,
          vrf_id: msg['vrf_id'],
        });
        return ok();
      }
      return addresses.delete(first) ? ok() : fail(VNET.NO_SUCH_ENTRY);
    }),
  nat44_address_dump: (_msg, ctx) => ({
    details: [...ctx.state.nat.addresses.values(), ...ctx.state.nat.twiceNatAddresses.values()],
  }),
  nat44_add_del_lb_static_mapping: (msg, ctx) =>
    natEnabled(ctx.state, () => {
      const key = lbKey(msg['external_addr'], msg['external_port'], msg['protocol']);
      const lb = ctx.state.nat.lb;
      if (msg['is_add'] !== true) return lb.delete(key) ? ok() : fail(VNET.NO_SUCH_ENTRY);
      if (lb.has(key) || ctx.state.nat.static.has(key)) return fail(VNET.VALUE_EXIST);
      const locals = msg['locals'] as VppFields[];
      if (locals.length < 2) return fail(VNET.INVALID_VALUE);
      const given = msg['flags'] as number;
      const out2inOnly = (given & NAT_IS_OUT2IN_ONLY) !== 0;
      if (!out2inOnly && !ctx.state.nat.addresses.has(ip4String(msg['external_addr'] as Uint8Array)))
        return fail(VNET.NO_SUCH_ENTRY);
      const twice = given & NAT_IS_TWICE_NAT ? NAT_IS_TWICE_NAT : given & NAT_IS_SELF_TWICE_NAT;
      const flags = twice | (out2inOnly ? NAT_IS_OUT2IN_ONLY : 0);
      const { external_addr, external_port, protocol, affinity, tag } = msg;
      lb.set(key, { external_addr, external_port, protocol, flags, affinity, tag, locals });
      return ok();
    }),
  // A real VPP sizes each details message by its internal local struct, 5 bytes longer per
  // local than vl_api_nat44_lb_addr_port_t (send_nat44_lb_static_mapping_details): the padding
  // is sent too, as it arrives from VPP.
  nat44_lb_static_mapping_dump: (_msg, ctx) => ({
    details: [...ctx.state.nat.lb.values()],
    padding: (d) => 5 * (d['locals'] as unknown[]).length,
  }),
  nat44_add_del_static_mapping_v2: (msg, ctx) =>
    natEnabled(ctx.state, () => {
      const key = lbKey(msg['external_ip_address'], msg['external_port'], msg['protocol']);
      const mappings = ctx.state.nat.static;
      if (msg['is_add'] !== true) return mappings.delete(key) ? ok() : fail(VNET.NO_SUCH_ENTRY);
      if (mappings.has(key) || ctx.state.nat.lb.has(key)) return fail(VNET.VALUE_EXIST);
      const given = msg['flags'] as number;
      if (given & TWICE_EITHER && given & NAT_IS_ADDR_ONLY) return fail(VNET.UNSUPPORTED);
      const claims = (m: VppFields): boolean => ((m['flags'] as number) & NAT_IS_OUT2IN_ONLY) === 0;
      const local = (m: VppFields): string =>
        `${ip4String(m['local_ip_address'] as Uint8Array)}:${m['local_port'] as number}:${m['protocol'] as number}/${m['vrf_id'] as number}`;
      if (claims(msg) && [...mappings.values()].some((m) => claims(m) && local(m) === local(msg)))
        return fail(VNET.VALUE_EXIST);
      const flags = given & (TWICE_EITHER | NAT_IS_OUT2IN_ONLY | NAT_IS_ADDR_ONLY);
      const {
        local_ip_address,
        external_ip_address,
        protocol,
        local_port,
        external_port,
        external_sw_if_index,
        vrf_id,
        tag,
      } = msg;
      mappings.set(key, {
        flags,
        local_ip_address,
        external_ip_address,
        protocol,
        local_port,
        external_port,
        external_sw_if_index,
        vrf_id,
        tag,
      });
      return ok();
    }),
  nat44_static_mapping_dump: (_msg, ctx) => ({ details: [...ctx.state.nat.static.values()] }),
  // With an address and a port (the form the driver sends); VPP also takes an interface or
  // address-only identities, which nothing here models.
  nat44_add_del_identity_mapping: (msg, ctx) =>
    natEnabled(ctx.state, () => {
      const key = `${lbKey(msg['ip_address'], msg['port'], msg['protocol'])}/${msg['vrf_id'] as number}`;
      const identities = ctx.state.nat.identity;
      if (msg['is_add'] !== true) return identities.delete(key) ? ok() : fail(VNET.NO_SUCH_ENTRY);
      if (identities.has(key)) return fail(VNET.VALUE_EXIST);
      const { ip_address, protocol, port, sw_if_index, vrf_id, tag } = msg;
      identities.set(key, { flags: 0, ip_address, protocol, port, sw_if_index, vrf_id, tag });
      return ok();
    }),
  nat44_identity_mapping_dump: (_msg, ctx) => ({ details: [...ctx.state.nat.identity.values()] }),
};

export const aclHandlers: Record<string, Handler> = {
  acl_add_replace: (msg, ctx) => {
    let index = msg['acl_index'] as number;
    const acl = { tag: msg['tag'] as string, rules: msg['r'] as VppFields[] };
    if (index === 0xffffffff) index = ctx.state.allocateAcl();
    else if (!ctx.state.acls.has(index)) return fail(VNET.NO_SUCH_ENTRY, { acl_index: index });
    ctx.state.acls.set(index, acl);
    return ok({ acl_index: index });
  },
  acl_del: (msg, ctx) => {
    const index = msg['acl_index'] as number;
    if (!ctx.state.acls.has(index)) return fail(VNET.NO_SUCH_ENTRY);
    for (const b of ctx.state.aclBindings.values()) if (b.acls.includes(index)) return fail(-142);
    ctx.state.acls.delete(index);
    return ok();
  },
  acl_dump: (msg, ctx) => {
    const want = msg['acl_index'] as number;
    const list = [...ctx.state.acls].filter(([i]) => want === 0xffffffff || i === want);
    return { details: list.map(([acl_index, a]) => ({ acl_index, tag: a.tag, r: a.rules })) };
  },
  acl_interface_set_acl_list: (msg, ctx) => {
    const sw = msg['sw_if_index'] as number;
    if (!ctx.state.interfaces.has(sw)) return fail(VNET.INVALID_SW_IF_INDEX);
    const acls = msg['acls'] as number[];
    if (acls.some((a) => !ctx.state.acls.has(a))) return fail(VNET.NO_SUCH_ENTRY);
    if (acls.length === 0) ctx.state.aclBindings.delete(sw);
    else ctx.state.aclBindings.set(sw, { nInput: msg['n_input'] as number, acls: [...acls] });
    return ok();
  },
  acl_interface_list_dump: (msg, ctx) => {
    const want = msg['sw_if_index'] as number;
    // A real VPP lists every interface, those without ACLs with empty lists.
    const list = [...ctx.state.interfaces.keys()]
      .filter((sw) => want === 0xffffffff || sw === want)
      .sort((a, b) => a - b)
      .map((sw) => [sw, ctx.state.aclBindings.get(sw) ?? { nInput: 0, acls: [] }] as const);
    return { details: list.map(([sw_if_index, b]) => ({ sw_if_index, n_input: b.nInput, acls: b.acls })) };
  },
};
