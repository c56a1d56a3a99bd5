// explain: may a connection go from one end to the other, and why. It judges the rules compile.ts
// gives the data plane (the source pod's egress, the destination pod's ingress) against the
// ends' addresses, the way a data plane would: a set matches when it holds the other end's
// address, an ipBlock when its prefix (minus except) does. So a hostNetwork peer is judged by its
// node's address, and what explain says is what the items do.
//
// The pod's own node always reaches it (kubelet probes; the data plane lets it through before any
// rule). A node's addresses are those of its Node object (`inputs.nodes`, optional) and of its
// hostNetwork pods — in a cluster where netloom's agent runs as a hostNetwork pod, that is every
// node.
import { containsIp, familyOf } from '../../../lib/cidr.ts';
import type { PolicyRule, Protocol } from '../../items/values.ts';
import type { Pod } from '../../view/decode.ts';
import { addressesOf, podKey, type PolicyInputs } from './cluster.ts';
import { PolicyEngine, type DirectionPolicy } from './compile.ts';
import { describePeer, describeSet } from './peers.ts';

export type FlowEnd = { pod: string } | { ip: string };

export interface Flow {
  from: FlowEnd;
  /** After Service translation: the backend. */
  to: FlowEnd;
  protocol: Protocol;
  port: number;
  /** The connection was addressed to a Service and translated to `to`. */
  viaService?: boolean;
}

export interface RuleRef {
  /** `<ns>/<name>` of a NetworkPolicy, or `isolation:<ns>`. */
  policy: string;
  /** `ingress[0]`, `egress[2]`, or isolation's `namespace` / `service`. */
  rule: string;
  /** Both, as PolicyRule.origin carries them. */
  origin: string;
}

export interface DirectionVerdict {
  /** The pod judged ("ns/name"): the source for egress, the destination for ingress; '' for none. */
  pod: string;
  isolated: boolean;
  allowed: boolean;
  /** What isolates the pod in this direction (`isolation:<ns>`, policy keys). */
  selectedBy: string[];
  /** The first rule that allows the connection, when isolation had to be overcome. */
  allowedBy?: RuleRef;
  reason: string;
  /** Parts of the policies that were skipped as malformed (they select or allow nothing). */
  notes: string[];
}

export interface Explanation {
  allowed: boolean;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
  reason: string;
}

interface End {
  label: string;
  pod?: Pod;
  ip?: string;
  /** Set when the end names a pod the view does not know. */
  unknown?: string;
}

function resolve(engine: PolicyEngine, end: FlowEnd, family?: 4 | 6): End {
  if ('pod' in end) {
    const pod = engine.index.inputs.pods.get(end.pod);
    if (!pod) return { label: end.pod, unknown: `pod ${end.pod} is unknown` };
    const ips = addressesOf(pod);
    const ip = ips.find((a) => family === undefined || familyOf(a) === family) ?? ips[0];
    return { label: ip ? `${end.pod} (${ip})` : end.pod, pod, ...(ip ? { ip } : {}) };
  }
  const pod = engine.index.podByIp(end.ip);
  return { label: pod ? `${podKey(pod)} (${end.ip})` : end.ip, ip: end.ip, ...(pod ? { pod } : {}) };
}

function ref(origin: string): RuleRef {
  const cut = origin.lastIndexOf(':');
  return { policy: origin.slice(0, cut), rule: origin.slice(cut + 1), origin };
}

/** The first peer of `rule` holding `ip`, described; undefined when none does. */
function matchingPeer(engine: PolicyEngine, rule: PolicyRule, ip: string | undefined): string | undefined {
  if (rule.peers.length === 0) return rule.viaService ? 'anyone through a Service' : 'any peer';
  if (ip === undefined) return undefined;
  for (const p of rule.peers) {
    if (p.type === 'set') {
      const spec = engine.set(p.set);
      if (spec && engine.setAddresses(p.set).includes(ip)) return describeSet(spec);
    } else if (containsIp(p.cidr, ip) && !p.except.some((x) => containsIp(x, ip))) {
      return describePeer({ kind: 'block', cidr: p.cidr, except: p.except });
    }
  }
  return undefined;
}

const portMatches = (rule: PolicyRule, flow: Flow): boolean =>
  rule.ports.length === 0 ||
  rule.ports.some((p) => p.protocol === flow.protocol && flow.port >= p.port && flow.port <= p.endPort);

type Judged = Omit<DirectionVerdict, 'pod' | 'selectedBy' | 'notes'>;

function judge(engine: PolicyEngine, dp: DirectionPolicy, other: End, flow: Flow): Judged {
  const what = `${flow.protocol}/${flow.port}${flow.viaService ? ' through a Service' : ''}`;
  for (const rule of dp.rules) {
    if (rule.viaService && !flow.viaService) continue;
    if (!portMatches(rule, flow)) continue;
    const peer = matchingPeer(engine, rule, other.ip);
    if (peer === undefined) continue;
    return {
      isolated: true,
      allowed: true,
      allowedBy: ref(rule.origin),
      reason: `${rule.origin} allows ${what} with ${other.label}: it is ${peer}`,
    };
  }
  return {
    isolated: true,
    allowed: false,
    reason: `isolated by ${dp.selectedBy.join(', ')}, and no rule allows ${what} with ${other.label}`,
  };
}

function verdict(
  engine: PolicyEngine,
  self: End,
  other: End,
  flow: Flow,
  d: 'ingress' | 'egress',
): DirectionVerdict {
  const base = { pod: self.pod ? podKey(self.pod) : '', selectedBy: [], notes: [] };
  if (self.unknown) return { ...base, isolated: false, allowed: false, reason: self.unknown };
  if (!self.pod) {
    return {
      ...base,
      isolated: false,
      allowed: true,
      reason: `${self.label} is not a pod: no ${d} policy applies`,
    };
  }
  const compiled = engine.compile(self.pod);
  if (!compiled) {
    const reason = `${self.label} is a hostNetwork pod: no policy applies (its traffic is its node's)`;
    return { ...base, isolated: false, allowed: true, reason };
  }
  const dp = compiled[d];
  const known = { ...base, selectedBy: dp.selectedBy, notes: dp.notes };
  if (!dp.isolated) {
    const reason = `${self.label} is not isolated for ${d}: no policy selects it for ${d} and its namespace is not isolated`;
    return { ...known, isolated: false, allowed: true, reason };
  }
  if (d === 'ingress' && other.ip && engine.index.nodeAddresses(self.pod.nodeName).has(other.ip)) {
    const reason = `${other.label} is ${self.label}'s own node, which always reaches its pods`;
    return { ...known, isolated: true, allowed: true, reason };
  }
  return { ...known, ...judge(engine, dp, other, flow) };
}

/** May traffic go from `from` to `to` on protocol/port, and why. */
export function explainWith(engine: PolicyEngine, flow: Flow): Explanation {
  const to = resolve(engine, flow.to);
  const from = resolve(engine, flow.from, to.ip ? familyOf(to.ip) : undefined);
  const egress = verdict(engine, from, to, flow, 'egress');
  const ingress = verdict(engine, to, from, flow, 'ingress');
  const allowed = egress.allowed && ingress.allowed;
  const parts = [egress, ingress]
    .filter((v) => allowed || !v.allowed)
    .map((v) => `${v === egress ? 'egress' : 'ingress'}: ${v.reason}`);
  const reason = `${allowed ? 'allowed' : 'denied'}: ${parts.join('; ')}`;
  return { allowed, egress, ingress, reason };
}

export function explain(inputs: PolicyInputs, flow: Flow): Explanation {
  return explainWith(new PolicyEngine(inputs), flow);
}
