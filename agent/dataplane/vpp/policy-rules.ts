// Compiles a pod's policy (ordered rules + default per direction) into VPP ACL rules, first
// match wins. Egress becomes the TAP's input ACL (traffic entering VPP from the pod), ingress its
// output ACL (traffic VPP sends to the pod). `allow` is permit+reflect, so replies pass the
// other direction's ACL. VPP rules have no "except": excepted prefixes are subtracted from the
// peers (CIDR arithmetic), which keeps first-match semantics exact. Pure.
import type { PodPolicy, PolicyRule } from '../../items/values.ts';
import { ip6String } from './addresses.ts';
import { ACL_DENY, ACL_PERMIT_REFLECT, type AclRule } from './calls/acl.ts';

const ANY4 = '0.0.0.0/0';
const ANY6 = '::/0';
const PROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };
const ALL_PORTS: [number, number] = [0, 65535];
const ALL_ICMP: [number, number] = [0, 255];

const isV6 = (cidr: string): boolean => cidr.includes(':');

/** `cidr` minus every prefix in `except` (same family), as a list of CIDRs. */
export function subtract(cidr: string, except: readonly string[]): string[] {
  const v6 = isV6(cidr);
  const bits = v6 ? 128 : 32;
  const parse = (c: string): [bigint, number] => {
    const [ip = '', len = String(bits)] = c.split('/');
    return [toBig(ip, v6), Number(len)];
  };
  const cuts = except.filter((e) => isV6(e) === v6).map(parse);
  const out: string[] = [];
  const walk = (base: bigint, len: number): void => {
    const size = 1n << BigInt(bits - len);
    const end = base + size;
    const overlapping = cuts.filter(([b, l]) => b < end && b + (1n << BigInt(bits - l)) > base);
    if (overlapping.length === 0) {
      out.push(`${fromBig(base, v6)}/${len}`);
      return;
    }
    if (overlapping.some(([b, l]) => l <= len && b <= base)) return; // wholly excepted
    walk(base, len + 1);
    walk(base + size / 2n, len + 1);
  };
  const [b, l] = parse(cidr);
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - l)) - 1n);
  walk(b & mask, l);
  return out;
}

function toBig(ip: string, v6: boolean): bigint {
  if (!v6) return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  const [head = '', tail] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16) || 0), 0n);
}

function fromBig(n: bigint, v6: boolean): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => Number((n >> s) & 0xffn)).join('.');
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number((n >> BigInt(8 * (15 - i))) & 0xffn);
  return ip6String(bytes);
}

function protocols(rule: PolicyRule, v6: boolean): number[] {
  if (rule.protocol === 'ICMP') return [v6 ? 58 : 1];
  if (rule.protocol !== undefined) return [PROTO[rule.protocol]!];
  // Ports without a protocol mean the port on every port-carrying protocol.
  return rule.ports.length > 0 ? [6, 17, 132] : [0];
}

function compileRule(rule: PolicyRule, direction: 'ingress' | 'egress'): AclRule[] {
  const action = rule.action === 'allow' ? ACL_PERMIT_REFLECT : ACL_DENY;
  const peers = (rule.peers.length > 0 ? rule.peers : [ANY4, ANY6]).flatMap((p) => subtract(p, rule.except));
  const out: AclRule[] = [];
  for (const peer of peers) {
    const any = isV6(peer) ? ANY6 : ANY4;
    for (const proto of protocols(rule, isV6(peer))) {
      const ranges: [number, number][] =
        proto === 1 || proto === 58 || proto === 0
          ? [proto === 0 ? ALL_PORTS : ALL_ICMP]
          : rule.ports.length > 0
            ? rule.ports.map((p) => [p.port, p.endPort || p.port])
            : [ALL_PORTS];
      for (const dstPorts of ranges) {
        const icmp = proto === 1 || proto === 58;
        const src = direction === 'ingress' ? peer : any;
        const dst = direction === 'ingress' ? any : peer;
        out.push({
          action,
          src,
          dst,
          proto,
          srcPorts: icmp ? ALL_ICMP : ALL_PORTS,
          dstPorts: icmp ? ALL_ICMP : dstPorts,
        });
      }
    }
  }
  return out;
}

/** The ACL rules of one direction, its default last. */
export function compileDirection(p: PodPolicy, direction: 'ingress' | 'egress'): AclRule[] {
  const d = p[direction];
  const action = d.default === 'allow' ? ACL_PERMIT_REFLECT : ACL_DENY;
  const defaults: AclRule[] = [ANY4, ANY6].map((any) => ({
    action,
    src: any,
    dst: any,
    proto: 0,
    srcPorts: ALL_PORTS,
    dstPorts: ALL_PORTS,
  }));
  return [...d.rules.flatMap((r) => compileRule(r, direction)), ...defaults];
}
