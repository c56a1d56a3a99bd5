// One pod's policy, per direction: whether it is isolated, by what, and the allow rules in the
// item vocabulary (PolicyRule with set and CIDR peers, numeric port ranges). Both the renderer
// and explain go through here, so explain judges exactly what the data plane is given.
//
// Named ports are resolved here, because only here is the pod known:
// - ingress: the name is the selected pod's own container port (same protocol as the policy
//   port); a pod without that name is not opened by that port at all;
// - egress: the name is the destination's, and destinations differ, so a rule becomes one rule
//   per number the name takes among the peer's pods, each naming sets that hold only the pods
//   that give the name that number (see peers.ts).
//
// Contrail namespace isolation (`opencontrail.org/isolation: "true"`) isolates every pod of the
// namespace in both directions and adds its implicit rules before the NetworkPolicy ones (which
// only ever add):
// - ingress: from the namespace's own pods (`isolation:<ns>:namespace`); with
//   `opencontrail.org/isolation.service: "false"` also from anyone that came through a Service
//   (`isolation:<ns>:service`, viaService) — the namespace's Services stay open, its pods do not;
// - egress: to the namespace's own pods, and to anything reached through a Service
//   (`isolation:<ns>:service`). A Service of another isolated namespace stays closed anyway: its
//   backends' ingress refuses us unless that namespace opened its Services, which is exactly
//   DESIGN's "services are not reachable from other namespaces"; and a Service whose backends are
//   not pods (the API server's `kubernetes` Service, selector-less Services) stays reachable, as a
//   Service of a non-isolated namespace should.
// - egress to anything else — other namespaces' pods directly, nodes, addresses outside the
//   cluster — is denied: DESIGN says the pods of an isolated namespace "reach only each other",
//   and the only exception it makes (through the brief) is Services. A NetworkPolicy that
//   selects the pods can open more (an egress rule to 0.0.0.0/0), since policies add to
//   isolation.
import type { PolicyPeer, PolicyPort, PolicyRule } from '../../items/values.ts';
import type { Pod } from '../../view/decode.ts';
import { cmp, ClusterIndex, type PolicyInputs } from './cluster.ts';
import {
  namedPortNumbers,
  namespacePods,
  peerMembers,
  setAddresses,
  setId,
  type Member,
  type Peer,
  type SetSpec,
} from './peers.ts';
import { parsePolicy, type Direction, type ParsedPolicy, type ParsedRule } from './rules.ts';
import { matches } from './selectors.ts';

export const ISOLATION = 'opencontrail.org/isolation';
export const ISOLATION_SERVICE = 'opencontrail.org/isolation.service';

export interface DirectionPolicy {
  isolated: boolean;
  /** Allow rules, isolation's first, then the policies' by policy key and rule order. */
  rules: PolicyRule[];
  /** What isolates the pod in this direction: `isolation:<ns>` and policy keys, sorted as `rules`. */
  selectedBy: string[];
  /** Malformed parts of the policies in the pod's namespace, skipped. */
  notes: string[];
}

export interface CompiledPod {
  ingress: DirectionPolicy;
  egress: DirectionPolicy;
}

const isTrue = (v: string | undefined): boolean => v?.trim().toLowerCase() === 'true';

/** Whether nothing can isolate any pod: no NetworkPolicy and no namespace with isolation on. */
export function nothingIsolates(inputs: PolicyInputs): boolean {
  if (inputs.policies.size > 0) return false;
  for (const ns of inputs.namespaces.values()) {
    const v: unknown = ns?.annotations?.[ISOLATION];
    if (typeof v === 'string' && isTrue(v)) return false;
  }
  return true;
}
const isFalse = (v: string | undefined): boolean => v?.trim().toLowerCase() === 'false';

function dedupe<T>(list: T[]): T[] {
  const seen = new Set<string>();
  return list.filter((x) => {
    const k = JSON.stringify(x);
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

/** The policy engine over one snapshot of the cluster: compiles pods, keeps the sets they name. */
export class PolicyEngine {
  readonly index: ClusterIndex;
  private readonly policies: ParsedPolicy[];
  private readonly sets = new Map<string, SetSpec>();
  private readonly members = new Map<string, Member[]>();
  private readonly addresses = new Map<string, string[]>();
  private readonly compiled = new Map<Pod, CompiledPod | undefined>();

  constructor(inputs: PolicyInputs) {
    this.index = new ClusterIndex(inputs);
    this.policies = [...inputs.policies.entries()]
      .filter(([, p]) => typeof p === 'object' && p !== null)
      .map(([key, p]) => parsePolicy(key, p))
      .sort((a, b) => cmp(a.key, b.key));
  }

  /** Whether a namespace carries Contrail isolation. */
  isolated(namespace: string): boolean {
    return isTrue(this.index.namespaceAnnotation(namespace, ISOLATION));
  }

  /** The pod's policy; undefined for a hostNetwork pod, which no policy applies to. */
  compile(pod: Pod): CompiledPod | undefined {
    if (pod.hostNetwork) return undefined;
    if (!this.compiled.has(pod))
      this.compiled.set(pod, {
        ingress: this.direction(pod, 'ingress'),
        egress: this.direction(pod, 'egress'),
      });
    return this.compiled.get(pod);
  }

  /** The set with this id (one that a compiled rule named). */
  set(id: string): SetSpec | undefined {
    return this.sets.get(id);
  }

  /** The addresses of a set a compiled rule named: sorted, unique. */
  setAddresses(id: string): string[] {
    let out = this.addresses.get(id);
    if (out === undefined) {
      const spec = this.sets.get(id);
      out = spec ? setAddresses(spec, (p) => this.peerMembers(p)) : [];
      this.addresses.set(id, out);
    }
    return out;
  }

  /** Ids of every set compiled so far, sorted. */
  setIds(): string[] {
    return [...this.sets.keys()].sort(cmp);
  }

  private peerMembers(p: Peer): Member[] {
    const id = setId({ peer: p });
    let m = this.members.get(id);
    if (m === undefined) this.members.set(id, (m = peerMembers(this.index, p)));
    return m;
  }

  private setPeer(spec: SetSpec): PolicyPeer {
    const id = setId(spec);
    this.sets.set(id, spec);
    return { type: 'set', set: id };
  }

  private peer(p: Peer): PolicyPeer[] {
    if (p.kind === 'any') return [];
    if (p.kind === 'block') return [{ type: 'cidr', cidr: p.cidr, except: p.except }];
    return [this.setPeer({ peer: p })];
  }

  private direction(pod: Pod, d: Direction): DirectionPolicy {
    const ns = pod.namespace;
    const labels = pod.labels ?? {};
    const inNamespace = this.policies.filter((p) => p.namespace === ns);
    const selecting = inNamespace.filter(
      (p) => p[d] !== undefined && p.podSelector && matches(p.podSelector, labels),
    );
    const rules: PolicyRule[] = [];
    const selectedBy: string[] = [];
    if (this.isolated(ns)) {
      selectedBy.push(`isolation:${ns}`);
      rules.push(...this.isolationRules(ns, d));
    }
    for (const p of selecting) {
      selectedBy.push(p.key);
      for (const r of p[d] ?? [])
        rules.push(...(d === 'ingress' ? this.ingressRules(r, pod) : this.egressRules(r)));
    }
    // Notes of policies that select the pod, and of those that would select nothing at all.
    const notes = inNamespace.filter((p) => selecting.includes(p) || !p.podSelector).flatMap((p) => p.notes);
    const isolated = selectedBy.length > 0;
    return { isolated, rules: isolated ? rules : [], selectedBy, notes };
  }

  private isolationRules(ns: string, d: Direction): PolicyRule[] {
    const own: PolicyRule = {
      origin: `isolation:${ns}:namespace`,
      peers: [this.setPeer({ peer: namespacePods(ns) })],
      ports: [],
      viaService: false,
    };
    const service: PolicyRule = { origin: `isolation:${ns}:service`, peers: [], ports: [], viaService: true };
    const servicesOpen = isFalse(this.index.namespaceAnnotation(ns, ISOLATION_SERVICE));
    return d === 'egress' || servicesOpen ? [own, service] : [own];
  }

  private peersOf(r: ParsedRule): PolicyPeer[] {
    return r.peers === 'all' ? [] : dedupe(r.peers.flatMap((p) => this.peer(p)));
  }

  private ingressRules(r: ParsedRule, pod: Pod): PolicyRule[] {
    let ports: PolicyPort[] = [];
    if (r.ports !== 'all') {
      ports = dedupe(
        r.ports.flatMap((p) =>
          p.kind === 'range'
            ? [{ protocol: p.protocol, port: p.port, endPort: p.endPort }]
            : namedPortNumbers(pod, p.name, p.protocol).map((n) => ({
                protocol: p.protocol,
                port: n,
                endPort: n,
              })),
        ),
      );
      // Only named ports this pod does not have: the rule opens nothing here.
      if (ports.length === 0) return [];
    }
    return [{ origin: r.origin, peers: this.peersOf(r), ports, viaService: false }];
  }

  private egressRules(r: ParsedRule): PolicyRule[] {
    const out: PolicyRule[] = [];
    const ranges = r.ports === 'all' ? [] : r.ports.flatMap((p) => (p.kind === 'range' ? [p] : []));
    if (r.ports === 'all' || ranges.length > 0) {
      const ports = dedupe(ranges.map((p) => ({ protocol: p.protocol, port: p.port, endPort: p.endPort })));
      out.push({ origin: r.origin, peers: this.peersOf(r), ports, viaService: false });
    }
    const named = r.ports === 'all' ? [] : dedupe(r.ports.flatMap((p) => (p.kind === 'named' ? [p] : [])));
    const peers: Peer[] = r.peers === 'all' ? [{ kind: 'any' }] : r.peers;
    for (const { name, protocol } of named) {
      const byNumber = new Map<number, PolicyPeer[]>();
      for (const peer of peers) {
        const numbers = new Set(
          this.peerMembers(peer).flatMap((m) => namedPortNumbers(m.pod, name, protocol)),
        );
        for (const number of numbers) {
          const list = byNumber.get(number) ?? [];
          list.push(this.setPeer({ peer, port: { name, protocol, number } }));
          byNumber.set(number, list);
        }
      }
      for (const number of [...byNumber.keys()].sort((a, b) => a - b)) {
        const port = { protocol, port: number, endPort: number };
        out.push({
          origin: r.origin,
          peers: dedupe(byNumber.get(number)!),
          ports: [port],
          viaService: false,
        });
      }
    }
    return out;
  }
}
