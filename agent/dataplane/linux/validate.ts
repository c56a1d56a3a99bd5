// Value checks the descriptors' `validate` share: what the kernel would refuse, refused early
// with a message naming the field (the item becomes 'invalid' instead of failing forever).
import { isIP } from 'node:net';
import { ValidationError } from '../../scheduler/errors.ts';

export function isCidr(s: string): boolean {
  const [ip = '', len, ...rest] = s.split('/');
  const family = isIP(ip);
  if (family === 0 || len === undefined || rest.length > 0 || !/^\d{1,3}$/.test(len)) return false;
  return Number(len) <= (family === 4 ? 32 : 128);
}

export const isIp = (s: string): boolean => isIP(s) !== 0;

export const isMac = (s: string): boolean => /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(s);

/** A Linux interface name: 1-15 characters, no '/', ':' or whitespace. */
export const isIfName = (s: string): boolean => /^[A-Za-z0-9_.-]{1,15}$/.test(s);

/** Collects failed checks and throws one ValidationError naming every bad field. */
export function check(key: string, problems: readonly (string | false | undefined)[]): void {
  const bad = problems.filter((p): p is string => typeof p === 'string');
  if (bad.length > 0) throw new ValidationError(key, bad.join('; '));
}

/** The Linux driver routes VRF 0 only: custom-network VRFs are not implemented here yet. */
export function vrfProblem(vrf: number): string | undefined {
  return vrf === 0 ? undefined : `vrf ${vrf}: the linux driver supports only VRF 0`;
}

/** Set equality of two string lists (address lists whose order carries no meaning). */
export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}
