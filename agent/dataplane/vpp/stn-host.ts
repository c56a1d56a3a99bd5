// The STN flow on VPP (what Contiv's agent did with the STN daemon's reply): VPP owns the stolen
// NIC, holds the node's address on it, and gives the host a TAP in VPP's own namespace with the
// NIC's MAC, its primary IPv4 address and default gateway; an STN rule sends the TAP whatever
// arrives for that address that VPP does not handle itself (kubelet, ssh, DNS replies). Run at
// every connect to VPP: each step reads first, so a restarted agent changes nothing and a
// restarted VPP (which comes back empty) gets it all again.
//
// Where VPP has cnat's feature arc, the TAP gets cnat's session lookup (no translation): the
// host's packets to pods leave through cnat's output feature, which acts on the state that lookup
// stamps and would otherwise read a recycled buffer's (CnatCalls.enableLookup).
import { fromAddress, toAddress } from './addresses.ts';
import { CnatCalls } from './calls/cnat.ts';
import { InterfaceCalls, type VppInterface } from './calls/interfaces.ts';
import type { VppFields } from './api/field-codecs.ts';
import { DataPlaneError } from '../../scheduler/errors.ts';
import type { VppApi } from './vpp-api.ts';

/** The tag of the host-facing TAP (one per node). */
export const STN_HOST_TAG = 'netloom:stn-host';

export interface StnHostSpec {
  /** The stolen NIC's MAC: how VPP's interface for it is found (VPP names it by PCI address). */
  nicMac: string;
  /** The node's address (CIDR) and IPv4 default gateway ('' for none), from the Steal reply. */
  ip4: string;
  gateway4: string;
  mtu: number;
  /** Kernel name of the host-facing TAP. */
  hostIfName: string;
}

export interface StnHostResult {
  uplink: VppInterface;
  tapSwIfIndex: number;
  /** What this run changed (empty when everything was in place). */
  changed: string[];
}

/** Finds VPP's interface for the stolen NIC by MAC; the TAP carries the same MAC on its host end only. */
export function findUplink(list: VppInterface[], nicMac: string): VppInterface | undefined {
  const mac = nicMac.toLowerCase();
  return list.find((i) => i.mac === mac && i.tag !== STN_HOST_TAG && i.swIfIndex !== 0);
}

export async function ensureStnHost(api: VppApi, spec: StnHostSpec): Promise<StnHostResult> {
  const interfaces = new InterfaceCalls(api);
  const changed: string[] = [];
  const list = await interfaces.list();
  const uplink = findUplink(list, spec.nicMac);
  if (uplink === undefined)
    throw new DataPlaneError(
      `VPP has no interface with the stolen NIC's MAC ${spec.nicMac} (is the NIC in VPP's startup.conf?)`,
      { retriable: true },
    );
  if (!uplink.up) {
    await interfaces.setUp(uplink.swIfIndex, true);
    changed.push(`${uplink.name} up`);
  }
  if (!(await interfaces.addresses(uplink.swIfIndex)).includes(spec.ip4)) {
    await interfaces.addAddress(uplink.swIfIndex, spec.ip4);
    changed.push(`${uplink.name} address ${spec.ip4}`);
  }
  let tap = list.find((i) => i.tag === STN_HOST_TAG);
  if (tap === undefined) {
    const sw = await interfaces.createTap({
      hostIfName: spec.hostIfName,
      hostNamespace: '',
      hostMtu: spec.mtu,
      hostMac: spec.nicMac,
      hostIp4: spec.ip4,
      hostIp4Gateway: spec.gateway4,
      tag: STN_HOST_TAG,
    });
    changed.push(`TAP ${spec.hostIfName} (host end) with ${spec.ip4}`);
    tap = { ...uplink, swIfIndex: sw, name: `tap for ${spec.hostIfName}`, tag: STN_HOST_TAG, up: false };
  }
  if (!tap.up) {
    await interfaces.setUp(tap.swIfIndex, true);
    changed.push(`TAP ${spec.hostIfName} up`);
  }
  const cnat = new CnatCalls(api);
  if (cnat.available() && !(await cnat.lookupEnabled(tap.swIfIndex))) {
    await cnat.enableLookup(tap.swIfIndex);
    changed.push(`TAP ${spec.hostIfName} cnat session lookup`);
  }
  const address = spec.ip4.split('/')[0]!;
  const rules = await api.dump('stn_rules_dump');
  const rule = rules.find((r) => fromAddress(r['ip_address'] as VppFields) === address);
  if (rule?.['sw_if_index'] !== tap.swIfIndex) {
    if (rule !== undefined)
      await api.request('stn_add_del_rule', {
        ip_address: toAddress(address),
        sw_if_index: rule['sw_if_index'] as number,
        is_add: false,
      });
    await api.request('stn_add_del_rule', {
      ip_address: toAddress(address),
      sw_if_index: tap.swIfIndex,
      is_add: true,
    });
    changed.push(`STN rule ${address} → TAP`);
  }
  return { uplink, tapSwIfIndex: tap.swIfIndex, changed };
}
