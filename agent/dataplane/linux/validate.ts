// Value checks the descriptors' `validate` share: what the kernel would refuse, refused early
// with a message naming the field (the item becomes 'invalid' instead of failing forever).
import { isCidr } from '../../items/validate.ts';
import { isV6, vrfInRange, type LinuxNames } from './naming.ts';

export { check, isCidr, isIp, isIp4, isMac } from '../../items/validate.ts';

/** A Linux interface name: 1-15 characters, no '/', ':' or whitespace. */
export const isIfName = (s: string): boolean => /^[A-Za-z0-9_.-]{1,15}$/.test(s);

/** For families the Linux driver implements in VRF 0 only (services, source NAT). */
export function vrfProblem(vrf: number): string | undefined {
  return vrf === 0 ? undefined : `vrf ${vrf}: the linux driver supports only VRF 0`;
}

/**
 * For families that work in any VRF (descriptors/vrf.ts: a VRF is a routing table chosen by
 * policy rules): the VRF must map to a table. Custom networks are IPv4 only here: their rules are
 * IPv4 rules, so an IPv6 prefix in VRF N would be routed in the main IPv6 table, across networks.
 */
export function vrfRangeProblem(names: LinuxNames, vrf: number, prefixes: readonly string[] = []): string[] {
  if (!vrfInRange(names, vrf))
    return [`vrf ${vrf} out of range (table ${names.vrfTableBase} + vrf must be a free u32 table)`];
  if (vrf === 0) return [];
  return prefixes
    .filter((p) => isCidr(p) && isV6(p))
    .map((p) => `${p}: IPv6 in a custom network (vrf ${vrf}) is not implemented by the linux driver`);
}

/** Set equality of two string lists (address lists whose order carries no meaning). */
export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}
