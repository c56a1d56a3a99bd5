// Fake handlers for the cnat plugin, with the real plugin's answers for what the driver sends
// (src/plugins/cnat/cnat_api.c, cnat_translation.c, cnat_snat_policy.c):
// - a translation is found by (VIP, port, protocol): an update of one VPP holds keeps its id
//   and replaces its paths, not its flow hash (only a new translation takes that); ids come from
//   a pool (the last freed first); deleting a free id is NO_SUCH_ENTRY;
// - the details carry the VIP and the paths' endpoints (sw_if_index ~0, address family, port)
//   and no flags, flow hash or is_real_ip (the handler leaves them zero);
// - the source-NAT addresses make table 0's policy entry; before it exists the pod table, the
//   policy and the address read are FEATURE_DISABLED;
// - feature_cnat_enable_disable and the pod table validate the interface (INVALID_SW_IF_INDEX);
// - a path's destination on a connected subnet gets its adjacency /32 (FakeVppState.trackAddress).
import { fromAddress } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { fail, ok, VNET, type Handler } from './handler.ts';

const FEATURE_DISABLED = -30;
const NO_INTERFACE = 0xffffffff;

/** An endpoint as cnat_endpoint_encode writes it back. */
function endpoint(e: VppFields): VppFields {
  return { addr: e['addr'], sw_if_index: NO_INTERFACE, if_af: 0, port: e['port'] };
}

const frontendOf = (t: VppFields): string => {
  const vip = t['vip'] as VppFields;
  return `${fromAddress(vip['addr'] as VppFields)}|${vip['port'] as number}|${t['ip_proto'] as number}`;
};

export const cnatHandlers: Record<string, Handler> = {
  feature_cnat_enable_disable: (msg, ctx) => {
    const sw = msg['sw_if_index'] as number;
    if (!ctx.state.interfaces.has(sw)) return fail(VNET.INVALID_SW_IF_INDEX);
    if (msg['enable_disable'] === true) ctx.state.cnat.features.add(sw);
    else ctx.state.cnat.features.delete(sw);
    return ok();
  },
  cnat_set_snat_addresses: (msg, ctx) => {
    const cur = ctx.state.cnat.snat;
    ctx.state.cnat.snat = {
      ip4: msg['snat_ip4'] as Uint8Array,
      ip6: msg['snat_ip6'] as Uint8Array,
      policy: cur?.policy ?? 0,
      pods: cur?.pods ?? new Set(),
    };
    return ok();
  },
  cnat_get_snat_addresses: (_msg, ctx) => {
    const snat = ctx.state.cnat.snat;
    if (snat === null) return fail(FEATURE_DISABLED);
    return ok({ id: 0, snat_ip4: snat.ip4, snat_ip6: snat.ip6, sw_if_index: NO_INTERFACE });
  },
  cnat_set_snat_policy: (msg, ctx) => {
    const snat = ctx.state.cnat.snat;
    if (snat === null) return fail(FEATURE_DISABLED);
    snat.policy = msg['policy'] as number;
    return ok();
  },
  cnat_snat_policy_add_del_if: (msg, ctx) => {
    const sw = msg['sw_if_index'] as number;
    if (!ctx.state.interfaces.has(sw)) return fail(VNET.INVALID_SW_IF_INDEX);
    const snat = ctx.state.cnat.snat;
    if (snat === null) return fail(FEATURE_DISABLED);
    if (msg['is_add'] === 0) snat.pods.delete(sw);
    else snat.pods.add(sw);
    return ok();
  },
  cnat_translation_update: (msg, ctx) => {
    const cnat = ctx.state.cnat;
    const t = msg['translation'] as VppFields;
    const paths = t['paths'] as VppFields[];
    const frontend = frontendOf(t);
    let id = [...cnat.translations].find(([, d]) => frontendOf(d) === frontend)?.[0];
    if (id === undefined) {
      id = cnat.freeIds.pop() ?? cnat.nextId++;
      cnat.flowHash.set(id, t['flow_hash_config'] as number);
    }
    for (const p of paths)
      ctx.state.trackAddress(fromAddress((p['dst_ep'] as VppFields)['addr'] as VppFields));
    cnat.translations.set(id, {
      vip: endpoint(t['vip'] as VppFields),
      id,
      ip_proto: t['ip_proto'],
      is_real_ip: 0,
      flags: 0,
      lb_type: t['lb_type'],
      flow_hash_config: 0,
      paths: paths.map((p) => ({
        dst_ep: endpoint(p['dst_ep'] as VppFields),
        src_ep: endpoint(p['src_ep'] as VppFields),
        flags: 0,
      })),
    });
    return ok({ id });
  },
  cnat_translation_del: (msg, ctx) => {
    const cnat = ctx.state.cnat;
    const id = msg['id'] as number;
    if (!cnat.translations.delete(id)) return fail(VNET.NO_SUCH_ENTRY);
    cnat.flowHash.delete(id);
    cnat.freeIds.push(id);
    return ok();
  },
  cnat_translation_dump: (_msg, ctx) => ({
    details: [...ctx.state.cnat.translations.values()].map((translation) => ({ translation })),
  }),
};
