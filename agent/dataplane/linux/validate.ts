// Value checks the descriptors' `validate` share: what the kernel would refuse, refused early
// with a message naming the field (the item becomes 'invalid' instead of failing forever).
export { check, isCidr, isIp, isIp4, isMac } from '../../items/validate.ts';

/** A Linux interface name: 1-15 characters, no '/', ':' or whitespace. */
export const isIfName = (s: string): boolean => /^[A-Za-z0-9_.-]{1,15}$/.test(s);

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
