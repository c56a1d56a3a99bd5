// Compiles a pod's PodPolicy into the rules of two VPP ACLs, first match wins. Egress becomes
// the TAP's input ACL (packets entering VPP from the pod), ingress its output ACL (packets VPP
// sends to the pod). Pure: peer sets arrive as their members, the node's addresses as given.
//
// An isolated direction is: [ingress only: permit from the node's own addresses], one permit
// per (peer prefix × port match) of every rule, then deny everything. A direction that is not
// isolated is a single permit of everything. Permits reflect (VPP's stateful permit: the
// session lets replies through the other ACL) only when the other direction is isolated — the
// only case where a reply would otherwise meet a deny — so unfiltered pods cost no sessions.
//
// VPP rules have no "except": an ipBlock's excepts are subtracted from its CIDR (CIDR
// arithmetic). Deny rules for the excepts placed before the CIDR's permit would be shorter, but
// first match wins across the whole list, so they would also hide another rule that allows
// part of an excepted prefix (rules are alternatives in NetworkPolicy); subtraction is exact.
import type { PodPolicy, PolicyPeer, PolicyPort, Protocol } from '../../items/values.ts';
import { familyOf, subtract } from '../../../lib/cidr.ts';
import { ACL_DENY, ACL_PERMIT, ACL_PERMIT_REFLECT, type AclRule } from './calls/acl.ts';

export type Direction = 'ingress' | 'egress';

/** What a PodPolicy refers to besides itself. */
export interface PolicyEnv {
  /** The members (host addresses) of peer set `id`. */
  members(id: string): readonly string[];
  /** Addresses the node itself sends from (pod gateway, uplink): let in to isolated pods. */
  nodeAddresses: readonly string[];
}

export interface CompiledPolicy {
  egress: AclRule[];
  ingress: AclRule[];
}

const ANY = ['0.0.0.0/0', '::/0'] as const;
export const PROTOCOL_NUMBERS: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };
const ALL_PORTS: [number, number] = [0, 65535];

const hostPrefix = (ip: string): string => `${ip}/${familyOf(ip) === 6 ? 128 : 32}`;

function prefixesOf(peer: PolicyPeer, env: PolicyEnv): string[] {
  return peer.type === 'set' ? env.members(peer.set).map(hostPrefix) : subtract(peer.cidr, peer.except);
}

function portMatch(p: PolicyPort): { proto: number; dstPorts: [number, number] } {
  return { proto: PROTOCOL_NUMBERS[p.protocol], dstPorts: p.port === 0 ? ALL_PORTS : [p.port, p.endPort] };
}

/** One rule with the peer on the far side: the source for ingress, the destination for egress. */
function aclRule(
  action: number,
  direction: Direction,
  peer: string,
  proto = 0,
  dstPorts: [number, number] = ALL_PORTS,
): AclRule {
  // The pod's side is "any" of the peer's family: the TAP carries only this pod's packets.
  const any = familyOf(peer) === 6 ? ANY[1] : ANY[0];
  const [src, dst] = direction === 'ingress' ? [peer, any] : [any, peer];
  return { action, src, dst, proto, srcPorts: ALL_PORTS, dstPorts };
}

/** The ACL rules of one direction. */
export function compileDirection(p: PodPolicy, direction: Direction, env: PolicyEnv): AclRule[] {
  const own = p[direction];
  const other = direction === 'ingress' ? p.egress : p.ingress;
  const permit = other.isolated ? ACL_PERMIT_REFLECT : ACL_PERMIT;
  if (!own.isolated) return ANY.map((any) => aclRule(permit, direction, any));
  const out: AclRule[] = [];
  // Kubelet probes and the node's own connections: NetworkPolicy never isolates a pod from it.
  if (direction === 'ingress')
    out.push(...env.nodeAddresses.map((a) => aclRule(permit, direction, hostPrefix(a))));
  for (const rule of own.rules) {
    // validate refuses viaService in an isolated direction (an ACL cannot see that a packet was
    // DNATed); skipping it here keeps the compile total and fails closed.
    if (rule.viaService) continue;
    const peers = rule.peers.length === 0 ? [...ANY] : rule.peers.flatMap((peer) => prefixesOf(peer, env));
    const ports = rule.ports.length === 0 ? [{ proto: 0, dstPorts: ALL_PORTS }] : rule.ports.map(portMatch);
    for (const peer of peers)
      for (const m of ports) out.push(aclRule(permit, direction, peer, m.proto, m.dstPorts));
  }
  out.push(...ANY.map((any) => aclRule(ACL_DENY, direction, any)));
  return unique(out);
}

export function compilePolicy(p: PodPolicy, env: PolicyEnv): CompiledPolicy {
  return { egress: compileDirection(p, 'egress', env), ingress: compileDirection(p, 'ingress', env) };
}

/** Peer sets the policy's isolated directions name: the sets whose members are in its ACLs. */
export function setsOf(p: PodPolicy): Set<string> {
  const rules = [p.ingress, p.egress].flatMap((d) => (d.isolated ? d.rules : []));
  return new Set(rules.flatMap((r) => r.peers.flatMap((peer) => (peer.type === 'set' ? [peer.set] : []))));
}

/** Drops repeated rules (the same set in two rules): a later duplicate can never match first. */
function unique(rules: AclRule[]): AclRule[] {
  const seen = new Set<string>();
  return rules.filter((r) => {
    const k = JSON.stringify(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
