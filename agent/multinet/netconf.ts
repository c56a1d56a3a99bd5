// A NetworkAttachmentDefinition's `spec.config` as a list of plugin configs, and the JSON each
// plugin gets on stdin — what libcni does between a config file and exec (buildOneConfig,
// injectRuntimeConfig), plus what the multi-net spec adds (args.cni). Pure.
//
// A single plugin config and a conflist are one shape here: a list of one. Every plugin gets
// the list's cniVersion and name (libcni overwrites whatever the plugin config says), the
// runtime values for the capabilities it declares, the request's `args.cni`, and for chained
// calls the previous result.
import { DelegateConfigError } from './errors.ts';

/** The versions netloom knows how to call and read results of (the spec's, 0.1.0 … 1.1.0). */
export const KNOWN_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export interface NetworkConfList {
  cniVersion: string;
  name: string;
  /** `disableCheck`: CHECK returns success without calling any plugin. */
  disableCheck: boolean;
  /** Each plugin's config as written (its `type` checked), in call order for ADD. */
  plugins: Record<string, unknown>[];
}

/** What the pod asked for beyond the network itself (the selection's fields). */
export interface RuntimeRequest {
  ips?: readonly string[];
  mac?: string;
  cniArgs?: Record<string, unknown>;
  portMappings?: readonly unknown[];
  bandwidth?: unknown;
  infinibandGuid?: string;
}

/**
 * A plugin type is a file name looked up in the plugin directories: nothing that could name a
 * file elsewhere ('/', '..') or surprise a log reader. Every reference and well-known
 * third-party plugin name fits.
 */
const PLUGIN_TYPE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** Why `type` cannot be a plugin's file name, or undefined. */
export function pluginTypeProblem(type: unknown): string | undefined {
  if (typeof type !== 'string' || type === '') return 'type is missing or not a string';
  if (type.includes('/') || type.includes('..') || !PLUGIN_TYPE.test(type))
    return `type ${JSON.stringify(type)} is not a plugin file name (letters, digits, '.', '_', '+', '-'; no '/' or '..')`;
  return undefined;
}

/** [major, minor, patch] of a version string, or undefined when it is not one. */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d{1,4})\.(\d{1,4})\.(\d{1,4})$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** a < b: negative, a = b: 0, a > b: positive; both must parse. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a)!;
  const y = parseVersion(b)!;
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** Whether results of this version carry `prevResult` on DEL and support CHECK (0.4.0 on). */
export const hasCheck = (cniVersion: string): boolean => compareVersions(cniVersion, '0.4.0') >= 0;

/** Whether results of this version are the old `{ip4, ip6}` shape (before 0.3.0). */
export const isLegacyResult = (cniVersion: string): boolean => compareVersions(cniVersion, '0.3.0') < 0;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `spec.config` of the NAD `network` (`namespace/name`, for errors) as a list. A config without
 * a name takes `nadName`. Throws a DelegateConfigError naming the field.
 */
export function parseNetworkConfig(config: string, network: string, nadName: string): NetworkConfList {
  const fail = (field: string, message: string, cause?: unknown): DelegateConfigError =>
    new DelegateConfigError(network, field, message, { cause });
  let v: unknown;
  try {
    v = JSON.parse(config);
  } catch (err) {
    throw fail('JSON', (err as Error).message, err);
  }
  if (!isObject(v)) throw fail('JSON', 'must be an object');
  const isList = 'plugins' in v;
  const plugins: unknown = isList ? v['plugins'] : [v];
  if (!Array.isArray(plugins) || plugins.length === 0) throw fail('plugins', 'must be a non-empty list');
  plugins.forEach((p: unknown, i) => {
    const at = isList ? `plugins[${i}]` : 'type';
    if (!isObject(p)) throw fail(`plugins[${i}]`, 'must be an object');
    const problem = pluginTypeProblem(p['type']);
    if (problem) throw fail(at, problem);
    if (p['args'] !== undefined && !isObject(p['args']))
      throw fail(`${isList ? at + '.' : ''}args`, 'must be an object');
    if (p['capabilities'] !== undefined && !isObject(p['capabilities']))
      throw fail(`${isList ? at + '.' : ''}capabilities`, 'must be an object');
  });
  const name = v['name'] ?? nadName;
  if (typeof name !== 'string' || name === '') throw fail('name', 'must be a non-empty string');
  return {
    cniVersion: pickVersion(v, fail),
    name,
    disableCheck: isList ? flag(v['disableCheck'], (m) => fail('disableCheck', m)) : false,
    plugins: plugins as Record<string, unknown>[],
  };
}

/** libcni's choice: the highest of `cniVersions` netloom knows, else `cniVersion`. */
function pickVersion(
  v: Record<string, unknown>,
  fail: (field: string, message: string) => DelegateConfigError,
): string {
  const versions = v['cniVersions'];
  if (versions !== undefined) {
    if (!Array.isArray(versions) || versions.some((x) => typeof x !== 'string'))
      throw fail('cniVersions', 'must be a list of strings');
    const known = (versions as string[]).filter((x) => (KNOWN_VERSIONS as readonly string[]).includes(x));
    const best = known.sort(compareVersions).at(-1);
    if (best !== undefined) return best;
  }
  const version = v['cniVersion'];
  if (version === undefined) throw fail('cniVersion', 'missing (netloom does not guess the result format)');
  if (typeof version !== 'string' || parseVersion(version) === undefined)
    throw fail('cniVersion', `${JSON.stringify(version)} is not a version (1.0.0)`);
  return version;
}

/** A boolean, also as the strings libcni accepts. */
function flag(v: unknown, fail: (message: string) => DelegateConfigError): boolean {
  if (v === undefined || v === false || v === 'false') return false;
  if (v === true || v === 'true') return true;
  throw fail(`must be true or false, not ${JSON.stringify(v)}`);
}

/** The capability names and the request field each one carries. */
const CAPABILITIES = ['ips', 'mac', 'portMappings', 'bandwidth', 'infinibandGUID'] as const;

/** The runtime values the request has for each capability (only those it asks for). */
export function capabilityArgs(req: RuntimeRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (req.ips && req.ips.length > 0) out['ips'] = [...req.ips];
  if (req.mac) out['mac'] = req.mac;
  if (req.portMappings && req.portMappings.length > 0) out['portMappings'] = [...req.portMappings];
  if (req.bandwidth !== undefined) out['bandwidth'] = req.bandwidth;
  if (req.infinibandGuid) out['infinibandGUID'] = req.infinibandGuid;
  return out;
}

/**
 * The `args.cni` the spec asks for: the config's own, then the pod's `cni-args`, then its
 * `ips` and `mac` (which every plugin may read there, capability or not).
 */
export function argsCni(existing: unknown, req: RuntimeRequest): Record<string, unknown> | undefined {
  const add: Record<string, unknown> = { ...(req.cniArgs ?? {}) };
  if (req.ips && req.ips.length > 0) add['ips'] = [...req.ips];
  if (req.mac) add['mac'] = req.mac;
  // Nothing asked: the config's args stay exactly as written.
  if (Object.keys(add).length === 0) return undefined;
  const own = isObject(existing) && isObject(existing['cni']) ? existing['cni'] : {};
  return { ...own, ...add };
}

/**
 * The stdin of plugin `index` of `list`: its config with cniVersion and name injected,
 * runtimeConfig set to the declared capabilities the request has values for (replacing the
 * config's own, as libcni does, when there is any), args.cni merged, prevResult when given.
 */
export function pluginStdin(
  list: NetworkConfList,
  index: number,
  req: RuntimeRequest,
  prevResult?: unknown,
): string {
  const plugin = list.plugins[index];
  if (plugin === undefined) throw new RangeError(`no plugin ${index} in network ${list.name}`);
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const declared = isObject(plugin['capabilities']) ? plugin['capabilities'] : {};
  const values = capabilityArgs(req);
  const runtimeConfig: Record<string, unknown> = {};
  for (const cap of CAPABILITIES)
    if (declared[cap] === true && values[cap] !== undefined) runtimeConfig[cap] = values[cap];
  if (Object.keys(runtimeConfig).length > 0) conf['runtimeConfig'] = runtimeConfig;
  const cni = argsCni(plugin['args'], req);
  if (cni !== undefined) conf['args'] = { ...(isObject(plugin['args']) ? plugin['args'] : {}), cni };
  if (prevResult !== undefined) conf['prevResult'] = prevResult;
  return JSON.stringify(conf);
}
