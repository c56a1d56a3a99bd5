// Value checks every driver's `validate` shares: what a data plane would refuse, refused early
// with a message naming the field (the item becomes 'invalid' instead of failing forever).
import { ValidationError } from '../scheduler/errors.ts';

// Address shapes are lib/cidr.ts's; offered here too so a descriptor imports its checks from one place.
export { isCidr, isIp, isIp4 } from '../../lib/cidr.ts';
export const isMac = (s: string): boolean => /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(s);
export const isVrf = (n: number): boolean => Number.isInteger(n) && n >= 0 && n < 2 ** 32;

/** Collects failed checks and throws one ValidationError naming every bad field. */
export function check(key: string, problems: readonly (string | false | undefined)[]): void {
  const bad = problems.filter((p): p is string => typeof p === 'string');
  if (bad.length > 0) throw new ValidationError(key, bad.join('; '));
}
