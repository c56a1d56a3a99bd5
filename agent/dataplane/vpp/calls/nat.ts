// VPP calls for NAT44-ED: enabling the plugin, inside/outside interfaces, the address pools
// (the ordinary one for source NAT, the twice-NAT one for translating Service clients), and the
// static mappings that implement services (load-balanced with ≥ 2 backends, a plain static
// mapping with one: VPP refuses an LB mapping with fewer than two locals).
import { ip4Bytes, ip4String } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { GONE, tolerate, type VppApi } from '../vpp-api.ts';

// vl_api_nat_config_flags_t (src/plugins/nat/lib/nat_types.api).
/** A mapping: translate every client's source to a twice-NAT pool address. */
export const NAT_IS_TWICE_NAT = 0x01;
/** A mapping: translate the client's source only when it is the chosen backend (hairpin). */
export const NAT_IS_SELF_TWICE_NAT = 0x02;
/** A mapping: match new connections from outside only (no in2out entry for the backends). */
export const NAT_IS_OUT2IN_ONLY = 0x04;
export const NAT_IS_OUTSIDE = 0x10;
export const NAT_IS_INSIDE = 0x20;
const NO_INTERFACE = 0xffffffff;
// src/vnet/error.h: what nat44_plugin_enable answers when the plugin is already on.
const FEATURE_ALREADY_ENABLED = -170;

export interface NatBackend {
  ip: string;
  port: number;
  probability: number;
  vrf: number;
}

/** One service frontend as VPP holds it. */
export interface NatMapping {
  external: string;
  port: number;
  /** IP protocol number. */
  protocol: number;
  affinity: number;
  /** nat_config_flags of the mapping: NAT_IS_OUT2IN_ONLY with TWICE_NAT or SELF_TWICE_NAT. */
  flags: number;
  tag: string;
  backends: NatBackend[];
}

/** An identity mapping (address and port, no translation). */
export interface NatIdentity {
  ip: string;
  /** IP protocol number. */
  protocol: number;
  port: number;
  vrf: number;
}

export class NatCalls {
  private readonly api: VppApi;

  constructor(api: VppApi) {
    this.api = api;
  }

  /** Enables NAT44-ED; an enabled plugin answers VNET_API_ERROR_FEATURE_ALREADY_ENABLED, which is fine. */
  async enable(): Promise<void> {
    await tolerate(this.api.request('nat44_ed_plugin_enable_disable', { enable: true }), [
      FEATURE_ALREADY_ENABLED,
    ]);
  }

  async setInterface(swIfIndex: number, side: 'inside' | 'outside', add: boolean): Promise<void> {
    const flags = side === 'inside' ? NAT_IS_INSIDE : NAT_IS_OUTSIDE;
    const op = this.api.request('nat44_interface_add_del_feature', {
      is_add: add,
      flags,
      sw_if_index: swIfIndex,
    });
    await tolerate(op, add ? [] : [...GONE, -126]);
  }

  async interfaces(): Promise<Map<number, number>> {
    const details = await this.api.dump('nat44_interface_dump');
    return new Map(details.map((d) => [d['sw_if_index'] as number, d['flags'] as number]));
  }

  async addAddress(ip: string, add: boolean): Promise<void> {
    const op = this.api.request('nat44_add_del_address_range', {
      first_ip_address: ip4Bytes(ip),
      last_ip_address: ip4Bytes(ip),
      is_add: add,
    });
    await tolerate(op, add ? [-81] : [...GONE, -126]);
  }

  /** Adds (or removes) `ip` to the twice-NAT pool; VPP keeps it apart from the ordinary pool. */
  async addTwiceNatAddress(ip: string, add: boolean): Promise<void> {
    const op = this.api.request('nat44_add_del_address_range', {
      first_ip_address: ip4Bytes(ip),
      last_ip_address: ip4Bytes(ip),
      is_add: add,
      flags: NAT_IS_TWICE_NAT,
    });
    await tolerate(op, add ? [-81] : [...GONE, -126]);
  }

  /** The ordinary pool (the dump lists both pools; twice-NAT entries carry the flag). */
  async addresses(): Promise<string[]> {
    return (await this.addressDump()).filter((a) => !a.twiceNat).map((a) => a.ip);
  }

  async twiceNatAddresses(): Promise<string[]> {
    return (await this.addressDump()).filter((a) => a.twiceNat).map((a) => a.ip);
  }

  private async addressDump(): Promise<{ ip: string; twiceNat: boolean }[]> {
    return (await this.api.dump('nat44_address_dump')).map((d) => ({
      ip: ip4String(d['ip_address'] as Uint8Array),
      twiceNat: ((d['flags'] as number) & NAT_IS_TWICE_NAT) !== 0,
    }));
  }

  /**
   * An identity mapping: packets to `ip`:`port` (`protocol`) arriving on an outside interface
   * pass untranslated. Without one, NAT44-ED drops every packet to the pool address that matches
   * no session (out2in "no translation"), VXLAN from the other nodes among them.
   */
  async addIdentity(m: NatIdentity, add: boolean): Promise<void> {
    const op = this.api.request('nat44_add_del_identity_mapping', {
      is_add: add,
      flags: 0,
      ip_address: ip4Bytes(m.ip),
      protocol: m.protocol,
      port: m.port,
      sw_if_index: NO_INTERFACE,
      vrf_id: m.vrf,
      tag: '',
    });
    // VNET_API_ERROR_VALUE_EXIST (-81): already there; gone on delete likewise.
    await tolerate(op, add ? [-81] : [...GONE, -126]);
  }

  async identities(): Promise<NatIdentity[]> {
    return (await this.api.dump('nat44_identity_mapping_dump')).map((d) => ({
      ip: ip4String(d['ip_address'] as Uint8Array),
      protocol: d['protocol'] as number,
      port: d['port'] as number,
      vrf: d['vrf_id'] as number,
    }));
  }

  async addMapping(m: NatMapping): Promise<void> {
    if (m.backends.length === 1) {
      const b = m.backends[0]!;
      await this.api.request('nat44_add_del_static_mapping_v2', {
        is_add: true,
        flags: m.flags,
        local_ip_address: ip4Bytes(b.ip),
        external_ip_address: ip4Bytes(m.external),
        protocol: m.protocol,
        local_port: b.port,
        external_port: m.port,
        external_sw_if_index: NO_INTERFACE,
        vrf_id: b.vrf,
        tag: m.tag,
      });
      return;
    }
    await this.api.request('nat44_add_del_lb_static_mapping', {
      is_add: true,
      flags: m.flags,
      external_addr: ip4Bytes(m.external),
      external_port: m.port,
      protocol: m.protocol,
      affinity: m.affinity,
      tag: m.tag,
      locals: m.backends.map((b) => ({
        addr: ip4Bytes(b.ip),
        port: b.port,
        probability: b.probability,
        vrf_id: b.vrf,
      })),
    });
  }

  /** Deletes the mapping of this frontend, whichever kind it is. */
  async deleteMapping(
    m: Pick<NatMapping, 'external' | 'port' | 'protocol' | 'backends' | 'flags'>,
  ): Promise<void> {
    const gone = [...GONE, -126];
    if (m.backends.length === 1) {
      const b = m.backends[0]!;
      const fields = {
        is_add: false,
        flags: m.flags,
        local_ip_address: ip4Bytes(b.ip),
        external_ip_address: ip4Bytes(m.external),
        protocol: m.protocol,
        local_port: b.port,
        external_port: m.port,
        external_sw_if_index: NO_INTERFACE,
        vrf_id: b.vrf,
      };
      await tolerate(this.api.request('nat44_add_del_static_mapping_v2', fields), gone);
      return;
    }
    const fields = {
      is_add: false,
      flags: m.flags,
      external_addr: ip4Bytes(m.external),
      external_port: m.port,
      protocol: m.protocol,
    };
    await tolerate(this.api.request('nat44_add_del_lb_static_mapping', fields), gone);
  }

  async mappings(): Promise<NatMapping[]> {
    const lb = (await this.api.dump('nat44_lb_static_mapping_dump')).map((d) => ({
      external: ip4String(d['external_addr'] as Uint8Array),
      port: d['external_port'] as number,
      protocol: d['protocol'] as number,
      affinity: d['affinity'] as number,
      flags: d['flags'] as number,
      tag: d['tag'] as string,
      backends: (d['locals'] as VppFields[]).map((l) => ({
        ip: ip4String(l['addr'] as Uint8Array),
        port: l['port'] as number,
        probability: l['probability'] as number,
        vrf: l['vrf_id'] as number,
      })),
    }));
    const single = (await this.api.dump('nat44_static_mapping_dump')).map((d) => ({
      external: ip4String(d['external_ip_address'] as Uint8Array),
      port: d['external_port'] as number,
      protocol: d['protocol'] as number,
      affinity: 0,
      flags: d['flags'] as number,
      tag: d['tag'] as string,
      backends: [
        {
          ip: ip4String(d['local_ip_address'] as Uint8Array),
          port: d['local_port'] as number,
          probability: 1,
          vrf: d['vrf_id'] as number,
        },
      ],
    }));
    return [...lb, ...single];
  }
}
