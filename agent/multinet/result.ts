// Reading a plugin's result: the pod-side interface it made (name, addresses, MAC, DNS), in
// either result shape (0.3.0 on: interfaces/ips with an interface index; before: ip4/ip6),
// and whether that is what the pod asked for. Pure; the kernel read of the MAC is delegate.ts's.
import { isIP } from 'node:net';
import { addressOf, bigIntToIp, ipToBigInt, splitCidr } from '../../lib/cidr.ts';
import { PluginOutputError, type Invocation } from './errors.ts';
import { isLegacyResult, parseVersion } from './netconf.ts';

export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** The pod-side interface of an attachment: what network-status reports. */
export interface AttachedInterface {
  interface: string;
  /** Plain addresses (no prefix length), as network-status lists them. */
  ips: string[];
  /** Lower case; '' when neither the result nor the kernel told. */
  mac: string;
  dns?: Dns;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A successful plugin's stdout as a result object: JSON, an object, with a cniVersion. ADD must
 * print one; an empty stdout is refused here and tolerated (not read) for DEL and CHECK.
 */
export function parseResult(inv: Invocation, stdout: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(stdout);
  } catch (err) {
    const what =
      stdout.trim() === ''
        ? 'printed no result'
        : `printed something that is not JSON: ${(err as Error).message}`;
    throw new PluginOutputError(inv, what, stdout, err);
  }
  if (!isObject(v)) throw new PluginOutputError(inv, 'printed JSON that is not a result object', stdout);
  const version = v['cniVersion'];
  if (typeof version !== 'string' || parseVersion(version) === undefined)
    throw new PluginOutputError(inv, 'result has no valid cniVersion', stdout);
  return v;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** The result's DNS, when it says anything. */
function dnsOf(v: unknown): Dns | undefined {
  if (!isObject(v)) return undefined;
  const dns: Dns = {};
  if (strings(v['nameservers']).length) dns.nameservers = strings(v['nameservers']);
  if (typeof v['domain'] === 'string' && v['domain'] !== '') dns.domain = v['domain'];
  if (strings(v['search']).length) dns.search = strings(v['search']);
  if (strings(v['options']).length) dns.options = strings(v['options']);
  return Object.keys(dns).length > 0 ? dns : undefined;
}

/** A valid address in CIDR or bare form, as a plain address in canonical text; else undefined. */
function plainAddress(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const c = splitCidr(v);
  return c === undefined ? undefined : canonical(c.ip);
}

/** One text per address (IPv6 compressed, lower case), so requested and got compare as equal. */
export function canonical(ip: string): string {
  return isIP(ip) === 6 ? bigIntToIp(ipToBigInt(ip), 6) : ip;
}

/**
 * The interface named `ifname` inside the pod, as the result describes it. An address counts
 * for it when its `interface` index points at an entry with that name and a sandbox, or when it
 * has no index at all (IPAM-only and older results leave it out).
 */
export function attachedInterface(result: Record<string, unknown>, ifname: string): AttachedInterface {
  const out: AttachedInterface = { interface: ifname, ips: [], mac: '' };
  const dns = dnsOf(result['dns']);
  if (dns) out.dns = dns;
  if (isLegacyResult(String(result['cniVersion']))) {
    for (const family of ['ip4', 'ip6']) {
      const block = result[family];
      const ip = isObject(block) ? plainAddress(block['ip']) : undefined;
      if (ip !== undefined) out.ips.push(ip);
    }
    return out;
  }
  const interfaces = Array.isArray(result['interfaces']) ? (result['interfaces'] as unknown[]) : [];
  const ours = (i: unknown): boolean => {
    const entry = typeof i === 'number' ? interfaces[i] : undefined;
    return (
      isObject(entry) &&
      entry['name'] === ifname &&
      typeof entry['sandbox'] === 'string' &&
      entry['sandbox'] !== ''
    );
  };
  interfaces.forEach((entry, i) => {
    if (out.mac === '' && ours(i) && isObject(entry) && typeof entry['mac'] === 'string')
      out.mac = entry['mac'].toLowerCase();
  });
  const ips = Array.isArray(result['ips']) ? (result['ips'] as unknown[]) : [];
  for (const ip of ips) {
    if (!isObject(ip)) continue;
    if (ip['interface'] !== undefined && !ours(ip['interface'])) continue;
    const address = plainAddress(ip['address']);
    if (address !== undefined && !out.ips.includes(address)) out.ips.push(address);
  }
  return out;
}

/** What the pod asked for that the attachment does not have, or undefined when all is there. */
export function notHonoured(
  requested: { ips?: readonly string[]; mac?: string },
  got: { ips: readonly string[]; mac: string },
): { field: 'ips' | 'mac'; requested: string[]; got: string[] } | undefined {
  const want = (requested.ips ?? []).map((c) => canonical(addressOf(c)));
  const have = new Set(got.ips.map(canonical));
  if (want.some((ip) => !have.has(ip))) return { field: 'ips', requested: want, got: [...got.ips] };
  const mac = requested.mac?.toLowerCase() ?? '';
  if (mac !== '' && got.mac.toLowerCase() !== mac)
    return { field: 'mac', requested: [mac], got: got.mac ? [got.mac.toLowerCase()] : [] };
  return undefined;
}
