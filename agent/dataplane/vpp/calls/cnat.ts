// VPP calls for the cnat plugin (src/plugins/cnat/cnat.api): translations (a frontend and its
// backends, no tag: VPP keys them by VIP, port and protocol and numbers them), the source-NAT
// address and policy, and the per-interface feature arc. How the driver uses them, and why in
// feature mode: docs/adr/0018-vpp-services-on-cnat.md and ../README.md ("Services").
import { ip4Bytes, ip4String, ip6Bytes, toAddress, fromAddress, ADDRESS_IP4 } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { GONE, tolerate, type VppApi } from '../vpp-api.ts';

const NO_INTERFACE = 0xffffffff;
// src/vnet/error.h
const FEATURE_DISABLED = -30;
/** vl_api_cnat_snat_policy_table_t: the `k8s` interface table, "pod interfaces". */
const CNAT_POLICY_POD = 2;
/** vl_api_cnat_snat_policies_t: masquerade hairpin and outside-to-outside, nothing else. */
const CNAT_POLICY_K8S = 2;
/** vl_api_ip_flow_hash_config_v2_t: the source address alone (ClientIP affinity). */
export const FLOW_HASH_SRC_IP = 0x01;
/** What VPP uses when the translation gives 0: addresses, ports and protocol. */
export const FLOW_HASH_DEFAULT = 0;

/**
 * cnat's session lookup as a feature on its own (vnet's generic feature API): it stamps every
 * packet with its session state, which cnat's output feature reads (see `enableLookup`).
 */
const LOOKUP_FEATURE = { arc_name: 'ip4-unicast', feature_name: 'cnat-lookup-ip4' };

/** The message that says a VPP has cnat's feature arc (absent from v25.10). */
export const CNAT_FEATURE_MESSAGE = 'feature_cnat_enable_disable';

export interface CnatBackend {
  ip: string;
  port: number;
}

/** One frontend as cnat holds it. */
export interface CnatTranslation {
  vip: string;
  port: number;
  /** IP protocol number. */
  protocol: number;
  backends: CnatBackend[];
  /** FLOW_HASH_SRC_IP for ClientIP affinity; not read back (the dump leaves it out). */
  flowHash: number;
}

export class CnatCalls {
  private readonly api: VppApi;

  constructor(api: VppApi) {
    this.api = api;
  }

  /**
   * Whether the VPP connected now has cnat's feature arc. An API without `supports` (a test
   * double) is taken at its word by the calls that follow.
   */
  available(): boolean {
    return this.api.supports?.(CNAT_FEATURE_MESSAGE) ?? true;
  }

  /** cnat's input and output features on an interface (and its DNAT/SNAT hooks, once). */
  async enableInterface(swIfIndex: number): Promise<void> {
    await this.api.request(CNAT_FEATURE_MESSAGE, { sw_if_index: swIfIndex, enable_disable: true });
  }

  /**
   * cnat's session lookup alone on an interface that must not translate (the uplink: NAT44-ED
   * serves the outside world there). `cnat-output-ip4` acts on the session state the buffer
   * carries and never looks it up itself; a packet that entered through an interface without
   * cnat's lookup carries whatever its buffer's last use left there, and a node port's packet
   * leaving through a tunnel or a pod interface got a stale session's rewrite applied to it
   * (traced on a real VPP: source 169.254.1.2, a bad IP checksum, after a `kubectl scale`).
   * vnet adds a feature twice when asked twice, so callers check `lookupEnabled` first.
   */
  async enableLookup(swIfIndex: number): Promise<void> {
    await this.api.request('feature_enable_disable', {
      sw_if_index: swIfIndex,
      enable: true,
      ...LOOKUP_FEATURE,
    });
  }

  /** Whether cnat's session lookup is on the interface's IPv4 input. */
  async lookupEnabled(swIfIndex: number): Promise<boolean> {
    const r = await this.api.request('feature_is_enabled', { sw_if_index: swIfIndex, ...LOOKUP_FEATURE });
    return r['is_enabled'] === true;
  }

  /** Puts an interface in (or takes it out of) the `k8s` policy's pod table. */
  async setPodInterface(swIfIndex: number, add: boolean): Promise<void> {
    const op = this.api.request('cnat_snat_policy_add_del_if', {
      sw_if_index: swIfIndex,
      is_add: add ? 1 : 0,
      table: CNAT_POLICY_POD,
    });
    // Taking out is idempotent: gone, or no policy entry yet (so no table to be in).
    await tolerate(op, add ? [] : [...GONE, FEATURE_DISABLED]);
  }

  /**
   * Makes `ip4` cnat's IPv4 source-NAT address, with the `k8s` policy, unless it already is.
   * VPP refuses the pod table and the policy (FEATURE_DISABLED) before an address is set: the
   * address makes table 0's policy entry.
   */
  async ensureSnat(ip4: string): Promise<void> {
    if ((await this.snatAddress()) !== ip4) await this.setSnat(ip4);
  }

  /** The source-NAT address for IPv4 (IPv6 left unset) and the `k8s` policy that uses it. */
  async setSnat(ip4: string): Promise<void> {
    await this.api.request('cnat_set_snat_addresses', {
      snat_ip4: ip4Bytes(ip4),
      snat_ip6: ip6Bytes('::'),
      sw_if_index: NO_INTERFACE,
    });
    await this.api.request('cnat_set_snat_policy', { policy: CNAT_POLICY_K8S });
  }

  /** The IPv4 source-NAT address VPP holds ('0.0.0.0' when none). */
  async snatAddress(): Promise<string> {
    // FEATURE_DISABLED: no address was ever set (table 0 has no policy entry yet).
    const r = await tolerate(this.api.request('cnat_get_snat_addresses'), [FEATURE_DISABLED]);
    return r === undefined ? '0.0.0.0' : ip4String(r['snat_ip4'] as Uint8Array);
  }

  /** Adds or replaces the translation of (vip, port, protocol); returns VPP's id for it. */
  async update(t: CnatTranslation): Promise<number> {
    const endpoint = (ip: string, port: number): VppFields => ({
      addr: toAddress(ip),
      sw_if_index: NO_INTERFACE,
      if_af: ADDRESS_IP4,
      port,
    });
    const r = await this.api.request('cnat_translation_update', {
      translation: {
        vip: endpoint(t.vip, t.port),
        id: 0,
        ip_proto: t.protocol,
        // A VIP that is no interface's address: cnat takes its /32 exclusively.
        is_real_ip: 0,
        flags: 0,
        lb_type: 0,
        flow_hash_config: t.flowHash,
        paths: t.backends.map((b) => ({
          dst_ep: endpoint(b.ip, b.port),
          src_ep: endpoint('0.0.0.0', 0),
          flags: 0,
        })),
      },
    });
    return r['id'] as number;
  }

  async delete(id: number): Promise<void> {
    await tolerate(this.api.request('cnat_translation_del', { id }), GONE);
  }

  /** Every translation VPP holds, with its id. */
  async translations(): Promise<(CnatTranslation & { id: number })[]> {
    return (await this.api.dump('cnat_translation_dump')).map((d) => {
      const t = d['translation'] as VppFields;
      const vip = t['vip'] as VppFields;
      return {
        id: t['id'] as number,
        vip: fromAddress(vip['addr'] as VppFields),
        port: vip['port'] as number,
        protocol: t['ip_proto'] as number,
        backends: (t['paths'] as VppFields[]).map((p) => {
          const dst = p['dst_ep'] as VppFields;
          return { ip: fromAddress(dst['addr'] as VppFields), port: dst['port'] as number };
        }),
        flowHash: FLOW_HASH_DEFAULT,
      };
    });
  }
}
