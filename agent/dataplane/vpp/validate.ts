// Value checks shared by the VPP descriptors' `validate`: what VPP would refuse, refused early
// with a message naming the field (the item becomes 'invalid' instead of failing forever).
import { isIp4 } from '../../items/validate.ts';

export { check, isCidr, isIp, isIp4, isMac, isVrf } from '../../items/validate.ts';

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
