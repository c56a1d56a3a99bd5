// A pod's `k8s.v1.cni.cncf.io/network-status` annotation from its attachments/ records. Pure.
//
// Per the multi-net spec (v1.3, section 4.1.2.3): a JSON list of {name, interface, ips (plain
// addresses), mac, default, dns, default-route}, the cluster default network included with
// `default: true`. Order: the default network's entry first, then the others in the order the pod
// asked for them (the record's index, as Multus lists them), then by interface name (net2 before
// net10: numbers compare as numbers) for records that carry no index.
import { addressOf } from '../../lib/cidr.ts';
import type { Attachment } from './attachments.ts';

export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';

export interface NetworkStatusDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface NetworkStatusEntry {
  name: string;
  interface: string;
  ips?: string[];
  mac?: string;
  default: boolean;
  dns?: NetworkStatusDns;
  'default-route'?: string[];
}

/**
 * The entries for the pod whose UID is `podUid`. A record of another UID is a leftover of an
 * earlier pod of the same name and is ignored; a record without a UID (a runtime that passes
 * none) is taken as the current pod's.
 */
export function networkStatusOf(records: readonly Attachment[], podUid: string): NetworkStatusEntry[] {
  return records
    .filter((a) => a.record.podUid === podUid || a.record.podUid === '')
    .sort(
      (a, b) =>
        Number(b.record.default) - Number(a.record.default) ||
        a.record.index - b.record.index ||
        compareInterfaces(a.ifname, b.ifname) ||
        a.record.network.localeCompare(b.record.network),
    )
    .map(entryOf);
}

/** The annotation's value; undefined when the pod has no record (nothing netloom can state). */
export function networkStatusText(records: readonly Attachment[], podUid: string): string | undefined {
  const entries = networkStatusOf(records, podUid);
  return entries.length > 0 ? JSON.stringify(entries) : undefined;
}

function entryOf(a: Attachment): NetworkStatusEntry {
  const r = a.record;
  // Built in the spec's field order (name, interface, ips, mac, default, dns, default-route).
  const e: Partial<NetworkStatusEntry> = { name: r.name || r.network || 'netloom', interface: a.ifname };
  if (r.ips.length > 0) e.ips = r.ips.map(addressOf);
  if (r.mac !== '') e.mac = r.mac;
  e.default = r.default;
  const dns = dnsOf(r.dns);
  if (dns) e.dns = dns;
  if (r.gateways.length > 0) e['default-route'] = [...r.gateways];
  return e as NetworkStatusEntry;
}

function dnsOf(d: Attachment['record']['dns']): NetworkStatusDns | undefined {
  if (!d) return undefined;
  const out: NetworkStatusDns = {};
  if (d.nameservers.length > 0) out.nameservers = [...d.nameservers];
  if (d.domain !== '') out.domain = d.domain;
  if (d.search.length > 0) out.search = [...d.search];
  if (d.options.length > 0) out.options = [...d.options];
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Interface names with their trailing numbers compared as numbers: net2 before net10. */
export function compareInterfaces(a: string, b: string): number {
  const ma = /^(.*?)(\d+)$/.exec(a);
  const mb = /^(.*?)(\d+)$/.exec(b);
  if (ma && mb && ma[1] === mb[1]) return Number(ma[2]) - Number(mb[2]) || a.localeCompare(b);
  return a < b ? -1 : a > b ? 1 : 0;
}
