// Pure parsing of `ip -json` output into the recorded form. Route queries use `-N` (numeric
// table/protocol/scope/type) so named tables from rt_tables need no lookup; known numbers are
// turned back into ip's names so the agent and the logs read naturally.
import { z } from 'zod';
import { KernelError } from './errors.ts';
import type { Family, LinkFacts, RecordedAddress, RecordedRoute } from './model.ts';

const PROTOCOLS: Record<string, string> = {
  '1': 'redirect',
  '2': 'kernel',
  '3': 'boot',
  '4': 'static',
  '9': 'ra',
  '16': 'dhcp',
};
const SCOPES: Record<string, string> = {
  '0': 'global',
  '200': 'site',
  '253': 'link',
  '254': 'host',
  '255': 'nowhere',
};
const TYPES: Record<string, string> = {
  '1': 'unicast',
  '2': 'local',
  '3': 'broadcast',
  '4': 'anycast',
  '5': 'multicast',
  '6': 'blackhole',
  '7': 'unreachable',
  '8': 'prohibit',
  '9': 'throw',
  '10': 'nat',
};
const TABLES: Record<string, number> = { main: 254, local: 255, default: 253 };
/** Address flags `ip address add` accepts back. */
const ADDRESS_FLAGS = ['nodad', 'noprefixroute', 'home', 'mngtmpaddr'] as const;
const FOREVER = 4294967295;

const named = (map: Record<string, string>, v: string | number | undefined, dflt: string): string =>
  v === undefined ? dflt : (map[String(v)] ?? String(v));

const linkSchema = z.object({
  ifname: z.string(),
  address: z.string().optional(),
  mtu: z.number(),
  flags: z.array(z.string()).default([]),
  link_type: z.string().optional(),
  parentbus: z.string().optional(),
  parentdev: z.string().optional(),
});

const addrInfoSchema = z.object({
  family: z.string(),
  local: z.string(),
  address: z.string().optional(),
  prefixlen: z.number(),
  scope: z.string().optional(),
  broadcast: z.string().optional(),
  label: z.string().optional(),
  dynamic: z.boolean().optional(),
  valid_life_time: z.number().optional(),
  nodad: z.boolean().optional(),
  noprefixroute: z.boolean().optional(),
  home: z.boolean().optional(),
  mngtmpaddr: z.boolean().optional(),
});

const routeSchema = z.object({
  dst: z.string(),
  gateway: z.string().optional(),
  table: z.union([z.string(), z.number()]).optional(),
  metric: z.number().optional(),
  scope: z.union([z.string(), z.number()]).optional(),
  protocol: z.union([z.string(), z.number()]).optional(),
  prefsrc: z.string().optional(),
  type: z.union([z.string(), z.number()]).optional(),
  flags: z.array(z.string()).default([]),
  pref: z.string().optional(),
  expires: z.number().optional(),
});

function parse<T extends z.ZodType>(schema: T, data: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(data);
  if (!r.success)
    throw new KernelError(
      `unexpected ip -json output for ${what}: ${r.error.issues[0]?.message ?? 'invalid'}`,
    );
  return r.data;
}

/** `ip -d -json link show dev X` → the link's facts. */
export function parseLink(json: unknown): LinkFacts {
  const link = parse(z.array(linkSchema), json, 'link')[0];
  if (!link) throw new KernelError('ip -json link show printed no link');
  return {
    name: link.ifname,
    mac: link.address ?? '',
    mtu: link.mtu,
    adminUp: link.flags.includes('UP'),
    carrier: link.flags.includes('LOWER_UP'),
    loopback: link.flags.includes('LOOPBACK') || link.link_type === 'loopback',
    ...(link.parentbus === 'pci' && link.parentdev ? { parentPci: link.parentdev } : {}),
  };
}

/** `ip -json address show dev X` → its addresses, in kernel order. */
export function parseAddresses(json: unknown): RecordedAddress[] {
  const entries = parse(
    z.array(z.object({ addr_info: z.array(addrInfoSchema).default([]) })),
    json,
    'addresses',
  );
  return entries.flatMap((e) =>
    e.addr_info
      .filter((a) => a.family === 'inet' || a.family === 'inet6')
      .map((a): RecordedAddress => {
        const peer = a.address !== undefined && a.address !== a.local;
        return {
          address: peer ? a.local : `${a.local}/${a.prefixlen}`,
          family: a.family as Family,
          scope: a.scope ?? 'global',
          ...(peer ? { peer: `${a.address}/${a.prefixlen}` } : {}),
          ...(a.broadcast ? { broadcast: a.broadcast } : {}),
          ...(a.label ? { label: a.label } : {}),
          flags: ADDRESS_FLAGS.filter((f) => a[f] === true),
          dynamic: a.dynamic === true || (a.valid_life_time !== undefined && a.valid_life_time !== FOREVER),
        };
      }),
  );
}

function tableNumber(v: string | number | undefined): number {
  if (v === undefined) return TABLES['main'] ?? 254;
  const n = typeof v === 'number' ? v : (TABLES[v] ?? Number(v));
  if (!Number.isInteger(n)) throw new KernelError(`unexpected route table ${String(v)} (query with ip -N)`);
  return n;
}

/** `ip -N -json -4|-6 route show table all dev X` → its routes. Cached/expiring routes are skipped. */
export function parseRoutes(json: unknown, family: Family): RecordedRoute[] {
  return parse(z.array(routeSchema), json, 'routes')
    .filter((r) => r.expires === undefined)
    .map((r): RecordedRoute => ({
      family,
      dst: r.dst,
      gateway: r.gateway ?? '',
      table: tableNumber(r.table),
      metric: r.metric ?? 0,
      scope: named(SCOPES, r.scope, 'global'),
      protocol: named(PROTOCOLS, r.protocol, 'boot'),
      src: r.prefsrc ?? '',
      type: named(TYPES, r.type, 'unicast'),
      onlink: r.flags.includes('onlink'),
      ...(r.pref && r.pref !== 'medium' ? { pref: r.pref } : {}),
    }));
}
