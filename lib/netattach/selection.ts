// The pod annotation `k8s.v1.cni.cncf.io/networks` taken apart into the attachments it asks for
// (Network Plumbing WG multi-net spec v1.x, section 4.1.2, plus the Multus `ns/name@ifname`
// shorthand). Pure: the same text and namespace give the same list or the same error.
//
// The value has two forms. A comma list (`net-a, other-ns/net-b, net-c@eth5`) names networks and
// nothing else. A JSON list of objects adds per-attachment requests (ips, mac, cni-args, …). Both
// end up as the same `NetworkSelection`, with every optional field present (empty when not
// asked), so the agent never has to tell "absent" from "empty" twice.
//
// Everything is checked here, before any attachment starts: a pod whose annotation is wrong
// fails with one error naming the entry, instead of getting half its interfaces. What is
// checked is what would otherwise surface later as a plugin's confusing refusal or, worse, as
// an interface that silently does not match the request (a mac that cannot be assigned, two
// attachments fighting over one interface name).
import { isIP } from 'node:net';
import { splitCidr } from '../cidr.ts';
import { NetloomError } from '../errors.ts';

export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

/** One attachment the pod asks for. The same network named twice is two selections. */
export interface NetworkSelection {
  /** The NetworkAttachmentDefinition's namespace (the pod's when not given). */
  namespace: string;
  /** The NetworkAttachmentDefinition's name. */
  name: string;
  /** The interface name inside the pod: as requested, else `net1`, `net2`, … in order. */
  interface: string;
  /** Requested addresses in CIDR notation (`10.1.1.5/24`), as written; empty when none. */
  ips: string[];
  /** Requested MAC, lower case with colons; '' when none. */
  mac: string;
  /** Gateways to install as the pod's default route through this attachment; empty when none. */
  defaultRoute: string[];
  /** `cni-args`: merged into the plugin's `args.cni`; empty when none. */
  cniArgs: Record<string, unknown>;
  /** `portMappings` (the portMappings capability); empty when none. */
  portMappings: unknown[];
  /** `bandwidth` (the bandwidth capability); undefined when not given. */
  bandwidth?: unknown;
  /** `infiniband-guid` (the infinibandGUID capability), lower case; undefined when not given. */
  infinibandGuid?: string;
}

/**
 * The annotation (or one entry of it) is not what the spec allows. `entry` is the offending
 * entry as written (the whole value when it does not parse at all), `index` its 0-based position
 * (undefined for the whole value), `field` the JSON field at fault when there is one.
 */
export class SelectionError extends NetloomError {
  readonly entry: string;
  readonly index: number | undefined;
  readonly field: string | undefined;

  constructor(
    message: string,
    at: { entry: string; index?: number | undefined; field?: string | undefined },
    options?: { cause?: unknown },
  ) {
    const where = at.index === undefined ? '' : `entry ${at.index + 1} (${clip(at.entry)}): `;
    super(`${NETWORKS_ANNOTATION}: ${where}${message}`, options);
    this.entry = at.entry;
    this.index = at.index;
    this.field = at.field;
  }
}

/** Entries are quoted in messages; a 10 kB annotation should not make a 10 kB log line. */
function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export interface SelectionOptions {
  /**
   * Interface names already taken in the pod (the cluster default network's, usually `eth0`):
   * an explicit request for one is refused, and automatic names skip them.
   */
  reservedInterfaces?: readonly string[];
}

/**
 * Parses the value of `k8s.v1.cni.cncf.io/networks` for a pod in `podNamespace`. An empty or
 * blank value asks for nothing. Throws a SelectionError naming the first bad entry.
 */
export function parseNetworkSelections(
  value: string,
  podNamespace: string,
  opts: SelectionOptions = {},
): NetworkSelection[] {
  const text = value.trim();
  if (text === '') return [];
  // As Multus decides: JSON when it opens like JSON, a comma list otherwise. A comma list can
  // hold neither character, so nothing valid is misread.
  const drafts = text.startsWith('[') || text.startsWith('{') ? fromJson(text) : fromCommaList(text);
  return finish(drafts, podNamespace, opts.reservedInterfaces ?? []);
}

/** An entry before defaults and interface names are settled. */
interface Draft {
  entry: string;
  index: number;
  namespace: string | undefined;
  name: string;
  interface: string | undefined;
  ips: string[];
  mac: string;
  defaultRoute: string[];
  cniArgs: Record<string, unknown>;
  portMappings: unknown[];
  bandwidth: unknown;
  infinibandGuid: string | undefined;
}

function draft(entry: string, index: number, name: string): Draft {
  return {
    entry,
    index,
    namespace: undefined,
    name,
    interface: undefined,
    ips: [],
    mac: '',
    defaultRoute: [],
    cniArgs: {},
    portMappings: [],
    bandwidth: undefined,
    infinibandGuid: undefined,
  };
}

// ---- the comma list ----

function fromCommaList(text: string): Draft[] {
  return text.split(',').map((raw, index) => {
    const entry = raw.trim();
    const fail = (message: string): SelectionError => new SelectionError(message, { entry, index });
    if (entry === '') throw fail('empty entry (a stray comma?)');
    const slashes = entry.split('/');
    if (slashes.length > 2) throw fail("more than one '/': the form is [namespace/]name[@interface]");
    const rest = slashes[slashes.length - 1]!;
    const ats = rest.split('@');
    if (ats.length > 2) throw fail("more than one '@': the form is [namespace/]name[@interface]");
    const d = draft(entry, index, ats[0]!.trim());
    if (slashes.length === 2) {
      d.namespace = slashes[0]!.trim();
      if (d.namespace === '') throw fail("empty namespace before '/'");
    }
    if (ats.length === 2) {
      d.interface = ats[1]!.trim();
      if (d.interface === '') throw fail("empty interface name after '@'");
    }
    return d;
  });
}

// ---- the JSON list ----

/** The spec's fields; anything else in an entry is ignored, as Multus does (later spec versions add some). */
type JsonField =
  | 'name'
  | 'namespace'
  | 'interface'
  | 'ips'
  | 'mac'
  | 'default-route'
  | 'cni-args'
  | 'portMappings'
  | 'bandwidth'
  | 'infiniband-guid';

function fromJson(text: string): Draft[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SelectionError(`not valid JSON: ${(err as Error).message}`, { entry: text }, { cause: err });
  }
  if (!Array.isArray(parsed))
    throw new SelectionError('a JSON value must be a list of objects ([{"name": …}, …])', { entry: text });
  return parsed.map((item: unknown, index) => fromJsonEntry(item, index));
}

function fromJsonEntry(item: unknown, index: number): Draft {
  const entry = JSON.stringify(item) ?? String(item);
  const fail = (message: string, field?: string): SelectionError =>
    new SelectionError(field === undefined ? message : `${field}: ${message}`, { entry, index, field });
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    throw fail('must be an object with at least "name"');
  const o = item as Record<string, unknown>;
  const str = (field: JsonField): string | undefined => {
    const v = o[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw fail(`must be a string, not ${describe(v)}`, field);
    return v;
  };
  const strings = (field: JsonField): string[] => {
    const v = o[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw fail(`must be a list of strings, not ${describe(v)}`, field);
    return v as string[];
  };

  const name = str('name');
  if (name === undefined) throw fail('missing', 'name');
  const d = draft(entry, index, name);
  // '' is "not given" for namespace and interface, as Multus reads them.
  d.namespace = str('namespace') || undefined;
  d.interface = str('interface') || undefined;
  d.ips = strings('ips');
  for (const ip of d.ips) {
    const c = splitCidr(ip, { bare: false });
    if (c === undefined)
      throw fail(`${JSON.stringify(ip)} is not an address in CIDR notation (10.1.1.5/24)`, 'ips');
  }
  const mac = str('mac');
  if (mac !== undefined && mac !== '') d.mac = checkMac(mac, (m) => fail(m, 'mac'));
  d.defaultRoute = strings('default-route');
  for (const gw of d.defaultRoute)
    if (isIP(gw) === 0) throw fail(`${JSON.stringify(gw)} is not an IP address`, 'default-route');
  const cniArgs = o['cni-args'];
  if (cniArgs !== undefined && cniArgs !== null) {
    if (typeof cniArgs !== 'object' || Array.isArray(cniArgs))
      throw fail(`must be an object, not ${describe(cniArgs)}`, 'cni-args');
    d.cniArgs = { ...(cniArgs as Record<string, unknown>) };
  }
  const ports = o['portMappings'];
  if (ports !== undefined && ports !== null) {
    if (!Array.isArray(ports) || ports.some((p) => typeof p !== 'object' || p === null || Array.isArray(p)))
      throw fail(`must be a list of objects, not ${describe(ports)}`, 'portMappings');
    d.portMappings = ports as unknown[];
  }
  const bandwidth = o['bandwidth'];
  if (bandwidth !== undefined && bandwidth !== null) {
    if (typeof bandwidth !== 'object' || Array.isArray(bandwidth))
      throw fail(`must be an object, not ${describe(bandwidth)}`, 'bandwidth');
    d.bandwidth = bandwidth;
  }
  const guid = str('infiniband-guid');
  if (guid !== undefined && guid !== '') {
    if (!INFINIBAND_GUID.test(guid))
      throw fail(`${JSON.stringify(guid)} is not a GUID (8 hex bytes with colons)`, 'infiniband-guid');
    d.infinibandGuid = guid.toLowerCase();
  }
  return d;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

// ---- values ----

/** 6 bytes, colons or hyphens throughout (what `ip link` and net.ParseMAC accept for Ethernet). */
const MAC = /^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/;
const INFINIBAND_GUID = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){7}$/;

/** A MAC an interface can have, lower case with colons. */
function checkMac(mac: string, fail: (message: string) => SelectionError): string {
  if (!MAC.test(mac)) throw fail(`${JSON.stringify(mac)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  const normal = mac.toLowerCase().replaceAll('-', ':');
  // The kernel refuses a group address on an interface; say so now rather than at ADD.
  if ((parseInt(normal.slice(0, 2), 16) & 1) === 1)
    throw fail(`${JSON.stringify(mac)} is a multicast address, which no interface can have`);
  if (normal === '00:00:00:00:00:00') throw fail('00:00:00:00:00:00 is not an interface address');
  return normal;
}

/** DNS-1123 label: what Kubernetes allows as a namespace name, and as a NAD name here. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function labelProblem(what: string, s: string): string | undefined {
  if (s.length > 63) return `${what} ${JSON.stringify(clip(s))} is longer than 63 characters`;
  if (!DNS1123_LABEL.test(s))
    return `${what} ${JSON.stringify(s)} is not a DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit)`;
  return undefined;
}

/** Linux's IFNAMSIZ less the terminating NUL. */
const MAX_IFNAME = 15;

/**
 * Why `name` is not a name Linux gives an interface (dev_valid_name: 1-15 bytes, not "." or
 * "..", no '/', ':' or whitespace). Beyond the kernel, only printable ASCII: it takes control
 * characters and any other byte, but its whitespace test runs per byte (a UTF-8 character can
 * hold one, 0xa0) and no tool prints such names back legibly.
 */
export function interfaceNameProblem(name: string): string | undefined {
  const q = JSON.stringify(name);
  if (name === '') return 'interface name is empty';
  if (Buffer.byteLength(name) > MAX_IFNAME) return `interface name ${q} is longer than ${MAX_IFNAME} bytes`;
  if (name === '.' || name === '..') return `interface name ${q} is not a name`;
  if (/[/:]/.test(name)) return `interface name ${q} holds '/' or ':'`;
  if (/[^\x21-\x7e]/.test(name))
    return `interface name ${q} holds whitespace, a control character or a character outside ASCII`;
  return undefined;
}

// ---- defaults, names, duplicates ----

function finish(drafts: Draft[], podNamespace: string, reserved: readonly string[]): NetworkSelection[] {
  const taken = new Set(reserved);
  const explicit = new Map<string, number>();
  for (const d of drafts) {
    const fail = (message: string, field?: string): SelectionError =>
      new SelectionError(message, { entry: d.entry, index: d.index, field });
    const nameProblem = labelProblem('network name', d.name);
    if (nameProblem) throw fail(nameProblem, 'name');
    if (d.namespace !== undefined) {
      const nsProblem = labelProblem('namespace', d.namespace);
      if (nsProblem) throw fail(nsProblem, 'namespace');
    }
    if (d.interface === undefined) continue;
    const ifProblem = interfaceNameProblem(d.interface);
    if (ifProblem) throw fail(ifProblem, 'interface');
    if (taken.has(d.interface)) throw fail(`interface ${d.interface} is already the pod's`, 'interface');
    const first = explicit.get(d.interface);
    if (first !== undefined)
      throw fail(`interface ${d.interface} is also requested by entry ${first + 1}`, 'interface');
    explicit.set(d.interface, d.index);
  }
  // Automatic names count up from net1 in entry order, stepping over every name that is
  // requested explicitly anywhere in the list (or reserved), so none is handed out twice.
  let next = 1;
  return drafts.map((d) => {
    let ifname = d.interface;
    if (ifname === undefined) {
      while (explicit.has(`net${next}`) || taken.has(`net${next}`)) next++;
      ifname = `net${next++}`;
    }
    const s: NetworkSelection = {
      namespace: d.namespace ?? podNamespace,
      name: d.name,
      interface: ifname,
      ips: d.ips,
      mac: d.mac,
      defaultRoute: d.defaultRoute,
      cniArgs: d.cniArgs,
      portMappings: d.portMappings,
    };
    if (d.bandwidth !== undefined) s.bandwidth = d.bandwidth;
    if (d.infinibandGuid !== undefined) s.infinibandGuid = d.infinibandGuid;
    return s;
  });
}
