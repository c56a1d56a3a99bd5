// Value checks every driver's `validate` shares: what a data plane would refuse, refused early
// with a message naming the field (the item becomes 'invalid' instead of failing forever).
import { isIP } from 'node:net';
import { ValidationError } from '../scheduler/errors.ts';

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
