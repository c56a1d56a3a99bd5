// VPP calls for VXLAN tunnels in L3 mode: decapsulated packets go to ip4-input (ip6-input), where
// the tunnel interface's FIB table (its VRF) routes them; the encapsulated packets are routed in
// the underlay, table 0.
//
// Real VPP detail: through the API, `decap_next_index = ~0` means l2-input even with `is_l3`
// (vnet_vxlan_add_del_tunnel; only the CLI substitutes ip4-input), and an L3 tunnel in no
// bridge domain drops what l2-input gets. The index of ip4-input as a next of vxlan4-input is
// not fixed: it is the arc `add_node_next` makes (or finds), as Calico/VPP does.
import { fromAddress, isIp6, toAddress } from '../addresses.ts';
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
  /** The vxlan4-input (vxlan6-input) next its packets go to after decapsulation. */
  decapNext: number;
  /** The table the encapsulated packets are routed in. */
  encapVrf: number;
}

/** The underlay's table: tunnels of every VRF are carried by the node's default table. */
export const UNDERLAY_VRF = 0;

/** get_next_index: the node has no arc to that next. */
const NO_SUCH_ENTRY = -6;

function fields(t: VxlanSpec, isAdd: boolean, decapNext: number): VppFields {
  return {
    is_add: isAdd,
    src_address: toAddress(t.src),
    dst_address: toAddress(t.dst),
    src_port: t.port,
    dst_port: t.port,
    vni: t.vni,
    mcast_sw_if_index: ALL,
    encap_vrf_id: UNDERLAY_VRF,
    decap_next_index: decapNext,
    is_l3: true,
  };
}

export class VxlanCalls {
  private readonly api: VppApi;

  constructor(api: VppApi) {
    this.api = api;
  }

  /** The decap next index that hands decapsulated packets to ip4-input (ip6-input). */
  async l3DecapNext(ipv6: boolean): Promise<number> {
    const r = await this.api.request('add_node_next', {
      node_name: ipv6 ? 'vxlan6-input' : 'vxlan4-input',
      next_name: ipv6 ? 'ip6-input' : 'ip4-input',
    });
    return r['next_index'] as number;
  }

  /**
   * The same index, read only (`get_next_index`): undefined while the arc does not exist (then
   * no tunnel hands its packets to ip4-input yet).
   */
  async findL3DecapNext(ipv6: boolean): Promise<number | undefined> {
    const r = await tolerate(
      this.api.request('get_next_index', {
        node_name: ipv6 ? 'vxlan6-input' : 'vxlan4-input',
        next_name: ipv6 ? 'ip6-input' : 'ip4-input',
      }),
      [NO_SUCH_ENTRY],
    );
    return r === undefined ? undefined : (r['next_index'] as number);
  }

  async add(t: VxlanSpec): Promise<number> {
    const decapNext = await this.l3DecapNext(isIp6(t.src));
    const r = await this.api.request('vxlan_add_del_tunnel_v3', fields(t, true, decapNext));
    return r['sw_if_index'] as number;
  }

  async remove(t: VxlanSpec): Promise<void> {
    // VPP finds the tunnel by its key (addresses, VNI, encap table); the decap next is not read.
    await tolerate(this.api.request('vxlan_add_del_tunnel_v3', fields(t, false, ALL)), GONE);
  }

  async list(): Promise<VppVxlan[]> {
    const details = await this.api.dump('vxlan_tunnel_v2_dump', { sw_if_index: ALL });
    return details.map((d) => ({
      swIfIndex: d['sw_if_index'] as number,
      src: fromAddress(d['src_address'] as VppFields),
      dst: fromAddress(d['dst_address'] as VppFields),
      port: d['dst_port'] as number,
      vni: d['vni'] as number,
      decapNext: d['decap_next_index'] as number,
      encapVrf: d['encap_vrf_id'] as number,
    }));
  }
}
