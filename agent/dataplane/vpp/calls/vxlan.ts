// VPP calls for VXLAN tunnels (L3 mode: decapsulated packets go to ip4/ip6-input).
import { fromAddress, toAddress } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { ALL, GONE, tolerate, type VppApi } from '../vpp-api.ts';

export interface VxlanSpec {
  src: string;
  dst: string;
  port: number;
  vni: number;
}

export interface VppVxlan extends VxlanSpec {
  swIfIndex: number;
}

function fields(t: VxlanSpec, isAdd: boolean): VppFields {
  return {
    is_add: isAdd,
    src_address: toAddress(t.src),
    dst_address: toAddress(t.dst),
    src_port: t.port,
    dst_port: t.port,
    vni: t.vni,
    mcast_sw_if_index: ALL,
    // ~0: the default next node (0 would be drop); with is_l3 that is ip4/ip6-input.
    decap_next_index: ALL,
    is_l3: true,
  };
}

export class VxlanCalls {
  private readonly api: VppApi;

  constructor(api: VppApi) {
    this.api = api;
  }

  async add(t: VxlanSpec): Promise<number> {
    const r = await this.api.request('vxlan_add_del_tunnel_v3', fields(t, true));
    return r['sw_if_index'] as number;
  }

  async remove(t: VxlanSpec): Promise<void> {
    await tolerate(this.api.request('vxlan_add_del_tunnel_v3', fields(t, false)), GONE);
  }

  async list(): Promise<VppVxlan[]> {
    const details = await this.api.dump('vxlan_tunnel_v2_dump', { sw_if_index: ALL });
    return details.map((d) => ({
      swIfIndex: d['sw_if_index'] as number,
      src: fromAddress(d['src_address'] as VppFields),
      dst: fromAddress(d['dst_address'] as VppFields),
      port: d['dst_port'] as number,
      vni: d['vni'] as number,
    }));
  }
}
