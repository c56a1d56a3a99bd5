// NetworkPolicy in nftables (pure: values → nft objects → ops), in kube-proxy nftables-mode style.
//
// One table, `inet <policyTable>` (both families: an isolated pod with an IPv6 address is
// isolated over IPv6 too). Fixed part (written once per agent, and again when found damaged):
//   maps   pod-ingress   ifname : jump pod-<h>-in    (traffic to a pod: oif = its host veth)
//          pod-egress    ifname : jump pod-<h>-out   (traffic from a pod: iif = its host veth)
//   chain  forward (filter hook forward, priority 0):
//            ct state established,related accept     replies of allowed connections, both ways
//            meta oifname vmap @pod-ingress
//            meta iifname vmap @pod-egress
// Every pod-to-pod packet is forwarded (each pod sits behind its own routed veth), so one hook
// sees both ends: a packet between two pods of this node is judged by the sender's egress chain
// and the receiver's ingress chain. The node's own traffic to a pod (kubelet probes) leaves
// through the output hook and meets none of this: node → pod is always allowed, while traffic
// from other nodes' addresses is forwarded and judged like any other source. The forward hook
// runs after prerouting DNAT, so rules see a Service's backend, never its VIP (judged after
// Service translation), and `ct status dnat` tells whether a connection came through a Service.
//
// Per peer set (one PeerSet item), named from a hash of its key, comment = key:
//   set peers4-<h> { type ipv4_addr }   set peers6-<h> { type ipv6_addr }
// Per pod interface (one PodPolicy item), for each isolated direction only:
//   chain pod-<h>-in / pod-<h>-out: one rule per allowed peer (every family the pod has):
//     `ip saddr @peers4-<s>` | `ip saddr <cidr> ip saddr != <except>…`  (daddr for egress)
//     [`meta l4proto . th dport { tcp . 80, udp . 5000-5010 }`] [`ct status dnat`] return
//   then `drop comment "<key>"`; and the element `<host veth> : jump pod-<h>-…` in its map.
// An allowed packet `return`s (it does not accept): the egress chain of the sender and the
// ingress chain of the receiver must both let it through. A direction that is not isolated has
// no chain and no element: everything passes. A pod's chains name peer sets, never addresses,
// so a new pod or a label change rewrites set elements only; rule evaluation per packet is the
// pod's own rules and a hash lookup per set, whatever the cluster's size.
import { addressOf, bigIntToIp, containsIp, familyOf, ipToBigInt, networkOf } from '../../../lib/cidr.ts';
import { PREFIX, peerSetKey, podInterfaceKey } from '../../items/keys.ts';
import type { PeerSet, PodPolicy, PolicyPeer, PolicyPort, PolicyRule } from '../../items/values.ts';
import type { NftOp, NftTable, NftTableSpec } from './nft.ts';
import { hashOf } from './service-plan.ts';

export const POLICY_MAP = { ingress: 'pod-ingress', egress: 'pod-egress' } as const;
const FORWARD_CHAIN = 'forward';
const FORWARD_BASE = 'type filter hook forward priority 0; policy accept;';
const FORWARD_RULES = [
  'ct state established,related accept',
  `meta oifname vmap @${POLICY_MAP.ingress}`,
  `meta iifname vmap @${POLICY_MAP.egress}`,
];

type Direction = 'ingress' | 'egress';
type Fam = 4 | 6;
const FAMILIES: readonly Fam[] = [4, 6];
const SET_TYPE = { 4: 'ipv4_addr', 6: 'ipv6_addr' } as const;
const MATCH = { 4: 'ip', 6: 'ip6' } as const;

/** The fixed part: idempotent, and it rewrites the forward chain's rules (never the maps). */
export function policySetupOps(): NftOp[] {
  const ops: NftOp[] = [{ op: 'add-table' }];
  for (const map of Object.values(POLICY_MAP))
    ops.push({ op: 'add-set', set: map, type: 'ifname', map: 'verdict' });
  ops.push({ op: 'add-chain', chain: FORWARD_CHAIN, base: FORWARD_BASE });
  ops.push({ op: 'flush-chain', chain: FORWARD_CHAIN });
  for (const rule of FORWARD_RULES) ops.push({ op: 'add-rule', chain: FORWARD_CHAIN, rule });
  return ops;
}

/** Whether the fixed part is there exactly as policySetupOps writes it. */
export function policyBaseIntact(t: NftTable | undefined): boolean {
  const forward = t?.chains.get(FORWARD_CHAIN);
  return (
    forward?.base === FORWARD_BASE &&
    forward.rules.join('\n') === FORWARD_RULES.join('\n') &&
    Object.values(POLICY_MAP).every(
      (m) => t?.sets.get(m)?.type === 'ifname' && t.sets.get(m)?.map === 'verdict',
    )
  );
}

/** The policy table: `inet <name>` with the fixed part above. */
export const policyTableSpec = (name: string): NftTableSpec => ({
  family: 'inet',
  name,
  setupOps: policySetupOps,
  baseIntact: policyBaseIntact,
});

/**
 * The item key as an nft comment: nft takes at most 128 bytes and no double quote, so a longer
 * or odd key is shortened and made unique with its hash. Retrieve resolves names through the
 * hash first; the comment only names objects no desired item explains.
 */
export function ownerComment(key: string): string {
  const safe = key.replace(/[^\x20-\x7e]|"/g, '?');
  return safe === key && key.length <= 128 ? key : `${safe.slice(0, 100)}~${hashOf(key)}`;
}

const commentOf = (rule: string): string | undefined => / comment "([^"]*)"$/.exec(rule)?.[1];

// ---- peer sets ----

/** What one PeerSet item is in the table: each family's set and its members. */
export interface PeerSetObjects {
  v4: string[];
  v6: string[];
}

export const peerSetName = (key: string, family: Fam): string => `peers${family}-${hashOf(key)}`;

/** An address as nft prints it back (IPv6 compressed, lower case). */
const canonicalIp = (ip: string): string => bigIntToIp(ipToBigInt(ip), familyOf(ip)!);

const byAddress = (a: string, b: string): number => {
  const d = ipToBigInt(a) - ipToBigInt(b);
  return d === 0n ? 0 : d < 0n ? -1 : 1;
};

export function planPeerSet(v: PeerSet): PeerSetObjects {
  const all = [...new Set(v.addresses.map(canonicalIp))].sort(byAddress);
  return { v4: all.filter((a) => familyOf(a) === 4), v6: all.filter((a) => familyOf(a) === 6) };
}

export const samePeerSet = (a: PeerSetObjects, b: PeerSetObjects): boolean =>
  a.v4.join() === b.v4.join() && a.v6.join() === b.v6.join();

/**
 * One transaction turning a set from `old` (what it was written as, or what the table holds)
 * into `next`: only the members that differ. Deletes are safe whatever is there: a member is
 * added (a no-op when present) before it is deleted, a set is added before it is deleted.
 */
export function peerSetOps(
  key: string,
  old: PeerSetObjects | undefined,
  next: PeerSetObjects | undefined,
): NftOp[] {
  const ops: NftOp[] = [];
  const comment = ownerComment(key);
  for (const f of FAMILIES) {
    const set = peerSetName(key, f);
    ops.push({ op: 'add-set', set, type: SET_TYPE[f], comment });
    if (!next) {
      ops.push({ op: 'delete-set', set });
      continue;
    }
    const had = new Set(old?.[`v${f}`] ?? []);
    const want = new Set(next[`v${f}`]);
    for (const a of had) {
      if (want.has(a)) continue;
      ops.push({ op: 'add-element', set, key: a }, { op: 'delete-element', set, key: a });
    }
    for (const a of want) if (!had.has(a)) ops.push({ op: 'add-element', set, key: a });
  }
  return ops;
}

/** Every peer set in a table by item key (hash resolved through `knownKeys`, else the comment). */
export function peerSetsIn(t: NftTable, knownKeys: Iterable<string>): Map<string, PeerSetObjects> {
  const byHash = hashIndex(knownKeys, PREFIX.peerSet);
  const out = new Map<string, PeerSetObjects>();
  for (const [name, s] of t.sets) {
    const m = /^peers([46])-([0-9a-f]{12})$/.exec(name);
    if (!m) continue;
    const key = byHash.get(m[2]!) ?? s.comment;
    if (!key?.startsWith(PREFIX.peerSet)) continue;
    let found = out.get(key);
    if (!found) out.set(key, (found = { v4: [], v6: [] }));
    found[`v${m[1] as '4' | '6'}`] = [...s.elements.keys()].sort(byAddress);
  }
  return out;
}

/** Whether both family sets of a key are in the table with the right types. */
export function peerSetComplete(t: NftTable, key: string): boolean {
  return FAMILIES.every((f) => t.sets.get(peerSetName(key, f))?.type === SET_TYPE[f]);
}

// ---- pod policies ----

/** What one PodPolicy item is in the table. `metadata` of the item: what it was written as. */
export interface PolicyObjects {
  /** Dispatch elements: a host veth → its chain, in POLICY_MAP's maps. */
  elements: { map: string; ifname: string; verdict: string }[];
  chains: { name: string; rules: string[] }[];
}

export const podChain = (key: string, dir: Direction): string =>
  `pod-${hashOf(key)}-${dir === 'ingress' ? 'in' : 'out'}`;

/** An address or prefix as nft prints it: host bits cleared, a host prefix bare. */
function prefixText(cidr: string): string {
  const host = familyOf(cidr) === 4 ? '/32' : '/128';
  const net = networkOf(cidr.includes('/') ? cidr : cidr + host);
  return net.endsWith(host) ? addressOf(net) : net;
}

/** The except prefixes that cut into `cidr` (same family, inside it), none inside another. */
function exceptsOf(cidr: string, except: readonly string[]): string[] {
  const lenOf = (c: string): number => Number(c.split('/')[1] ?? (familyOf(c) === 4 ? 32 : 128));
  const inside = (inner: string, outer: string): boolean =>
    lenOf(inner) >= lenOf(outer) && containsIp(outer, addressOf(networkOf(inner)));
  const cuts = [...new Set(except.map((e) => networkOf(e)))].filter(
    (e) => familyOf(e) === familyOf(cidr) && inside(e, networkOf(cidr)),
  );
  return cuts
    .filter((e) => !cuts.some((o) => o !== e && inside(e, o)))
    .sort((a, b) => byAddress(addressOf(a), addressOf(b)) || lenOf(a) - lenOf(b))
    .map(prefixText);
}

/** The address matches of one peer, one per family it can match in. */
function peerMatches(peer: PolicyPeer, dir: Direction, families: readonly Fam[]): string[] {
  const field = dir === 'ingress' ? 'saddr' : 'daddr';
  if (peer.type === 'set')
    return families.map((f) => `${MATCH[f]} ${field} @${peerSetName(peerSetKey(peer.set), f)}`);
  const f = familyOf(peer.cidr) as Fam;
  if (!families.includes(f)) return [];
  const m = `${MATCH[f]} ${field}`;
  return [
    [`${m} ${prefixText(peer.cidr)}`, ...exceptsOf(peer.cidr, peer.except).map((e) => `${m} != ${e}`)].join(
      ' ',
    ),
  ];
}

/** `meta l4proto . th dport { … }`: ranges per protocol merged, sorted; '' for every port. */
function portsMatch(ports: readonly PolicyPort[]): string {
  if (ports.length === 0) return '';
  const ranges = ports
    .map((p) => ({
      proto: p.protocol.toLowerCase(),
      lo: p.port === 0 ? 0 : p.port,
      hi: p.port === 0 ? 65_535 : Math.max(p.port, p.endPort),
    }))
    .sort((a, b) => (a.proto === b.proto ? a.lo - b.lo : a.proto < b.proto ? -1 : 1));
  const merged: typeof ranges = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && last.proto === r.proto && r.lo <= last.hi + 1) last.hi = Math.max(last.hi, r.hi);
    else merged.push({ ...r });
  }
  const elems = merged.map((r) => `${r.proto} . ${r.lo === r.hi ? r.lo : `${r.lo}-${r.hi}`}`);
  return `meta l4proto . th dport { ${elems.join(', ')} }`;
}

/** The address families a pod has (both when it lists none). */
function familiesOf(v: PodPolicy): Fam[] {
  const fams = new Set(v.podIps.map((ip) => familyOf(ip) as Fam));
  return fams.size === 0 ? [...FAMILIES] : FAMILIES.filter((f) => fams.has(f));
}

function ruleTexts(rule: PolicyRule, dir: Direction, families: readonly Fam[]): string[] {
  const peers = rule.peers.length === 0 ? [''] : rule.peers.flatMap((p) => peerMatches(p, dir, families));
  const tail = [portsMatch(rule.ports), rule.viaService ? 'ct status dnat' : '', 'return'];
  return peers.map((p) => [p, ...tail].filter((x) => x !== '').join(' '));
}

/** The objects a PodPolicy item is made of, its interface's host veth being `hostIfName`. */
export function planPolicy(key: string, v: PodPolicy, hostIfName: string): PolicyObjects {
  const out: PolicyObjects = { elements: [], chains: [] };
  const families = familiesOf(v);
  for (const dir of ['ingress', 'egress'] as const) {
    if (!v[dir].isolated) continue;
    const name = podChain(key, dir);
    const rules = [...new Set(v[dir].rules.flatMap((r) => ruleTexts(r, dir, families)))];
    rules.push(`drop comment ${JSON.stringify(ownerComment(key))}`);
    out.chains.push({ name, rules });
    out.elements.push({ map: POLICY_MAP[dir], ifname: hostIfName, verdict: `jump ${name}` });
  }
  return out;
}

type PolicyElement = PolicyObjects['elements'][number];
const sameElement = (a: PolicyElement, b: PolicyElement): boolean =>
  a.map === b.map && a.ifname === b.ifname && a.verdict === b.verdict;
const quoted = (ifname: string): string => JSON.stringify(ifname);

/**
 * One transaction turning `old` (what the table holds for `key`) into `next`: its own elements
 * and chains only. Deletes are safe whatever is there: an element is added (same value: a
 * no-op) before it is deleted, a chain is added and flushed before it is deleted. A chain that
 * stays is flushed and refilled in the same transaction, so no packet sees it half written.
 */
export function policyOps(
  key: string,
  old: PolicyObjects | undefined,
  next: PolicyObjects | undefined,
): NftOp[] {
  const o = old ?? { elements: [], chains: [] };
  const n = next ?? { elements: [], chains: [] };
  const chains = [...new Set([...o.chains, ...n.chains].map((c) => c.name))];
  const nextChains = new Set(n.chains.map((c) => c.name));
  const ops: NftOp[] = chains.map((chain) => ({ op: 'add-chain', chain }));
  // Old elements first: they may name old chains, which must be unreferenced before deletion.
  for (const e of o.elements) {
    if (n.elements.some((x) => sameElement(x, e))) continue;
    ops.push({ op: 'add-element', set: e.map, key: quoted(e.ifname), value: e.verdict });
    ops.push({ op: 'delete-element', set: e.map, key: quoted(e.ifname) });
  }
  for (const chain of chains) ops.push({ op: 'flush-chain', chain });
  for (const c of o.chains) if (!nextChains.has(c.name)) ops.push({ op: 'delete-chain', chain: c.name });
  for (const c of n.chains) for (const rule of c.rules) ops.push({ op: 'add-rule', chain: c.name, rule });
  for (const e of n.elements) {
    if (o.elements.some((x) => sameElement(x, e))) continue;
    const comment = ownerComment(key);
    ops.push({ op: 'add-element', set: e.map, key: quoted(e.ifname), value: e.verdict, comment });
  }
  return ops;
}

function hashIndex(knownKeys: Iterable<string>, prefix: string): Map<string, string> {
  const byHash = new Map<string, string>();
  for (const k of knownKeys) if (k.startsWith(prefix)) byHash.set(hashOf(k), k);
  return byHash;
}

/**
 * Every pod policy's objects in a table, by item key: chains by the hash in their name (resolved
 * through `knownKeys`, else the comment of their last rule), elements by the chain they jump to
 * (else their comment). Objects whose key cannot be recovered are left out.
 */
export function policiesIn(t: NftTable, knownKeys: Iterable<string>): Map<string, PolicyObjects> {
  const byHash = hashIndex(knownKeys, PREFIX.policy);
  const out = new Map<string, PolicyObjects>();
  const of = (key: string): PolicyObjects => {
    let f = out.get(key);
    if (!f) out.set(key, (f = { elements: [], chains: [] }));
    return f;
  };
  const chainOwner = new Map<string, string>();
  for (const [name, c] of t.chains) {
    const h = /^pod-([0-9a-f]{12})-(?:in|out)$/.exec(name)?.[1];
    if (h === undefined) continue;
    const key = byHash.get(h) ?? commentOf(c.rules[c.rules.length - 1] ?? '');
    if (!key?.startsWith(PREFIX.policy)) continue;
    chainOwner.set(name, key);
    of(key).chains.push({ name, rules: [...c.rules] });
  }
  for (const map of Object.values(POLICY_MAP)) {
    for (const [ifname, e] of t.sets.get(map)?.elements ?? []) {
      const target = /^(?:jump|goto) (\S+)$/.exec(e.value ?? '')?.[1] ?? '';
      const key = chainOwner.get(target) ?? e.comment;
      if (key?.startsWith(PREFIX.policy)) of(key).elements.push({ map, ifname, verdict: e.value ?? '' });
    }
  }
  return out;
}

/**
 * What the table holds for `key`, for redoing a failed change: its own objects, and whatever
 * element sits on the host veths `next` dispatches (the veth belongs to this item's interface,
 * so an element left there by hand or by an older item is in the way and goes).
 */
export function policyInTable(t: NftTable, key: string, next: PolicyObjects | undefined): PolicyObjects {
  const own = policiesIn(t, [key]).get(key) ?? { elements: [], chains: [] };
  for (const e of next?.elements ?? []) {
    const there = t.sets.get(e.map)?.elements.get(e.ifname);
    if (there && !own.elements.some((x) => x.map === e.map && x.ifname === e.ifname))
      own.elements.push({ map: e.map, ifname: e.ifname, verdict: there.value ?? '' });
  }
  return own;
}

/**
 * A rule with the members of its set literals sorted: nft lists an anonymous interval set in
 * its own order (`{ udp . 53, tcp . 443 }` for what was written `{ tcp . 443, udp . 53 }`).
 */
const membersSorted = (rule: string): string =>
  rule.replace(/\{ ([^{}]*) \}/g, (_m, body: string) => `{ ${body.split(', ').sort().join(', ')} }`);

/** Order-insensitive equality of two policies' objects (rule order within a chain counts). */
export function samePolicy(a: PolicyObjects, b: PolicyObjects): boolean {
  const norm = (f: PolicyObjects): string =>
    JSON.stringify([
      f.elements.map((e) => `${e.map}|${e.ifname}|${e.verdict}`).sort(),
      f.chains
        .map((c) => [c.name, c.rules.map(membersSorted)] as const)
        .sort((x, y) => (x[0] < y[0] ? -1 : 1)),
    ]);
  return norm(a) === norm(b);
}

/**
 * A PodPolicy value describing what the table holds for `key` (for status, and for the
 * scheduler to see a difference): a direction is isolated when it has a chain, and each rule
 * found is listed by its nft text as `origin` (the rules cannot be read back into selectors).
 * Fields the table does not hold come from `like`.
 */
export function policyFrom(key: string, found: PolicyObjects, like?: PodPolicy): PodPolicy {
  const [namespace = '', pod = '', ifname = ''] = key.slice(PREFIX.policy.length).split('/');
  const direction = (dir: Direction): PodPolicy['ingress'] => {
    const chain = found.chains.find((c) => c.name.endsWith(dir === 'ingress' ? '-in' : '-out'));
    if (!chain) return { isolated: false, rules: [] };
    const texts = [...chain.rules];
    if (!found.elements.some((e) => e.map === POLICY_MAP[dir])) texts.push('(no dispatch element)');
    return {
      isolated: true,
      rules: texts.map((r) => ({ origin: `nft: ${r}`, peers: [], ports: [], viaService: false })),
    };
  };
  return {
    namespace: like?.namespace ?? namespace,
    pod: like?.pod ?? pod,
    interface:
      like?.interface ?? (ifname === '' ? '' : podInterfaceKey(namespace || '-', pod || '-', ifname)),
    podIps: like?.podIps ?? [],
    ingress: direction('ingress'),
    egress: direction('egress'),
  };
}
