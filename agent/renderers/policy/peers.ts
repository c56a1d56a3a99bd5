// Policy peers and the PeerSets they become. A peer is parsed once into one of three shapes:
// pods (a namespace scope and a pod selector: podSelector alone is scoped to the policy's
// namespace, namespaceSelector alone takes every pod of the matching namespaces, both together
// the matching pods of the matching namespaces), an ipBlock (a CIDR minus except prefixes, either
// family), or "any" (a rule without peers). Pods become a set; an ipBlock stays a prefix in the
// rule; "any" is an empty peer list. Egress named ports are the exception: the port's number is
// the destination's, so each (peer, named port, number) is a set of its own holding only the
// peer's pods that give the name that number (see compile.ts).
//
// A set's id is a short hash of its canonical form (scope, pod selector, optional port), so the
// same peer written in two policies — or the same selector with its labels in another order —
// shares one set, and the id of a set never changes while what selects it stays the same.
import { createHash } from 'node:crypto';
import { containsIp, networkOf, splitCidr } from '../../../lib/cidr.ts';
import type { Protocol } from '../../items/values.ts';
import type { Pod } from '../../view/decode.ts';
import { addressesOf, sortAddresses, type ClusterIndex } from './cluster.ts';
import { EVERYTHING, describe, matches, parseSelector, type Selector } from './selectors.ts';

export type Scope = { kind: 'namespace'; name: string } | { kind: 'selector'; selector: Selector };

export interface PodsPeer {
  kind: 'pods';
  scope: Scope;
  pods: Selector;
}

export interface BlockPeer {
  kind: 'block';
  /** Network address form ('10.0.0.0/8'). */
  cidr: string;
  /** Sorted, network address form, each inside `cidr`. */
  except: string[];
}

export interface AnyPeer {
  kind: 'any';
}

export type Peer = PodsPeer | BlockPeer | AnyPeer;

/** A named port as one destination pod resolves it. */
export interface NamedPort {
  name: string;
  protocol: Protocol;
  number: number;
}

/** What one PeerSet holds: a peer's pods, optionally only those that give `port.name` that number. */
export interface SetSpec {
  peer: Peer;
  port?: NamedPort;
}

/** The pods of a namespace; also what Contrail isolation allows within a namespace. */
export const namespacePods = (name: string): PodsPeer => ({
  kind: 'pods',
  scope: { kind: 'namespace', name },
  pods: EVERYTHING,
});

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parseBlock(raw: unknown): BlockPeer | string {
  if (!isObject(raw) || typeof raw['cidr'] !== 'string') return 'ipBlock has no cidr';
  const c = splitCidr(raw['cidr'], { bare: false });
  if (c === undefined) return `ipBlock cidr ${JSON.stringify(raw['cidr'])} is not a CIDR`;
  const cidr = networkOf(raw['cidr']);
  const list = raw['except'] ?? [];
  if (!Array.isArray(list)) return 'ipBlock except is not a list';
  const except: string[] = [];
  for (const e of list) {
    // The API server refuses an except outside the cidr; skipping only the bad entry would
    // allow more than the author wrote, so the whole peer goes.
    const x = typeof e === 'string' ? splitCidr(e, { bare: false }) : undefined;
    if (x === undefined || x.family !== c.family || x.length < c.length || !containsIp(cidr, x.ip))
      return `ipBlock except ${JSON.stringify(e)} is not a prefix inside ${cidr}`;
    except.push(networkOf(e as string));
  }
  return { kind: 'block', cidr, except: [...new Set(except)].sort() };
}

/**
 * One `from`/`to` entry of a rule written in `namespace`; a string says why it selects nothing
 * (the API server would have refused it).
 */
export function parsePeer(raw: unknown, namespace: string): Peer | string {
  if (!isObject(raw)) return 'peer is not an object';
  const pods = parseSelector(raw['podSelector']);
  const nss = parseSelector(raw['namespaceSelector']);
  const block = raw['ipBlock'];
  if (block !== undefined && block !== null) {
    if (pods !== undefined || nss !== undefined) return 'ipBlock is combined with a selector';
    return parseBlock(block);
  }
  if (pods === undefined && nss === undefined) return 'peer names neither selector nor ipBlock';
  if (pods?.ok === false) return `podSelector ${pods.problem}: selects nothing`;
  if (nss?.ok === false) return `namespaceSelector ${nss.problem}: selects nothing`;
  const scope: Scope =
    nss === undefined ? { kind: 'namespace', name: namespace } : { kind: 'selector', selector: nss };
  return { kind: 'pods', scope, pods: pods ?? EVERYTHING };
}

function canonical(spec: SetSpec): string {
  const p = spec.peer;
  const peer =
    p.kind === 'pods'
      ? {
          s: p.scope.kind === 'namespace' ? `ns:${p.scope.name}` : p.scope.selector.canonical,
          p: p.pods.canonical,
        }
      : p.kind === 'block'
        ? { b: p.cidr, x: p.except }
        : { a: true };
  const port = spec.port ? [spec.port.name, spec.port.protocol, spec.port.number] : null;
  return JSON.stringify({ peer, port });
}

/** The stable id of a set: `<hash>`, or `<hash>-<port name>-<number>` for a named-port set. */
export function setId(spec: SetSpec): string {
  const hash = createHash('sha256').update(canonical(spec)).digest('hex').slice(0, 16);
  if (!spec.port) return hash;
  // The name is for people reading the data plane; the hash alone keeps ids apart.
  const name = spec.port.name.toLowerCase().replace(/[^a-z0-9-]/g, '');
  return `${hash}-${name}-${spec.port.number}`;
}

/** A peer in words, for explain. */
export function describePeer(p: Peer): string {
  if (p.kind === 'any') return 'any peer';
  if (p.kind === 'block')
    return `ipBlock ${p.cidr}${p.except.length ? ` except ${p.except.join(', ')}` : ''}`;
  const where =
    p.scope.kind === 'namespace' ? `namespace ${p.scope.name}` : `namespaces ${describe(p.scope.selector)}`;
  return `pods ${describe(p.pods)} in ${where}`;
}

export function describeSet(spec: SetSpec): string {
  const port = spec.port ? ` with port ${spec.port.name} = ${spec.port.protocol}/${spec.port.number}` : '';
  return describePeer(spec.peer) + port;
}

/** A pod the peer selects, with the addresses of it that the peer covers. */
export interface Member {
  pod: Pod;
  ips: readonly string[];
}

function namespacesOf(index: ClusterIndex, scope: Scope): string[] {
  if (scope.kind === 'namespace') return [scope.name];
  return index.namespaceNames.filter((n) => matches(scope.selector, index.namespaceLabels(n)));
}

/** The pods (and their covered addresses) a peer selects, in namespace then name order. */
export function peerMembers(index: ClusterIndex, p: Peer): Member[] {
  const out: Member[] = [];
  const all = p.kind === 'pods' ? namespacesOf(index, p.scope) : index.namespaceNames;
  for (const ns of all) {
    for (const pod of index.podsIn(ns)) {
      let ips = addressesOf(pod);
      if (p.kind === 'pods' && !matches(p.pods, pod.labels ?? {})) continue;
      if (p.kind === 'block') ips = ips.filter((ip) => inBlock(p, ip));
      if (ips.length > 0) out.push({ pod, ips });
    }
  }
  return out;
}

export function inBlock(p: BlockPeer, ip: string): boolean {
  return containsIp(p.cidr, ip) && !p.except.some((x) => containsIp(x, ip));
}

/** The numbers a pod gives a port name for a protocol (a pod may list one name more than once). */
export function namedPortNumbers(pod: Pod, name: string, protocol: Protocol): number[] {
  const out = new Set<number>();
  for (const cp of Array.isArray(pod.containerPorts) ? pod.containerPorts : []) {
    const proto = cp?.protocol === undefined || cp.protocol === '' ? 'TCP' : cp.protocol;
    const n = cp?.containerPort;
    if (cp?.name === name && proto === protocol && Number.isInteger(n) && n >= 1 && n <= 65_535) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

/** A set's addresses: sorted, unique, either family. `membersOf` is peerMembers, perhaps memoised. */
export function setAddresses(spec: SetSpec, membersOf: (p: Peer) => Member[]): string[] {
  const port = spec.port;
  const members = membersOf(spec.peer).filter(
    (m) => !port || namedPortNumbers(m.pod, port.name, port.protocol).includes(port.number),
  );
  return sortAddresses(members.flatMap((m) => m.ips));
}
