// What a NetworkAttachmentDefinition defines, read from its CNI config and annotations. Pure: the
// KSR leader (which turns netloom networks into networks/ records) and the agent (which attaches
// pods) must read one NAD the same way, so both call this.
//
// Three outcomes. A netloom network: the config says `"type": "netloom"` (alone, or as the first
// plugin of a conflist), or the NAD carries Contrail's `opencontrail.org/cidr` annotation, which
// makes it a netloom network whatever its config says (Contrail users keep their NADs). A
// delegate: any other CNI type, run by the agent as a plugin. Invalid: with the precise reason,
// which the KSR puts in an Event on the NAD, so an operator sees it where they wrote it.
import { formatIp, parseIp, sizeOf, splitCidr } from '../cidr.ts';

export type NetworkDefinition =
  | {
      kind: 'netloom';
      /** IPv4 CIDRs, as written (no host bits), in order. */
      subnets: string[];
      vni?: number;
      nodePrefixLength?: number;
      gatewayOffset?: number;
      snat: boolean;
    }
  /** Any other CNI type: the config's `type`, or each plugin's in a conflist (empty: on-disk config). */
  | { kind: 'delegate'; types: string[] }
  | { kind: 'invalid'; reason: string };

export interface NadInput {
  namespace: string;
  name: string;
  /** spec.config ('' when absent). */
  config: string;
  annotations: Record<string, string>;
}

export const NETLOOM_TYPE = 'netloom';
/** Contrail's NAD annotation: the network's subnets, a comma list. */
export const CONTRAIL_CIDR_ANNOTATION = 'opencontrail.org/cidr';
/** Contrail's NAD annotation: "true" masquerades traffic leaving the cluster. */
export const CONTRAIL_SNAT_ANNOTATION = 'opencontrail.org/ip_fabric_snat';

export const MAX_VNI = 2 ** 24 - 1;
/** Subnets shorter than this would swallow most of the private ranges. */
export const MIN_SUBNET_LENGTH = 8;
/** The longest per-node block: a /30 holds a gateway and one pod. */
export const MAX_NODE_PREFIX_LENGTH = 30;
/** The default per-node block is at most this long (16 addresses, 13 pods). */
export const DEFAULT_MAX_NODE_PREFIX_LENGTH = 28;
/** Network N without its own VNI gets VNI_BASE + N (clear of the default network's 10). */
export const VNI_BASE = 4096;

class Invalid extends Error {}

const fail = (reason: string): never => {
  throw new Invalid(reason);
};

export function networkDefinition(nad: NadInput): NetworkDefinition {
  try {
    const cidrs = nad.annotations[CONTRAIL_CIDR_ANNOTATION];
    if (cidrs !== undefined) return contrailNetwork(cidrs, nad.annotations[CONTRAIL_SNAT_ANNOTATION]);
    return fromConfig(nad.config);
  } catch (err) {
    if (err instanceof Invalid) return { kind: 'invalid', reason: err.message };
    throw err;
  }
}

function contrailNetwork(cidrs: string, snat: string | undefined): NetworkDefinition {
  const list = cidrs.split(',').map((s) => s.trim());
  if (list.some((s) => s === ''))
    fail(`annotation ${CONTRAIL_CIDR_ANNOTATION} ${JSON.stringify(cidrs)} has an empty entry`);
  if (snat !== undefined && snat !== 'true' && snat !== 'false')
    fail(`annotation ${CONTRAIL_SNAT_ANNOTATION} must be "true" or "false", not ${JSON.stringify(snat)}`);
  const subnets = checkSubnets(list, `annotation ${CONTRAIL_CIDR_ANNOTATION}`);
  checkBlock(subnets, undefined, undefined);
  return { kind: 'netloom', subnets, snat: snat === 'true' };
}

function fromConfig(config: string): NetworkDefinition {
  if (config.trim() === '') return { kind: 'delegate', types: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(config);
  } catch (err) {
    return fail(`spec.config is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) return fail('spec.config is not a JSON object');
  if ('plugins' in parsed) {
    const plugins = parsed['plugins'];
    if (!Array.isArray(plugins) || plugins.length === 0)
      return fail('spec.config: plugins must be a non-empty list');
    const types = plugins.map((p, i) => typeOf(p, `plugins[${i}]`));
    const at = types.indexOf(NETLOOM_TYPE);
    if (at > 0) return fail(`spec.config: netloom must be the first plugin of the list, not plugins[${at}]`);
    return at === 0 ? netloomConfig(plugins[0] as Record<string, unknown>, 'plugins[0].') : delegate(types);
  }
  const type = typeOf(parsed, 'spec.config');
  return type === NETLOOM_TYPE ? netloomConfig(parsed, '') : delegate([type]);
}

const delegate = (types: string[]): NetworkDefinition => ({ kind: 'delegate', types });

function typeOf(conf: unknown, where: string): string {
  if (!isObject(conf)) return fail(`${where} is not a JSON object`);
  const type = conf['type'];
  if (typeof type !== 'string' || type === '') return fail(`${where} has no "type"`);
  return type;
}

function netloomConfig(conf: Record<string, unknown>, at: string): NetworkDefinition {
  const f = (name: string): string => `spec.config ${at}${name}`;
  const { subnet, subnets: many } = conf;
  if (subnet !== undefined && many !== undefined)
    fail(`${f('subnet')} and ${f('subnets')}: give one, not both`);
  let list: unknown[];
  if (subnet !== undefined) {
    list = [subnet];
  } else if (many !== undefined) {
    if (!Array.isArray(many) || many.length === 0)
      return fail(`${f('subnets')} must be a non-empty list of CIDRs`);
    list = many;
  } else {
    return fail(`spec.config: a netloom network needs "subnet" or "subnets"`);
  }
  list.forEach((s, i) => {
    if (typeof s !== 'string')
      fail(`${many !== undefined ? `${f('subnets')}[${i}]` : f('subnet')} is not a string`);
  });
  const subnets = checkSubnets(list as string[], many !== undefined ? f('subnets') : f('subnet'));
  const vni = optionalInt(conf['vni'], f('vni'), 1, MAX_VNI);
  const nodePrefixLength = optionalInt(conf['nodePrefixLength'], f('nodePrefixLength'), 1, 32);
  const gatewayOffset = optionalInt(conf['gatewayOffset'], f('gatewayOffset'), 0, 2 ** 32);
  const snat = conf['snat'];
  if (snat !== undefined && typeof snat !== 'boolean') fail(`${f('snat')} must be true or false`);
  checkBlock(subnets, nodePrefixLength, gatewayOffset, f);
  return {
    kind: 'netloom',
    subnets,
    ...(vni !== undefined ? { vni } : {}),
    ...(nodePrefixLength !== undefined ? { nodePrefixLength } : {}),
    ...(gatewayOffset !== undefined ? { gatewayOffset } : {}),
    snat: snat === true,
  };
}

function optionalInt(v: unknown, what: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    return fail(`${what} must be an integer, not ${JSON.stringify(v)}`);
  if (v < min || v > max) return fail(`${what} ${v} is out of range ${min}..${max}`);
  return v;
}

/** Each entry a network address of an IPv4 prefix of sensible length; none overlapping another. */
function checkSubnets(list: readonly string[], what: string): string[] {
  const seen: { text: string; base: number; length: number }[] = [];
  for (const text of list) {
    const c = splitCidr(text, { bare: false });
    if (c === undefined) fail(`${what}: ${JSON.stringify(text)} is not a CIDR (a.b.c.d/n)`);
    if (c!.family === 6) fail(`${what}: ${text} is IPv6; netloom networks are IPv4 only for now`);
    const base = parseIp(c!.ip)!;
    const size = sizeOf(c!.length);
    if (base % size !== 0)
      fail(
        `${what}: ${text} has host bits set; did you mean ${formatIp(base - (base % size))}/${c!.length}?`,
      );
    if (c!.length < MIN_SUBNET_LENGTH)
      fail(`${what}: ${text} is too short a prefix: /${MIN_SUBNET_LENGTH} or longer`);
    if (c!.length >= MAX_NODE_PREFIX_LENGTH)
      fail(
        `${what}: ${text} is too long a prefix: a node's block must be longer and at most /${MAX_NODE_PREFIX_LENGTH}`,
      );
    const other = seen.find((s) => prefixesOverlap(s, { base, length: c!.length }));
    if (other) fail(`${what}: ${text} overlaps ${other.text}`);
    seen.push({ text, base, length: c!.length });
  }
  return [...list];
}

/** The per-node block fits every subnet, and the gateway lies inside it. */
function checkBlock(
  subnets: readonly string[],
  nodePrefixLength: number | undefined,
  gatewayOffset: number | undefined,
  f: (name: string) => string = (n) => n,
): void {
  const longest = Math.max(...subnets.map((s) => Number(s.slice(s.indexOf('/') + 1))));
  const block = nodePrefixLength ?? defaultNodePrefixLength(subnets);
  if (
    nodePrefixLength !== undefined &&
    (nodePrefixLength <= longest || nodePrefixLength > MAX_NODE_PREFIX_LENGTH)
  )
    fail(
      `${f('nodePrefixLength')} ${nodePrefixLength} must be longer than the subnet's /${longest} and at most ${MAX_NODE_PREFIX_LENGTH}`,
    );
  if (block <= longest)
    fail(
      `subnet /${longest} leaves no room for the default per-node block /${block}: set ${f('nodePrefixLength')}`,
    );
  if (gatewayOffset !== undefined && (gatewayOffset < 1 || gatewayOffset > sizeOf(block) - 2))
    fail(
      `${f('gatewayOffset')} ${gatewayOffset} is outside a node's /${block} block (1..${sizeOf(block) - 2}: not its network or broadcast address)`,
    );
}

export function prefixesOverlap(
  a: { base: number; length: number },
  b: { base: number; length: number },
): boolean {
  const shortest = Math.min(a.length, b.length);
  const mask = shortest === 0 ? 0 : (~0 << (32 - shortest)) >>> 0;
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0;
}

/** Whether two IPv4 CIDRs share an address (false when either is not an IPv4 CIDR). */
export function cidrsOverlap(a: string, b: string): boolean {
  const pa = splitCidr(a, { bare: false });
  const pb = splitCidr(b, { bare: false });
  const ba = pa && parseIp(pa.ip);
  const bb = pb && parseIp(pb.ip);
  if (!pa || !pb || ba === undefined || bb === undefined) return false;
  return prefixesOverlap({ base: ba, length: pa.length }, { base: bb, length: pb.length });
}

/** The default per-node block: 8 bits below the longest subnet, at most /28. */
export function defaultNodePrefixLength(subnets: readonly string[]): number {
  const longest = Math.max(...subnets.map((s) => Number(s.slice(s.indexOf('/') + 1))));
  return Math.min(longest + 8, DEFAULT_MAX_NODE_PREFIX_LENGTH);
}

/** The parameters a network record carries, defaults filled in, for the network holding `id`. */
export function networkParams(
  def: Extract<NetworkDefinition, { kind: 'netloom' }>,
  id: number,
): { vni: number; nodePrefixLength: number; gatewayOffset: number } {
  return {
    vni: def.vni ?? VNI_BASE + id,
    nodePrefixLength: def.nodePrefixLength ?? defaultNodePrefixLength(def.subnets),
    gatewayOffset: def.gatewayOffset ?? 1,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
