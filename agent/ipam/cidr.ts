// IPv4 prefix arithmetic for the pod address plan. Pure functions over 32-bit integers.
import { ConfigError } from '../../lib/errors.ts';

export interface Prefix {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  length: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIp(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1, 5).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
}

export function formatIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The number of addresses in a prefix of this length. */
export function sizeOf(length: number): number {
  return 2 ** (32 - length);
}

/** Parses 'a.b.c.d/n'; throws ConfigError naming `field` when it is not a network address. */
export function parsePrefix(text: string, field: string): Prefix {
  const [ip, len, extra] = text.split('/');
  const base = ip === undefined ? undefined : parseIp(ip);
  const length = Number(len);
  if (base === undefined || extra !== undefined || !/^\d{1,2}$/.test(len ?? '') || length > 32) {
    throw new ConfigError(field, `${JSON.stringify(text)} is not an IPv4 CIDR (a.b.c.d/n)`);
  }
  if (base % sizeOf(length) !== 0) {
    throw new ConfigError(
      field,
      `${text} has host bits set; did you mean ${formatIp(base - (base % sizeOf(length)))}/${length}?`,
    );
  }
  return { base, length };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.base)}/${p.length}`;
}

export function contains(p: Prefix, ip: number): boolean {
  return ip >= p.base && ip < p.base + sizeOf(p.length);
}
