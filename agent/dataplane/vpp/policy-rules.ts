// Compiles a pod's policy (ordered rules + default per direction) into VPP ACL rules, first
// match wins. Egress becomes the TAP's input ACL (traffic entering VPP from the pod), ingress its
// output ACL (traffic VPP sends to the pod). `allow` is permit+reflect, so replies pass the
// other direction's ACL. VPP rules have no "except": excepted prefixes are subtracted from the
// peers (CIDR arithmetic), which keeps first-match semantics exact. Pure.
import type { PodPolicy, PolicyRule } from '../../items/values.ts';
import { ACL_DENY, ACL_PERMIT_REFLECT, type AclRule } from './calls/acl.ts';
import { familyOf, subtract } from '../../../lib/cidr.ts';

const ANY4 = '0.0.0.0/0';
const ANY6 = '::/0';
const PROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };
const ALL_PORTS: [number, number] = [0, 65535];
const ALL_ICMP: [number, number] = [0, 255];

const isV6 = (cidr: string): boolean => familyOf(cidr) === 6;

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
