// VPP calls for interfaces: listing (with tags), TAPs, loopbacks, admin state, VRF binding,
// MTU, addresses, unnumbered borrowing and proxy ARP. Message shapes live here and nowhere else.
import { fromPrefix, ip4Bytes, macBytes, macString, toIp4Prefix, toPrefix } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { ALL, GONE, tolerate, type VppApi } from '../vpp-api.ts';

const ADMIN_UP = 1;

export interface VppInterface {
  swIfIndex: number;
  name: string;
  devType: string;
  tag: string;
  up: boolean;
  mac: string;
  /** L3 MTU. */
  mtu: number;
}

export interface TapSpec {
  /** Name inside the pod. */
  hostIfName: string;
  /** Path of the pod's network namespace; '' for VPP's own. */
  hostNamespace: string;
  hostMtu: number;
  hostMac: string;
  /** CIDR for the pod side ('' for none) and its default gateway ('' for none). */
  hostIp4: string;
  hostIp4Gateway: string;
  tag: string;
}

export interface VppTap {
  swIfIndex: number;
  hostIfName: string;
  hostNamespace: string;
  hostMtu: number;
  hostMac: string;
  hostIp4: string;
}

export class InterfaceCalls {
  private readonly api: VppApi;

  constructor(api: VppApi) {
    this.api = api;
  }

  async list(): Promise<VppInterface[]> {
    return this.dumpInterfaces(ALL);
  }

  /** One interface (a dump filtered by index: no cost that grows with the node's pods). */
  async get(swIfIndex: number): Promise<VppInterface | undefined> {
    return (await this.dumpInterfaces(swIfIndex)).find((i) => i.swIfIndex === swIfIndex);
  }

  private async dumpInterfaces(swIfIndex: number): Promise<VppInterface[]> {
    const details = await this.api.dump('sw_interface_dump', { sw_if_index: swIfIndex });
    return details.map((d) => ({
      swIfIndex: d['sw_if_index'] as number,
      name: d['interface_name'] as string,
      devType: d['interface_dev_type'] as string,
      tag: d['tag'] as string,
      up: ((d['flags'] as number) & ADMIN_UP) !== 0,
      mac: macString(d['l2_address'] as Uint8Array),
      mtu: (d['mtu'] as number[])[0] ?? 0,
    }));
  }

  async createTap(spec: TapSpec): Promise<number> {
    const fields: Record<string, VppFields[string]> = {
      host_if_name_set: true,
      host_if_name: spec.hostIfName,
      host_mtu_set: true,
      host_mtu_size: spec.hostMtu,
      host_mac_addr_set: true,
      host_mac_addr: macBytes(spec.hostMac),
      tag: spec.tag,
    };
    // '' leaves the host end in VPP's own namespace (the node's, for the STN host interface).
    if (spec.hostNamespace !== '')
      Object.assign(fields, { host_namespace_set: true, host_namespace: spec.hostNamespace });
    if (spec.hostIp4 !== '')
      Object.assign(fields, { host_ip4_prefix_set: true, host_ip4_prefix: toIp4Prefix(spec.hostIp4) });
    if (spec.hostIp4Gateway !== '')
      Object.assign(fields, { host_ip4_gw_set: true, host_ip4_gw: ip4Bytes(spec.hostIp4Gateway) });
    const r = await this.api.request('tap_create_v3', fields);
    return r['sw_if_index'] as number;
  }

  async deleteTap(swIfIndex: number): Promise<void> {
    await tolerate(this.api.request('tap_delete_v2', { sw_if_index: swIfIndex }), GONE);
  }

  async taps(): Promise<VppTap[]> {
    const details = await this.api.dump('sw_interface_tap_v2_dump', { sw_if_index: ALL });
    return details.map((d) => {
      const p = d['host_ip4_prefix'] as VppFields;
      return {
        swIfIndex: d['sw_if_index'] as number,
        hostIfName: d['host_if_name'] as string,
        hostNamespace: d['host_namespace'] as string,
        hostMtu: d['host_mtu_size'] as number,
        hostMac: macString(d['host_mac_addr'] as Uint8Array),
        hostIp4:
          (p['len'] as number) === 0
            ? ''
            : `${Array.from(p['address'] as Uint8Array).join('.')}/${p['len'] as number}`,
      };
    });
  }

  async createLoopback(mac: string): Promise<number> {
    const r = await this.api.request('create_loopback_instance', { mac_address: macBytes(mac) });
    return r['sw_if_index'] as number;
  }

  async deleteLoopback(swIfIndex: number): Promise<void> {
    await tolerate(this.api.request('delete_loopback', { sw_if_index: swIfIndex }), GONE);
  }

  async setTag(swIfIndex: number, tag: string): Promise<void> {
    await this.api.request('sw_interface_tag_add_del', { is_add: true, sw_if_index: swIfIndex, tag });
  }

  async setUp(swIfIndex: number, up: boolean): Promise<void> {
    await this.api.request('sw_interface_set_flags', { sw_if_index: swIfIndex, flags: up ? ADMIN_UP : 0 });
  }

  /** Binds the interface to a VRF for IPv4 and IPv6 (the VRF's tables exist in both). */
  async setVrf(swIfIndex: number, vrf: number): Promise<void> {
    await this.api.request('sw_interface_set_table', { sw_if_index: swIfIndex, is_ipv6: false, vrf_id: vrf });
    await this.api.request('sw_interface_set_table', { sw_if_index: swIfIndex, is_ipv6: true, vrf_id: vrf });
  }

  async vrf(swIfIndex: number): Promise<number> {
    const r = await this.api.request('sw_interface_get_table', { sw_if_index: swIfIndex, is_ipv6: false });
    return r['vrf_id'] as number;
  }

  async setMtu(swIfIndex: number, mtu: number): Promise<void> {
    await this.api.request('sw_interface_set_mtu', { sw_if_index: swIfIndex, mtu: [mtu, 0, 0, 0] });
  }

  async addAddress(swIfIndex: number, cidr: string): Promise<void> {
    await this.api.request('sw_interface_add_del_address', {
      sw_if_index: swIfIndex,
      is_add: true,
      prefix: toPrefix(cidr),
    });
  }

  async addresses(swIfIndex: number): Promise<string[]> {
    const v4 = await this.api.dump('ip_address_dump', { sw_if_index: swIfIndex, is_ipv6: false });
    const v6 = await this.api.dump('ip_address_dump', { sw_if_index: swIfIndex, is_ipv6: true });
    return [...v4, ...v6].map((d) => fromPrefix(d['prefix'] as VppFields));
  }

  /** `borrower` uses the addresses of `owner` (VPP: sw_if_index owns, unnumbered_sw_if_index borrows). */
  async setUnnumbered(borrower: number, owner: number): Promise<void> {
    await this.api.request('sw_interface_set_unnumbered', {
      sw_if_index: owner,
      unnumbered_sw_if_index: borrower,
      is_add: true,
    });
  }

  async proxyArpRange(vrf: number, low: string, hi: string, add: boolean): Promise<void> {
    const op = this.api.request('proxy_arp_add_del', {
      is_add: add,
      proxy: { table_id: vrf, low: ip4Bytes(low), hi: ip4Bytes(hi) },
    });
    // -81: the range is there already (shared by every gateway of the subnet); -6: gone already.
    await tolerate(op, add ? [-81] : [-6]);
  }

  async proxyArpRanges(): Promise<{ vrf: number; low: string; hi: string }[]> {
    const details = await this.api.dump('proxy_arp_dump');
    return details.map((d) => {
      const p = d['proxy'] as VppFields;
      return {
        vrf: p['table_id'] as number,
        low: Array.from(p['low'] as Uint8Array).join('.'),
        hi: Array.from(p['hi'] as Uint8Array).join('.'),
      };
    });
  }

  async proxyArpOn(swIfIndex: number): Promise<void> {
    await this.api.request('proxy_arp_intfc_enable_disable', { sw_if_index: swIfIndex, enable: true });
  }
}
