// Conversions between text addresses ("10.1.3.5", "fd00::1/64") and the VPP API's address
// structs (vl_api_address_t: af + 16-byte union; vl_api_prefix_t: address + len; bare ip4/ip6
// byte arrays). Shared by the driver and the fake server so both speak the same shapes.
import { isIPv4, isIPv6 } from 'node:net';
import type { VppFields } from './api/field-codecs.ts';
import { addressOf, bigIntToIp, ipToBigInt, splitCidr } from '../../../lib/cidr.ts';

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
  const n = ipToBigInt(ip);
  return Uint8Array.from({ length: 16 }, (_, i) => Number((n >> BigInt(8 * (15 - i))) & 0xffn));
}

export function ip4String(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

export function ip6String(bytes: Uint8Array): string {
  const n = bytes.subarray(0, 16).reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
  return bigIntToIp(n, 6);
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

/** 'ip/len' (a bare ip is a host prefix) taken apart; AddressError when it is not one. */
function cidrParts(cidr: string): { ip: string; len: number } {
  const c = splitCidr(cidr);
  if (c === undefined) throw new AddressError(`not a CIDR: ${cidr}`);
  return { ip: c.ip, len: c.length };
}

/** vl_api_prefix_t (also address_with_prefix) from "ip/len"; a bare ip is a host prefix. */
export function toPrefix(cidr: string): VppFields {
  const { ip, len } = cidrParts(cidr);
  return { address: toAddress(ip), len };
}

export function fromPrefix(p: VppFields): string {
  return `${fromAddress(p['address'] as VppFields)}/${p['len'] as number}`;
}

/** vl_api_ip4_prefix_t (ip4_address_with_prefix) from "a.b.c.d/len". */
export function toIp4Prefix(cidr: string): VppFields {
  const { ip, len } = cidrParts(cidr);
  return { address: ip4Bytes(ip), len };
}

export function isIp6(ip: string): boolean {
  return isIPv6(addressOf(ip));
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
