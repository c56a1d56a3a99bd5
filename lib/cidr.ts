// Address and prefix arithmetic, the one place that takes CIDR text apart. Pure functions.
//
// Two levels: IPv4 as unsigned 32-bit numbers (`Prefix`, `parseIp`, …) for the pod address plan,
// which only does IPv4 and counts addresses; and family-neutral helpers over text and bigint
// (`splitCidr`, `networkOf`, `containsIp`, …) for the data planes, which already carry IPv6.
import { isIP } from 'node:net';
import { ConfigError } from './errors.ts';

export type Family = 4 | 6;

// ---- IPv4 as numbers ----

export interface Prefix {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  length: number;
}

/**
 * 'a.b.c.d' → unsigned 32-bit integer; undefined when it is not a dotted quad (four groups of
 * one to three digits, each at most 255). Scanned by hand: the policy renderer sorts every set's
 * addresses on every render, a million calls at 10,000 pods.
 */
export function parseIp(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      octet = octet * 10 + (c - 48);
    } else if (c === 46 && digits > 0 && dots < 3) {
      if (octet > 255) return undefined;
      value = value * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0 || octet > 255) return undefined;
  return value * 256 + octet;
}

export function formatIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The number of addresses in an IPv4 prefix of this length. */
export function sizeOf(length: number): number {
  return 2 ** (32 - length);
}

/** Parses 'a.b.c.d/n'; throws ConfigError naming `field` when it is not a network address. */
export function parsePrefix(text: string, field: string): Prefix {
  const c = splitCidr(text, { bare: false });
  const base = c === undefined ? undefined : parseIp(c.ip);
  if (c === undefined || base === undefined) {
    throw new ConfigError(field, `${JSON.stringify(text)} is not an IPv4 CIDR (a.b.c.d/n)`);
  }
  if (base % sizeOf(c.length) !== 0) {
    throw new ConfigError(
      field,
      `${text} has host bits set; did you mean ${formatIp(base - (base % sizeOf(c.length)))}/${c.length}?`,
    );
  }
  return { base, length: c.length };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.base)}/${p.length}`;
}

export function contains(p: Prefix, ip: number): boolean {
  return ip >= p.base && ip < p.base + sizeOf(p.length);
}

// ---- either family, as text ----

export const isIp = (s: string): boolean => isIP(s) !== 0;
export const isIp4 = (s: string): boolean => isIP(s) === 4;
export const isIp6 = (s: string): boolean => isIP(s) === 6;

const bitsOf = (f: Family): number => (f === 4 ? 32 : 128);

export interface Cidr {
  /** The address as written (host bits may be set: '10.1.3.5/24' is an interface address). */
  ip: string;
  length: number;
  family: Family;
}

/**
 * Takes 'ip/len' apart, validating both halves for the address's family; undefined when it is
 * not a CIDR. A bare address counts as a host prefix (/32, /128) unless `bare` is false.
 */
export function splitCidr(text: string, opts: { bare?: boolean } = {}): Cidr | undefined {
  const slash = text.indexOf('/');
  const ip = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(ip);
  if (family === 0) return undefined;
  const f: Family = family === 4 ? 4 : 6;
  if (slash < 0) return opts.bare === false ? undefined : { ip, length: bitsOf(f), family: f };
  const len = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len) || Number(len) > bitsOf(f)) return undefined;
  return { ip, length: Number(len), family: f };
}

/** The address of a host prefix (/32, /128), '' for any other prefix or text. */
export function hostOfPrefix(text: string): string {
  const c = splitCidr(text, { bare: false });
  return c !== undefined && c.length === bitsOf(c.family) ? c.ip : '';
}

/** Whether `s` is 'ip/len' with a valid address and length for its family. */
export function isCidr(s: string): boolean {
  return splitCidr(s, { bare: false }) !== undefined;
}

/** The address part of a CIDR ('10.1.3.5/24' → '10.1.3.5'); a bare address as is. */
export function addressOf(cidrOrIp: string): string {
  const slash = cidrOrIp.indexOf('/');
  return slash < 0 ? cidrOrIp : cidrOrIp.slice(0, slash);
}

/**
 * The family of an address or CIDR by its shape alone (a ':' means IPv6), for text already
 * validated; undefined for the empty string.
 */
export function familyOf(cidrOrIp: string): Family | undefined {
  if (cidrOrIp === '') return undefined;
  return addressOf(cidrOrIp).includes(':') ? 6 : 4;
}

// ---- either family, as bigint ----

/** An address (either family) as an unsigned integer; throws on text that is not an address. */
export function ipToBigInt(ip: string): bigint {
  const family = isIP(ip);
  if (family === 4) return BigInt(parseIp(ip)!);
  if (family !== 6) throw new RangeError(`not an IP address: ${JSON.stringify(ip)}`);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups first.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  const text = v4 ? ip.slice(0, v4.index) + hexGroups(parseIp(v4[1]!)!) : ip;
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const hexGroups = (n: number): string => `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;

/** An unsigned integer as an address of `family`; IPv6 in RFC 5952 form (longest zero run as ::). */
export function bigIntToIp(n: bigint, family: Family): string {
  if (family === 4) return formatIp(Number(n & 0xffffffffn));
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

interface Range {
  first: bigint;
  last: bigint;
  cidr: Cidr;
}

function rangeOf(cidr: string): Range {
  const c = splitCidr(cidr);
  if (c === undefined) throw new RangeError(`not a CIDR: ${JSON.stringify(cidr)}`);
  const hostBits = BigInt(bitsOf(c.family) - c.length);
  const first = (ipToBigInt(c.ip) >> hostBits) << hostBits;
  return { first, last: first + (1n << hostBits) - 1n, cidr: c };
}

/** The network of a CIDR, host bits cleared: '10.1.3.5/24' → '10.1.3.0/24'. Throws on a non-CIDR. */
export function networkOf(cidr: string): string {
  const r = rangeOf(cidr);
  return `${bigIntToIp(r.first, r.cidr.family)}/${r.cidr.length}`;
}

/** The last address of a CIDR's range (the IPv4 broadcast address). */
export function broadcastOf(cidr: string): string {
  const r = rangeOf(cidr);
  return bigIntToIp(r.last, r.cidr.family);
}

/** Whether `ip` lies inside `cidr`; false when either is malformed or the families differ. */
export function containsIp(cidr: string, ip: string): boolean {
  if (splitCidr(cidr) === undefined) return false;
  const r = rangeOf(cidr);
  if (isIP(ip) !== r.cidr.family) return false;
  const n = ipToBigInt(ip);
  return n >= r.first && n <= r.last;
}

/** The address `offset` places after the network address (negative: before the end); throws outside the range. */
export function hostAt(cidr: string, offset: number): string {
  const r = rangeOf(cidr);
  const n = offset >= 0 ? r.first + BigInt(offset) : r.last + 1n + BigInt(offset);
  if (n < r.first || n > r.last) throw new RangeError(`offset ${offset} is outside ${cidr}`);
  return bigIntToIp(n, r.cidr.family);
}

/**
 * First and last usable host of an IPv4 subnet: the network and broadcast addresses excluded,
 * except in /31 and /32 where every address is a host.
 */
export function hostRange4(cidr: string): { low: string; hi: string } {
  const r = rangeOf(cidr);
  const size = r.last - r.first + 1n;
  const edge = size <= 2n ? 0n : 1n;
  return { low: bigIntToIp(r.first + edge, 4), hi: bigIntToIp(r.last - edge, 4) };
}

/** `cidr` minus every prefix in `except` (same family; others ignored), as the fewest CIDRs. */
export function subtract(cidr: string, except: readonly string[]): string[] {
  const whole = rangeOf(cidr);
  const family = whole.cidr.family;
  const bits = bitsOf(family);
  const cuts = except
    .map((e) => rangeOf(e))
    .filter((e) => e.cidr.family === family)
    .map((e) => [e.first, e.last] as const);
  const out: string[] = [];
  const walk = (first: bigint, len: number): void => {
    const last = first + (1n << BigInt(bits - len)) - 1n;
    const overlapping = cuts.filter(([f, l]) => f <= last && l >= first);
    if (overlapping.length === 0) out.push(`${bigIntToIp(first, family)}/${len}`);
    else if (!overlapping.some(([f, l]) => f <= first && l >= last)) {
      walk(first, len + 1);
      walk(first + (1n << BigInt(bits - len - 1)), len + 1);
    }
  };
  walk(whole.first, whole.cidr.length);
  return out;
}
