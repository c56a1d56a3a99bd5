// Conversions between text addresses ("10.1.3.5", "fd00::1/64") and the VPP API's address
// structs (vl_api_address_t: af + 16-byte union; vl_api_prefix_t: address + len; bare ip4/ip6
// byte arrays). Shared by the driver and the fake server so both speak the same shapes.
import { isIPv4, isIPv6 } from 'node:net';
import type { VppFields } from './api/field-codecs.ts';

export const ADDRESS_IP4 = 0;
export const ADDRESS_IP6 = 1;

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

export function ip4Bytes(ip: string): Uint8Array {
  if (!isIPv4(ip)) throw new AddressError(`not an IPv4 address: ${ip}`);
  return Uint8Array.from(ip.split('.').map(Number));
}

export function ip6Bytes(ip: string): Uint8Array {
  if (!isIPv6(ip)) throw new AddressError(`not an IPv6 address: ${ip}`);
  let text = ip;
  const out = new Uint8Array(16);
  // A trailing dotted quad (::ffff:1.2.3.4) is the last 4 bytes.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad !== null) {
    const b = ip4Bytes(quad[1]!);
    const hi = ((b[0]! << 8) | b[1]!).toString(16);
    const lo = ((b[2]! << 8) | b[3]!).toString(16);
    text = `${text.slice(0, -quad[1]!.length)}${hi}:${lo}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

export function ip4String(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

export function ip6String(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952: compress the longest run (≥ 2) of zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** vl_api_address_t from text. */
export function toAddress(ip: string): VppFields {
  return isIPv4(ip)
    ? { af: ADDRESS_IP4, un: { ip4: ip4Bytes(ip) } }
    : { af: ADDRESS_IP6, un: { ip6: ip6Bytes(ip) } };
}

/** Text from a decoded (or encodable) vl_api_address_t. */
export function fromAddress(a: VppFields): string {
  const un = a['un'] as VppFields;
  if (a['af'] === ADDRESS_IP6) return ip6String(un['ip6'] as Uint8Array);
  const ip4 = (un['ip4'] ?? un['ip6']) as Uint8Array;
  return ip4String(ip4);
}

export function splitCidr(cidr: string): { ip: string; len: number } {
  const slash = cidr.lastIndexOf('/');
  const ip = slash < 0 ? cidr : cidr.slice(0, slash);
  const len = slash < 0 ? (isIPv4(ip) ? 32 : 128) : Number(cidr.slice(slash + 1));
  const max = isIPv4(ip) ? 32 : isIPv6(ip) ? 128 : -1;
  if (max < 0 || !Number.isInteger(len) || len < 0 || len > max)
    throw new AddressError(`not a CIDR: ${cidr}`);
  return { ip, len };
}

/** vl_api_prefix_t (also address_with_prefix) from "ip/len"; a bare ip is a host prefix. */
export function toPrefix(cidr: string): VppFields {
  const { ip, len } = splitCidr(cidr);
  return { address: toAddress(ip), len };
}

export function fromPrefix(p: VppFields): string {
  return `${fromAddress(p['address'] as VppFields)}/${p['len'] as number}`;
}

/** vl_api_ip4_prefix_t (ip4_address_with_prefix) from "a.b.c.d/len". */
export function toIp4Prefix(cidr: string): VppFields {
  const { ip, len } = splitCidr(cidr);
  return { address: ip4Bytes(ip), len };
}

export function isIp6(ip: string): boolean {
  return isIPv6(ip.split('/')[0]!);
}

export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    throw new AddressError(`not a MAC address: ${mac}`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function macString(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}
