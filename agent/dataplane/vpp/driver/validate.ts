// Value checks shared by the VPP descriptors' `validate`: what VPP would refuse, refused early
// with a message naming the field (the item becomes 'invalid' instead of failing forever).
import { isIP } from 'node:net';
import { ValidationError } from '../../../scheduler/errors.ts';

export function isCidr(s: string): boolean {
  const [ip = '', len, ...rest] = s.split('/');
  const family = isIP(ip);
  if (family === 0 || len === undefined || rest.length > 0 || !/^\d{1,3}$/.test(len)) return false;
  return Number(len) <= (family === 4 ? 32 : 128);
}

export const isIp = (s: string): boolean => isIP(s) !== 0;
export const isIp4 = (s: string): boolean => isIP(s) === 4;
export const isMac = (s: string): boolean => /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(s);
export const isVrf = (n: number): boolean => Number.isInteger(n) && n >= 0 && n < 2 ** 32;

/** Collects failed checks and throws one ValidationError naming every bad field. */
export function check(key: string, problems: readonly (string | false | undefined)[]): void {
  const bad = problems.filter((p): p is string => typeof p === 'string');
  if (bad.length > 0) throw new ValidationError(key, bad.join('; '));
}

/** Whether `ip` lies inside `cidr` (IPv4). */
export function inSubnet4(ip: string, cidr: string): boolean {
  const [net = '', len = '32'] = cidr.split('/');
  if (!isIp4(ip) || !isIp4(net)) return false;
  const n = Number(len);
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return (toU32(ip) & mask) >>> 0 === (toU32(net) & mask) >>> 0;
}

export function toU32(ip: string): number {
  return ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}

export function fromU32(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
}

/** First and last usable host of an IPv4 subnet (the proxy-ARP range of a pod subnet). */
export function hostRange4(cidr: string): { low: string; hi: string } {
  const [net = '', len = '32'] = cidr.split('/');
  const n = Number(len);
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  const base = (toU32(net) & mask) >>> 0;
  const size = 2 ** (32 - n);
  return size <= 2
    ? { low: fromU32(base), hi: fromU32(base + size - 1) }
    : { low: fromU32(base + 1), hi: fromU32(base + size - 2) };
}
