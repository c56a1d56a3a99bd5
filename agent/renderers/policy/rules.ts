// A NetworkPolicy checked once: which pods it selects, which directions it isolates, and its
// rules with peers and ports parsed. Kubernetes' defaults are applied here: an empty policyTypes
// means Ingress, plus Egress when the policy has egress rules; a rule without ports allows every
// port, without peers every peer; a port without protocol is TCP; a port without number or name
// is every port of its protocol.
//
// Whatever the API server would have refused is skipped with a note, and skipping never allows
// more than the author wrote: a rule whose every peer (or every port) was refused allows nothing
// — it does not fall back to "all peers" (or "all ports").
import type { Protocol } from '../../items/values.ts';
import type { Policy } from '../../view/decode.ts';
import { parsePeer, type Peer } from './peers.ts';
import { parseSelector, type BadSelector, type Selector } from './selectors.ts';

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
const MAX_PORT = 65_535;

export type Direction = 'ingress' | 'egress';

export type ParsedPort =
  | { kind: 'range'; protocol: Protocol; port: number; endPort: number }
  | { kind: 'named'; protocol: Protocol; name: string };

export interface ParsedRule {
  /** `<ns>/<name>:ingress[0]`: what PolicyRule.origin carries and explain names. */
  origin: string;
  /** 'all' when the rule names no peers. */
  peers: Peer[] | 'all';
  /** 'all' when the rule names no ports. */
  ports: ParsedPort[] | 'all';
}

export interface ParsedPolicy {
  key: string;
  namespace: string;
  /** undefined: the policy selects nothing (its podSelector is malformed; see notes). */
  podSelector: Selector | undefined;
  ingress: ParsedRule[] | undefined;
  egress: ParsedRule[] | undefined;
  /** What was skipped, for explain. */
  notes: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const list = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);

function parsePort(raw: unknown): ParsedPort | string {
  if (!isObject(raw)) return 'port is not an object';
  const p = raw['protocol'];
  const protocol = p === undefined || p === null || p === '' ? 'TCP' : PROTOCOLS.find((x) => x === p);
  if (protocol === undefined) return `protocol ${JSON.stringify(p)} is not TCP, UDP or SCTP`;
  const ref = isObject(raw['port']) ? raw['port'] : {};
  const number = ref['number'] ?? 0;
  const name = ref['name'] ?? '';
  const end = raw['endPort'] ?? 0;
  if (typeof number !== 'number' || typeof name !== 'string' || typeof end !== 'number')
    return 'port fields have the wrong types';
  if (number !== 0 && name !== '') return 'port has both a number and a name';
  if (name !== '') {
    if (end !== 0) return `endPort with the named port ${name}`;
    return { kind: 'named', protocol, name };
  }
  if (number === 0) {
    if (end !== 0) return 'endPort without a port';
    return { kind: 'range', protocol, port: 0, endPort: MAX_PORT };
  }
  if (!Number.isInteger(number) || number < 1 || number > MAX_PORT) return `port ${number} is out of range`;
  if (end === 0) return { kind: 'range', protocol, port: number, endPort: number };
  if (!Number.isInteger(end) || end < number || end > MAX_PORT)
    return `endPort ${end} is not between ${number} and ${MAX_PORT}`;
  return { kind: 'range', protocol, port: number, endPort: end };
}

function parseRule(raw: unknown, origin: string, namespace: string, notes: string[]): ParsedRule | undefined {
  const r = isObject(raw) ? raw : {};
  const rawPeers = list(r['peers']);
  const rawPorts = list(r['ports']);
  const peers: Peer[] = [];
  rawPeers.forEach((x, i) => {
    const p = parsePeer(x, namespace);
    if (typeof p === 'string') notes.push(`${origin} peer ${i}: ${p}`);
    else peers.push(p);
  });
  const ports: ParsedPort[] = [];
  rawPorts.forEach((x, i) => {
    const p = parsePort(x);
    if (typeof p === 'string') notes.push(`${origin} port ${i}: ${p}`);
    else ports.push(p);
  });
  if (rawPeers.length > 0 && peers.length === 0) {
    notes.push(`${origin}: every peer was skipped, so the rule allows nothing`);
    return undefined;
  }
  if (rawPorts.length > 0 && ports.length === 0) {
    notes.push(`${origin}: every port was skipped, so the rule allows nothing`);
    return undefined;
  }
  return {
    origin,
    peers: rawPeers.length === 0 ? 'all' : peers,
    ports: rawPorts.length === 0 ? 'all' : ports,
  };
}

function directions(policy: Policy, notes: string[]): Record<Direction, boolean> {
  const types = list(policy.policyTypes);
  if (types.length === 0) return { ingress: true, egress: list(policy.egress).length > 0 };
  for (const t of types)
    if (t !== 'Ingress' && t !== 'Egress') notes.push(`policyTypes ${JSON.stringify(t)} is unknown`);
  return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
}

export function parsePolicy(key: string, policy: Policy): ParsedPolicy {
  const notes: string[] = [];
  const namespace =
    typeof policy.namespace === 'string' && policy.namespace !== '' ? policy.namespace : key.split('/')[0]!;
  const name =
    typeof policy.name === 'string' && policy.name !== '' ? policy.name : (key.split('/')[1] ?? key);
  const id = `${namespace}/${name}`;
  // Required by the API, so an absent one can only mean `{}` (KSR writes `{}` for it anyway).
  const sel: Selector | BadSelector | undefined = parseSelector(policy.podSelector) ?? parseSelector({});
  let podSelector: Selector | undefined;
  if (sel?.ok) podSelector = sel;
  else notes.push(`${id} podSelector ${sel?.problem ?? ''}: the policy selects no pod`);
  const dirs = directions(policy, notes);
  const rules = (d: Direction): ParsedRule[] | undefined =>
    dirs[d]
      ? list(policy[d]).flatMap((r, i) => parseRule(r, `${id}:${d}[${i}]`, namespace, notes) ?? [])
      : undefined;
  return { key: id, namespace, podSelector, ingress: rules('ingress'), egress: rules('egress'), notes };
}
