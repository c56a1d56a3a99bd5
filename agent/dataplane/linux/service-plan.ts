// Services in nftables, after kube-proxy's nftables mode (pure: values → nft objects → ops).
//
// One table, `ip <serviceTable>`, apart from the source-NAT table, so flushing or reading one
// never disturbs the other. Fixed part (written once per agent, and again when found damaged):
//   maps   service-ips            vip . proto . port  : goto pick-<c> | svc-<h>  (cluster/external/LB IPs)
//          service-nodeports      proto . port        : goto pick-<c> | svc-<h>  (behind fib daddr type local)
//          no-endpoint-services   vip . proto . port  : goto reject-chain | drop
//          no-endpoint-nodeports  proto . port        : goto reject-chain | drop
//          service-backends       vip . proto . port . index : backend address
//          nodeport-backends      proto . port . index       : backend address
//   set    hairpin                b . b for the backends of shared draws
//   chains nat-prerouting, nat-output (dstnat) → services: the two vmap lookups; so pods, the
//          outside world (prerouting) and the node itself (output) all reach services;
//          filter-prerouting, filter-output (dstnat - 10, new connections) → no-endpoints: the
//          no-endpoint maps, before routing, so a VIP without a route still answers with a
//          reset / port unreachable (reject is refused in nat chains, and prerouting needs
//          kernel ≥ 5.11 for it);
//          nat-postrouting → masquerading: masquerade a connection DNATed back to its source
//          (`ip saddr . ip daddr @hairpin`), and what carries MASQ_MARK, clearing the bit first
//          so an encapsulated copy (VXLAN inherits the mark) is not masqueraded again.
// Most frontends (no affinity, no Local split, one target port) are data (sharedDraw): their
// element goes to `pick-<c>`, a chain named by its content and shared by every frontend with
// the same guards, number of backends and port — `ip saddr != r … drop` (sourceRanges), the
// masquerade mark (sources outside `masqueradeOutside`, or all), then one draw, `dnat ip to
// <key> . numgen random mod N map @service-backends : <port>` — and their backends are elements
// of the backend map; hairpin is `b . b` in @hairpin, judged after DNAT. A change of backends is
// then a change of elements, and costs the same at 10 or 10,000 Services.
// The others keep chains of their own, named from a hash of the item key, the key in the
// element's comment and in the last rule of each chain (so retrieve can attribute everything):
//   svc-<h>            the same guards; then per backend b_i of N, drawn with `numgen random mod
//                      (N-i) 0` (equal shares): `ip saddr != b_i <draw> dnat to b_i` and `ip saddr
//                      b_i <draw> <mark> dnat to b_i` (hairpin: a backend reaching itself is
//                      masqueraded, else its reply would bypass conntrack); the last backend
//                      undrawn. With `inCluster` (Local policy, clients inside the cluster):
//                      `ip saddr <cluster prefix> goto int-<h>` per prefix and `fib saddr type
//                      local <mark> goto int-<h>` (the node itself, masqueraded) first, and `drop`
//                      when no backend of this node is left for the rest
//   int-<h>            the same draws over every backend (`inCluster.backends`)
//   with ClientIP affinity, instead: per backend `ip saddr @aff-<h>-<b> goto ep-<h>-<b>`, then
//                      the draws `goto ep-<h>-<b_i>`, and per backend
//   ep-<h>-<ip>-<port> the hairpin mark; affinity `update`; dnat
//   aff-<h>-<ip>-<port> dynamic set of client addresses with the affinity timeout
// A frontend without backends has only its no-endpoint element. Changing a frontend rewrites
// only its own elements, chains and sets, in one transaction (changeOps); the shared chains and
// hairpin elements it needs are written with it, and removed (releaseOps) in the transaction of
// the last frontend that used them (the descriptor counts users); the fixed part is never flushed.
import { createHash } from 'node:crypto';
import { ipToBigInt, networkOf } from '../../../lib/cidr.ts';
import { PREFIX } from '../../items/keys.ts';
import type { Protocol, Service, ServiceBackend } from '../../items/values.ts';
import type { NftOp, NftTable, NftTableSpec } from './nft.ts';

/** The packet-mark bit that asks nat-postrouting to masquerade (kube-proxy's bit; we replace it). */
export const MASQ_MARK = 0x4000;
const MARK = `0x${MASQ_MARK.toString(16).padStart(8, '0')}`;
const SET_MARK = `meta mark set meta mark | ${MARK}`;
/** The frontend's masquerade rule as read back: `ip saddr != <prefix>` repeated, then the mark. */
const MASQ_RULE = /^(?:ip saddr != \S+ )*meta mark set meta mark \| 0x00004000$/;

export const MAP = {
  vips: 'service-ips',
  nodePorts: 'service-nodeports',
  noEndpointVips: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
  backends: 'service-backends',
  nodePortBackends: 'nodeport-backends',
} as const;
/** `b . b` for every backend address b of a shared-draw frontend: hairpin, masqueraded after DNAT. */
export const HAIRPIN_SET = 'hairpin';
const VIP_TYPE = 'ipv4_addr . inet_proto . inet_service';
const PORT_TYPE = 'inet_proto . inet_service';
const REJECT_CHAIN = 'reject-chain';
/** Node ports answer on every local address but loopback (which would need route_localnet). */
const LOCAL = 'fib daddr type local ip daddr != 127.0.0.0/8';

/** The fixed chains: spec (base chains) and rules, in the canonical form nft.ts prints. */
const BASE_CHAINS: readonly { chain: string; base?: string; rules: string[] }[] = [
  { chain: REJECT_CHAIN, rules: ['reject with tcp reset', 'reject'] },
  {
    chain: 'no-endpoints',
    rules: [
      `ip daddr . meta l4proto . th dport vmap @${MAP.noEndpointVips}`,
      `${LOCAL} meta l4proto . th dport vmap @${MAP.noEndpointNodePorts}`,
    ],
  },
  {
    chain: 'services',
    rules: [
      `ip daddr . meta l4proto . th dport vmap @${MAP.vips}`,
      `${LOCAL} meta l4proto . th dport vmap @${MAP.nodePorts}`,
    ],
  },
  {
    chain: 'masquerading',
    rules: [
      // A connection DNATed back to its own source (hairpin): its reply would bypass conntrack.
      `ip saddr . ip daddr @${HAIRPIN_SET} masquerade fully-random`,
      `meta mark & ${MARK} == 0x00000000 return`,
      `meta mark set meta mark ^ ${MARK}`,
      'masquerade fully-random',
    ],
  },
  ...(['prerouting', 'output'] as const).flatMap((hook) => [
    {
      chain: `filter-${hook}`,
      base: `type filter hook ${hook} priority -110; policy accept;`,
      rules: ['ct state new jump no-endpoints'],
    },
    {
      chain: `nat-${hook}`,
      base: `type nat hook ${hook} priority -100; policy accept;`,
      rules: ['jump services'],
    },
  ]),
  {
    chain: 'nat-postrouting',
    base: 'type nat hook postrouting priority 100; policy accept;',
    rules: ['jump masquerading'],
  },
];

/**
 * The fixed maps and sets. The backend maps (frontend key and drawn index → backend address)
 * are declared by `typeof`: the kernel lists the index as `integer`, a type no `type`
 * declaration can name. Their value is the address alone: with a port in it nft 1.0.6 either
 * refuses later rules using the map (`ip daddr . th dport`) or gives them a TCP-only match
 * (`ip daddr . tcp dport`); the port is the draw's, in its chain.
 */
const BASE_MAPS: readonly { set: string; type: string; map?: string; typeof?: string }[] = [
  { set: MAP.vips, type: VIP_TYPE, map: 'verdict' },
  { set: MAP.nodePorts, type: PORT_TYPE, map: 'verdict' },
  { set: MAP.noEndpointVips, type: VIP_TYPE, map: 'verdict' },
  { set: MAP.noEndpointNodePorts, type: PORT_TYPE, map: 'verdict' },
  {
    set: MAP.backends,
    type: `${VIP_TYPE} . integer`,
    map: 'ipv4_addr',
    typeof: 'ip daddr . meta l4proto . th dport . numgen random mod 2 : ip daddr',
  },
  {
    set: MAP.nodePortBackends,
    type: `${PORT_TYPE} . integer`,
    map: 'ipv4_addr',
    typeof: 'meta l4proto . th dport . numgen random mod 2 : ip daddr',
  },
  { set: HAIRPIN_SET, type: 'ipv4_addr . ipv4_addr' },
];

/** The fixed part: idempotent, and it rewrites the fixed chains' rules (never the maps). */
export function setupOps(): NftOp[] {
  const ops: NftOp[] = [{ op: 'add-table' }];
  for (const m of BASE_MAPS) ops.push({ op: 'add-set', ...m });
  for (const c of BASE_CHAINS)
    ops.push({ op: 'add-chain', chain: c.chain, ...(c.base ? { base: c.base } : {}) });
  for (const c of BASE_CHAINS) {
    ops.push({ op: 'flush-chain', chain: c.chain });
    for (const rule of c.rules) ops.push({ op: 'add-rule', chain: c.chain, rule });
  }
  return ops;
}

/** Whether the fixed part is there exactly as setupOps writes it. */
export function baseIntact(t: NftTable | undefined): boolean {
  if (!t) return false;
  const chainsOk = BASE_CHAINS.every((c) => {
    const found = t.chains.get(c.chain);
    return found !== undefined && found.base === c.base && found.rules.join('\n') === c.rules.join('\n');
  });
  return (
    chainsOk && BASE_MAPS.every((m) => t.sets.get(m.set)?.type === m.type && t.sets.get(m.set)?.map === m.map)
  );
}

/** The services table: `ip <name>` with the fixed part above. */
export const serviceTableSpec = (name: string): NftTableSpec => ({
  family: 'ip',
  name,
  setupOps,
  baseIntact,
});

// ---- one frontend ----

/** What one Service item is in the table. `metadata` of the item: what it was written as. */
export interface FrontendObjects {
  /** Map elements (a verdict or a backend as `value`) and set elements (no value). */
  elements: { set: string; key: string; value?: string }[];
  /** Backend chains first, the frontend chain last (the order rules are added in). */
  chains: { name: string; rules: string[] }[];
  sets: { name: string; timeout: number }[];
  /**
   * A shared draw (see sharedDraw): the chain its element goes to, named by its content and
   * shared by every frontend drawing the same way; and the hairpin elements its backends need.
   * Both are written with the frontend and not deleted by its own change (another may use
   * them): the descriptor counts their users and removes them with the last (releaseOps).
   */
  shared?: { chain: { name: string; rules: string[] }; hairpin: string[] };
}

export const hashOf = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 12);
export const frontendChain = (key: string): string => `svc-${hashOf(key)}`;
/** The chain serving clients inside the cluster under the Local policy (`inCluster`). */
export const internalChain = (key: string): string => `int-${hashOf(key)}`;
const backendPart = (b: Pick<ServiceBackend, 'ip' | 'port'>): string => `${b.ip}-${b.port}`;
export const backendChain = (key: string, b: Pick<ServiceBackend, 'ip' | 'port'>): string =>
  `ep-${hashOf(key)}-${backendPart(b)}`;
export const affinitySet = (key: string, b: Pick<ServiceBackend, 'ip' | 'port'>): string =>
  `aff-${hashOf(key)}-${backendPart(b)}`;
/** Names of objects a frontend may own: `svc-<h>`, `int-<h>`, `ep-<h>-…`, `aff-<h>-…` → h. */
export const ownerHash = (name: string): string | undefined =>
  /^(?:svc|int|ep|aff)-([0-9a-f]{12})(?:-|$)/.exec(name)?.[1];

const protoOf = (p: Protocol): string => p.toLowerCase();

/** One address or prefix as nft prints it (host bits cleared; /32 bare). */
function prefixText(cidr: string): string {
  const net = networkOf(cidr);
  return net.endsWith('/32') ? net.slice(0, -3) : net;
}

/** Prefixes sorted, duplicates and prefixes inside others dropped (nft would merge them). */
function outsideOf(cidrs: readonly string[]): string[] {
  const nets = [...new Set(cidrs.map(networkOf))];
  const within = (a: string, b: string): boolean => {
    const [ab, al] = [ipToBigInt(a.split('/')[0]!), Number(a.split('/')[1])];
    const [bb, bl] = [ipToBigInt(b.split('/')[0]!), Number(b.split('/')[1])];
    return a !== b && bl <= al && ab >> BigInt(32 - bl) === bb >> BigInt(32 - bl);
  };
  return nets
    .filter((a) => !nets.some((b) => within(a, b)))
    .sort((a, b) => (ipToBigInt(a.split('/')[0]!) < ipToBigInt(b.split('/')[0]!) ? -1 : 1))
    .map(prefixText);
}

/** Backends in a stable order (by address, then port), duplicates dropped. */
export function backendsOf(v: Service): ServiceBackend[] {
  const seen = new Map<string, ServiceBackend>();
  for (const b of v.backends) seen.set(`${b.ip}:${b.port}`, b);
  return [...seen.values()].sort((a, b) => {
    const d = ipToBigInt(a.ip) - ipToBigInt(b.ip);
    return d !== 0n ? (d < 0n ? -1 : 1) : a.port - b.port;
  });
}

/** The frontend's key in the maps: `vip . proto . port`, or `proto . port` for a node port. */
const elementKeyOf = (v: Service): string =>
  v.vip === 'node' ? `${protoOf(v.protocol)} . ${v.port}` : `${v.vip} . ${protoOf(v.protocol)} . ${v.port}`;

/**
 * The element that sends a frontend's packets somewhere: its map, key and verdict (`target`:
 * the chain it goes to; none: it has no backends).
 */
function elementOf(v: Service, target: string | undefined): FrontendObjects['elements'][number] {
  const node = v.vip === 'node';
  const key = elementKeyOf(v);
  if (target !== undefined) return { set: node ? MAP.nodePorts : MAP.vips, key, value: `goto ${target}` };
  return {
    set: node ? MAP.noEndpointNodePorts : MAP.noEndpointVips,
    key,
    value: v.noBackends === 'reject' ? `goto ${REJECT_CHAIN}` : 'drop',
  };
}

/** The first rules of a frontend: source ranges, then the masquerade mark (either may be absent). */
function guardRules(v: Service): string[] {
  const rules: string[] = [];
  // Only the first packet of a connection meets a nat chain, so dropping it refuses the connection.
  if (v.sourceRanges !== undefined)
    rules.push(
      `${outsideOf(v.sourceRanges)
        .map((r) => `ip saddr != ${r} `)
        .join('')}drop`,
    );
  if (v.masqueradeOutside !== null)
    rules.push(
      `${outsideOf(v.masqueradeOutside)
        .map((p) => `ip saddr != ${p} `)
        .join('')}${SET_MARK}`,
    );
  return rules;
}

const isBackendMap = (set: string): boolean => set === MAP.backends || set === MAP.nodePortBackends;

/** Whether a frontend is drawn in a shared chain from the backend maps (see sharedDraw). */
export const drawsShared = (v: Service): boolean =>
  v.affinitySeconds <= 0 && v.inCluster === undefined && new Set(v.backends.map((b) => b.port)).size <= 1;

/**
 * A frontend drawn from data: its backends are elements of a map keyed by the frontend and an
 * index, and its element goes to a chain shared by every frontend with the same guards and
 * number of backends, `pick-<hash of its rules>`: the guards, then
 * `dnat ip to <key> . numgen random mod N map @service-backends` (one draw, equal shares). A
 * change of backends is then a change of elements: the kernel validates no chain per frontend
 * (it walks every chain reachable from the hooks whenever a transaction adds a rule or a jump,
 * which grew with the table when each frontend had chains of its own), and nft lists a handful
 * of chains before it writes, not one per frontend. Hairpin is judged after DNAT, by `b . b` in
 * @hairpin (postrouting), since which backend the draw took is not known before it.
 */
function sharedDraw(v: Service, backends: readonly ServiceBackend[]): FrontendObjects {
  const port = backends[0]!.port;
  const node = v.vip === 'node';
  const keyExpr = node ? 'meta l4proto . th dport' : 'ip daddr . meta l4proto . th dport';
  const map = node ? MAP.nodePortBackends : MAP.backends;
  const rules = [
    ...guardRules(v),
    `dnat ip to ${keyExpr} . numgen random mod ${backends.length} map @${map} : ${port}`,
  ];
  const chain = { name: `pick-${hashOf(rules.join('\n'))}`, rules };
  const key = elementKeyOf(v);
  return {
    elements: [
      elementOf(v, chain.name),
      ...backends.map((b, i) => ({ set: map, key: `${key} . ${i}`, value: b.ip })),
    ],
    chains: [],
    sets: [],
    shared: { chain, hairpin: [...new Set(backends.map((b) => `${b.ip} . ${b.ip}`))].sort() },
  };
}

/**
 * Which backend a new connection takes: `numgen random mod k 0` on the i-th of N rules (k = N - i)
 * holds with probability 1/k, so each backend gets an equal share (as kube-proxy's iptables mode
 * does with `statistic`). Not one `numgen … vmap { … }` literal: that is an anonymous set, and the
 * kernel binds each one by walking the whole transaction, so the first sync of N frontends in one
 * transaction cost O(N²) (10,000 frontends: 275 s of kernel time, against 12 s this way).
 */
const pick = (i: number, n: number): string => `numgen random mod ${n - i} 0`;

/**
 * The frontend chain without affinity: the backends inline, no chain per backend. Each backend
 * but the last gets two rules, one per kind of client, drawing once between them: a client that
 * is that backend (hairpin) is marked for masquerade in the same rule that DNATs it, so exactly
 * the connections DNATed back to their source are marked. One chain per frontend instead of 1 + N
 * matters beyond the kernel: nft 1.0.6 lists every chain of the namespace before any `add rule`
 * or `add element`, so a change costs what the number of chains costs.
 */
function inlineBackends(backends: readonly ServiceBackend[], proto: string, comment: string): string[] {
  const rules: string[] = [];
  const dnat = (b: ServiceBackend): string => `meta l4proto ${proto} dnat to ${b.ip}:${b.port}`;
  backends.forEach((b, i) => {
    if (i < backends.length - 1) {
      rules.push(`ip saddr != ${b.ip} ${pick(i, backends.length)} ${dnat(b)}`);
      rules.push(`ip saddr ${b.ip} ${pick(i, backends.length)} ${SET_MARK} ${dnat(b)}`);
    } else {
      rules.push(`ip saddr ${b.ip} ${SET_MARK}`, `${dnat(b)} ${comment}`);
    }
  });
  return rules;
}

/**
 * With affinity each backend keeps a chain (`ep-…`): the affinity set is checked before the draw
 * and updated after it, which needs a place to go to from both. `chains` are every backend's
 * (`all`); `front(subset)` the rules choosing among a subset of them.
 */
function affinityChains(
  key: string,
  all: readonly ServiceBackend[],
  proto: string,
  comment: string,
): { chains: FrontendObjects['chains']; front: (subset: readonly ServiceBackend[]) => string[] } {
  const chains = all.map((b) => ({
    name: backendChain(key, b),
    rules: [
      `ip saddr ${b.ip} ${SET_MARK}`,
      `update @${affinitySet(key, b)} { ip saddr }`,
      `meta l4proto ${proto} dnat to ${b.ip}:${b.port} ${comment}`,
    ],
  }));
  const front = (subset: readonly ServiceBackend[]): string[] => {
    const rules = subset.map((b) => `ip saddr @${affinitySet(key, b)} goto ${backendChain(key, b)}`);
    subset.forEach((b, i) => {
      const go = `goto ${backendChain(key, b)}`;
      rules.push(i < subset.length - 1 ? `${pick(i, subset.length)} ${go}` : `${go} ${comment}`);
    });
    return rules;
  };
  return { chains, front };
}

/** The objects a Service item is made of. */
export function planFrontend(key: string, v: Service): FrontendObjects {
  const backends = backendsOf(v);
  const inside = v.inCluster ? backendsOf({ ...v, backends: v.inCluster.backends }) : [];
  if (backends.length === 0 && inside.length === 0)
    return { elements: [elementOf(v, undefined)], chains: [], sets: [] };
  if (drawsShared(v)) return sharedDraw(v, backends);
  const element = elementOf(v, frontendChain(key));
  const comment = `comment ${JSON.stringify(key)}`;
  const proto = protoOf(v.protocol);
  const front: string[] = guardRules(v);
  const internal = internalChain(key);
  if (inside.length > 0) {
    for (const p of outsideOf(v.inCluster!.sources)) front.push(`ip saddr ${p} goto ${internal}`);
    // The node's own connections go anywhere in the cluster; masqueraded, so a backend on another
    // node answers through this one.
    front.push(`fib saddr type local ${SET_MARK} goto ${internal}`);
  }
  const chains: FrontendObjects['chains'] = [];
  const sets: FrontendObjects['sets'] = [];
  let draw: (subset: readonly ServiceBackend[]) => string[];
  if (v.affinitySeconds <= 0) {
    draw = (subset) => inlineBackends(subset, proto, comment);
  } else {
    const union = backendsOf({ ...v, backends: [...backends, ...inside] });
    const aff = affinityChains(key, union, proto, comment);
    chains.push(...aff.chains);
    sets.push(...union.map((b) => ({ name: affinitySet(key, b), timeout: v.affinitySeconds })));
    draw = aff.front;
  }
  if (inside.length > 0) chains.push({ name: internal, rules: draw(inside) });
  // No backend of this node for the outside world under the Local policy: its clients are dropped.
  front.push(...(backends.length > 0 ? draw(backends) : [`drop ${comment}`]));
  chains.push({ name: frontendChain(key), rules: front });
  return { elements: [element], chains, sets };
}

const sameElement = (
  a: FrontendObjects['elements'][number],
  b: FrontendObjects['elements'][number],
): boolean => a.set === b.set && a.key === b.key && a.value === b.value;

/**
 * One transaction turning `old` (what the table holds for `key`) into `next`. Deletes are made
 * safe whatever is there: an element is added (same value: a no-op) before it is deleted, a
 * chain is added and flushed before it is deleted, so a partly present frontend is removed too.
 */
export function changeOps(
  key: string,
  old: FrontendObjects | undefined,
  next: FrontendObjects | undefined,
): NftOp[] {
  const o = old ?? { elements: [], chains: [], sets: [] };
  const n = next ?? { elements: [], chains: [], sets: [] };
  const nextChains = new Set(n.chains.map((c) => c.name));
  const nextSets = new Map(n.sets.map((s) => [s.name, s.timeout]));
  const chains = [...new Set([...o.chains, ...n.chains].map((c) => c.name))];
  const ops: NftOp[] = chains.map((chain) => ({ op: 'add-chain', chain }));
  // Old elements first: they may name old chains, which must be unreferenced before deletion.
  for (const e of o.elements) {
    if (n.elements.some((x) => sameElement(x, e))) continue;
    ops.push({
      op: 'add-element',
      set: e.set,
      key: e.key,
      ...(e.value !== undefined ? { value: e.value } : {}),
    });
    ops.push({ op: 'delete-element', set: e.set, key: e.key });
  }
  for (const chain of chains) ops.push({ op: 'flush-chain', chain });
  for (const c of o.chains) if (!nextChains.has(c.name)) ops.push({ op: 'delete-chain', chain: c.name });
  for (const s of o.sets) {
    if (nextSets.get(s.name) === s.timeout) continue;
    // A set's timeout cannot change in place; a stale set goes (the rules using it are flushed).
    ops.push({ op: 'add-set', set: s.name, type: 'ipv4_addr', timeout: s.timeout });
    ops.push({ op: 'delete-set', set: s.name });
  }
  for (const s of n.sets)
    ops.push({ op: 'add-set', set: s.name, type: 'ipv4_addr', timeout: s.timeout, comment: key });
  for (const c of n.chains) for (const rule of c.rules) ops.push({ op: 'add-rule', chain: c.name, rule });
  if (n.shared) {
    // Written whole (idempotent: its name is its content) unless it was there already as it is.
    const { chain } = n.shared;
    if (JSON.stringify(o.shared?.chain) !== JSON.stringify(chain)) {
      ops.push({ op: 'add-chain', chain: chain.name }, { op: 'flush-chain', chain: chain.name });
      for (const rule of chain.rules) ops.push({ op: 'add-rule', chain: chain.name, rule });
    }
    const had = new Set(o.shared?.hairpin);
    for (const h of n.shared.hairpin)
      if (!had.has(h)) ops.push({ op: 'add-element', set: HAIRPIN_SET, key: h });
  }
  for (const e of n.elements) {
    if (o.elements.some((x) => sameElement(x, e))) continue;
    ops.push({
      op: 'add-element',
      set: e.set,
      key: e.key,
      ...(e.value !== undefined ? { value: e.value } : {}),
      comment: key,
    });
  }
  return ops;
}

/** What no frontend uses any more: shared draw chains and hairpin elements. */
export interface Released {
  chains: string[];
  hairpin: string[];
}

/**
 * Removes shared objects the last frontend using them let go of, after that frontend's own ops
 * in the same transaction (its element naming the chain is gone by then). Safe whatever is
 * there: an element is added before it is deleted, a chain added and flushed.
 */
export function releaseOps(r: Released): NftOp[] {
  const ops: NftOp[] = [];
  for (const h of r.hairpin)
    ops.push(
      { op: 'add-element', set: HAIRPIN_SET, key: h },
      { op: 'delete-element', set: HAIRPIN_SET, key: h },
    );
  for (const chain of r.chains)
    ops.push({ op: 'add-chain', chain }, { op: 'flush-chain', chain }, { op: 'delete-chain', chain });
  return ops;
}

// ---- reading back ----

/**
 * Every frontend's objects in a table, by item key: elements by their comment, chains and sets
 * by the hash in their name (resolved through `knownKeys`, the element comments, and the key
 * written in a chain's rules). Objects whose key cannot be recovered are left out.
 */
export function frontendsIn(t: NftTable, knownKeys: Iterable<string>): Map<string, FrontendObjects> {
  const byHash = new Map<string, string>();
  const remembered = new Set<string>();
  const remember = (key: string | undefined): void => {
    if (!key?.startsWith(PREFIX.service) || remembered.has(key)) return;
    remembered.add(key);
    byHash.set(hashOf(key), key);
  };
  for (const k of knownKeys) remember(k);
  for (const m of BASE_MAPS) for (const e of t.sets.get(m.set)?.elements.values() ?? []) remember(e.comment);
  for (const [name, c] of t.chains) {
    if (ownerHash(name) === undefined) continue;
    for (const r of c.rules) remember(/ comment "([^"]+)"$/.exec(r)?.[1]);
  }
  for (const s of t.sets.values()) remember(s.comment);

  const out = new Map<string, FrontendObjects>();
  const of = (key: string): FrontendObjects => {
    let f = out.get(key);
    if (!f) out.set(key, (f = { elements: [], chains: [], sets: [] }));
    return f;
  };
  for (const m of BASE_MAPS) {
    for (const [elementKey, e] of t.sets.get(m.set)?.elements ?? []) {
      if (e.comment?.startsWith(PREFIX.service))
        of(e.comment).elements.push({
          set: m.set,
          key: elementKey,
          ...(e.value !== undefined ? { value: e.value } : {}),
        });
    }
  }
  // Shared draws: the chain the frontend's element goes to, and which of its hairpin elements exist.
  const hairpin = t.sets.get(HAIRPIN_SET)?.elements;
  for (const f of out.values()) {
    const target = f.elements
      .map((e) => /^goto (pick-[0-9a-f]{12})$/.exec(e.value ?? '')?.[1])
      .find((x) => x !== undefined);
    if (target === undefined) continue;
    const ips = f.elements.flatMap((e) => (isBackendMap(e.set) && e.value ? [e.value] : []));
    f.shared = {
      chain: { name: target, rules: [...(t.chains.get(target)?.rules ?? [])] },
      hairpin: [...new Set(ips.map((ip) => `${ip} . ${ip}`))].filter((h) => hairpin?.has(h)).sort(),
    };
  }
  for (const [name, c] of t.chains) {
    const key = byHash.get(ownerHash(name) ?? '');
    if (key === undefined) continue;
    // The frontend chain goes last, as planFrontend lists it.
    const f = of(key);
    if (name.startsWith('svc-')) f.chains.push({ name, rules: [...c.rules] });
    else f.chains.unshift({ name, rules: [...c.rules] });
  }
  for (const [name, s] of t.sets) {
    const key = byHash.get(ownerHash(name) ?? '');
    if (key !== undefined) of(key).sets.push({ name, timeout: s.timeout ?? 0 });
  }
  return out;
}

/** Order-insensitive equality of two frontends' objects. */
export function sameObjects(a: FrontendObjects, b: FrontendObjects): boolean {
  const norm = (f: FrontendObjects): string =>
    JSON.stringify([
      f.elements.map((e) => `${e.set}|${e.key}|${e.value ?? ''}`).sort(),
      f.chains.map((c) => [c.name, c.rules] as const).sort((x, y) => (x[0] < y[0] ? -1 : 1)),
      f.sets.map((s) => `${s.name}|${s.timeout}`).sort(),
      f.shared ?? null,
    ]);
  return norm(a) === norm(b);
}

/**
 * A Service value describing what the table holds for `key` (for status, and for the scheduler
 * to see a difference): the frontend from the key, the backends its chains DNAT to, masquerade
 * and affinity as its rules say. Fields the table does not hold come from `like` (or are empty).
 */
export function serviceFrom(key: string, f: FrontendObjects, like?: Service): Service {
  const [, vrf = '0', proto = 'tcp', vip = '', port = '0'] = key.slice(PREFIX.service.length - 1).split('/');
  const backends: ServiceBackend[] = [];
  for (const c of f.chains) {
    for (const r of c.rules) {
      const m = / dnat to ([\d.]+):(\d+)/.exec(r);
      if (m) backends.push({ ip: m[1]!, port: Number(m[2]), weight: 1, local: false });
    }
  }
  // A shared draw: the addresses are the map's, the port its chain's.
  const drawPort = Number(/ : (\d+)$/.exec(f.shared?.chain.rules.at(-1) ?? '')?.[1] ?? 0);
  for (const e of f.elements)
    if (isBackendMap(e.set) && e.value)
      backends.push({ ip: e.value, port: drawPort, weight: 1, local: false });
  const front = f.shared?.chain.rules ?? f.chains.find((c) => c.name.startsWith('svc-'))?.rules ?? [];
  // The masquerade rule matches only sources outside prefixes (it follows the source-range rule,
  // if any); the hairpin rules that also end in the mark name one backend (`ip saddr <ip> …`),
  // never `!=` alone.
  const masq = front.slice(0, 2).find((r) => MASQ_RULE.test(r));
  const outside = masq
    ? [...masq.matchAll(/ip saddr != (\S+)/g)].map((m) => (m[1]!.includes('/') ? m[1]! : `${m[1]!}/32`))
    : null;
  const noEndpoint = f.elements.find(
    (e) => e.set === MAP.noEndpointVips || e.set === MAP.noEndpointNodePorts,
  );
  const v: Service = {
    namespace: like?.namespace ?? '',
    name: like?.name ?? '',
    portName: like?.portName ?? '',
    vrf: Number(vrf),
    kind: like?.kind ?? (vip === 'node' ? 'node-port' : 'cluster-ip'),
    vip,
    protocol: proto.toUpperCase() as Protocol,
    port: Number(port),
    backends,
    noBackends: noEndpoint?.value === 'drop' ? 'drop' : 'reject',
    masqueradeOutside: outside,
    affinitySeconds: f.sets[0]?.timeout ?? 0,
    // Not read back from the rules: a difference still shows, as the planned objects differ.
    ...(like?.sourceRanges ? { sourceRanges: like.sourceRanges } : {}),
    ...(like?.inCluster ? { inCluster: like.inCluster } : {}),
  };
  return { ...v, backends: backendsOf(v) };
}
