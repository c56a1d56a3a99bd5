// ADD, DEL and CHECK of one extra pod interface through another CNI plugin, with the config of a
// NetworkAttachmentDefinition: what Multus does for a delegate, as libcni runs a network list.
//
// ADD runs the plugins in order, each with the previous result; the last result is the
// attachment's. What the pod asked for (ips, mac) is then checked against what it got — the
// spec requires it — and an attachment that does not match is deleted again and refused. Any
// failure deletes what the ADD may have done, so nothing half-made stays behind.
// DEL runs every plugin in reverse order, all of them even when one fails (their errors come
// back together), with the stored result as prevResult; the plugins are idempotent, so a DEL
// of something already gone succeeds. CHECK runs them in order with the stored result.
//
// Everything that goes wrong comes out as a DelegateError (a CniError): the plugin's own code
// and message when it printed one.
import { runTool, spawnRunner, type ProcessRunner } from '../../lib/iproute.ts';
import {
  DelegateConfigError,
  DelegateDelError,
  delegateErrorOf,
  DelegateRequestError,
  NotHonouredError,
  RollbackFailedError,
  type DelegateError,
  type Invocation,
} from './errors.ts';
import { findPlugin, runPlugin, type PluginExec } from './exec.ts';
import { invocationProblem, pluginEnv, type CniCommand, type PodRef } from './invocation.ts';
import {
  hasCheck,
  parseNetworkConfig,
  pluginStdin,
  type NetworkConfList,
  type RuntimeRequest,
} from './netconf.ts';
import { attachedInterface, notHonoured, parseResult, type AttachedInterface } from './result.ts';

export type { AttachedInterface, Dns } from './result.ts';
export type { PodRef } from './invocation.ts';
export type { RuntimeRequest } from './netconf.ts';

/** A plugin call that takes longer is killed with its process group. */
export const DEFAULT_PLUGIN_TIMEOUT_MS = 30_000;

export interface DelegateRequest {
  /** The NAD's `spec.config`: one plugin config or a list with `plugins[]`. */
  config: string;
  /** The NAD; its name is the network name when the config has none. */
  network: { namespace: string; name: string };
  /** What the pod asked for (a NetworkSelection fits); nothing when undefined. */
  selection?: RuntimeRequest | undefined;
  pod: PodRef;
  containerId: string;
  /** The pod's netns path; may be '' for DEL. */
  netns: string;
  /** The interface inside the pod. */
  ifname: string;
  /** Where plugin binaries are looked up, in order; also CNI_PATH. */
  binDirs: readonly string[];
  /** DEL and CHECK: the `result` delegateAdd returned. */
  prevResult?: string | undefined;
  /** Run the plugins inside this netns (name or path): the node's, when the agent is not in it. */
  runIn?: string | undefined;
  /** Per plugin call (default DEFAULT_PLUGIN_TIMEOUT_MS). */
  timeoutMs?: number | undefined;
  /** The process runner (default: lib/iproute.ts's spawnRunner). */
  runner?: ProcessRunner | undefined;
}

export interface DelegateResult {
  /** The last plugin's result, JSON: keep it, and pass it back as `prevResult` to DEL and CHECK. */
  result: string;
  cniVersion: string;
  /** The pod-side interface as network-status reports it (MAC read from the kernel). */
  attachment: AttachedInterface;
}

interface Prepared {
  network: string;
  list: NetworkConfList;
  req: DelegateRequest;
  exec: PluginExec;
  /** Binaries found so far, by type: each is looked up once per operation. */
  paths: Map<string, string>;
}

const nameOf = (req: DelegateRequest): string => `${req.network.namespace}/${req.network.name}`;

function prepare(req: DelegateRequest, command: CniCommand): Prepared {
  const network = nameOf(req);
  const problem = invocationProblem({ ...req, command });
  if (problem) throw new DelegateRequestError(network, problem[0], problem[1]);
  return {
    network,
    list: parseNetworkConfig(req.config, network, req.network.name),
    req,
    exec: {
      runner: req.runner ?? spawnRunner(),
      timeoutMs: req.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS,
      runIn: req.runIn,
    },
    paths: new Map(),
  };
}

async function pluginPath(p: Prepared, type: string): Promise<string> {
  let path = p.paths.get(type);
  if (path === undefined) {
    path = await findPlugin(p.network, type, p.req.binDirs);
    p.paths.set(type, path);
  }
  return path;
}

/** Plugin `index`'s binary, for `command`, with `prevResult`: its stdout. */
async function call(p: Prepared, index: number, command: CniCommand, prevResult?: unknown): Promise<string> {
  const type = String(p.list.plugins[index]!['type']);
  const inv: Invocation = { network: p.network, plugin: type, command };
  const path = await pluginPath(p, type);
  const stdin = pluginStdin(p.list, index, p.req.selection ?? {}, prevResult);
  const env = pluginEnv(process.env, { ...p.req, command });
  return runPlugin(inv, path, { stdin, env }, p.exec);
}

/** Every plugin's DEL, last to first; every error, in that order. */
async function delAll(p: Prepared, prevResult: unknown): Promise<DelegateError[]> {
  // Before 0.4.0 a DEL carries no prevResult (libcni leaves it out).
  const prev = hasCheck(p.list.cniVersion) ? prevResult : undefined;
  const errors: DelegateError[] = [];
  for (let i = p.list.plugins.length - 1; i >= 0; i--) {
    try {
      await call(p, i, 'DEL', prev);
    } catch (err) {
      errors.push(delegateErrorOf(p.network, err));
    }
  }
  return errors;
}

function oneError(network: string, errors: DelegateError[]): DelegateError | undefined {
  if (errors.length <= 1) return errors[0];
  return new DelegateDelError(network, errors);
}

/**
 * Attaches the interface through the NAD's plugins. Resolves with the final result and the
 * pod-side interface; rejects with a DelegateError after deleting whatever was made.
 */
export async function delegateAdd(req: DelegateRequest): Promise<DelegateResult> {
  try {
    return await add(prepare(req, 'ADD'));
  } catch (err) {
    throw delegateErrorOf(nameOf(req), err);
  }
}

async function add(p: Prepared): Promise<DelegateResult> {
  // Every binary is found before the first runs: a missing one fails with nothing done.
  for (const plugin of p.list.plugins) await pluginPath(p, String(plugin['type']));
  let result: Record<string, unknown> | undefined;
  for (let i = 0; i < p.list.plugins.length; i++) {
    try {
      const stdout = await call(p, i, 'ADD', result);
      result = parseResult(
        { network: p.network, plugin: String(p.list.plugins[i]!['type']), command: 'ADD' },
        stdout,
      );
    } catch (err) {
      throw await rolledBack(p, result, delegateErrorOf(p.network, err));
    }
  }
  const final = result!;
  const attachment = attachedInterface(final, p.req.ifname);
  const kernelMac = await readMac(p);
  if (kernelMac !== undefined) attachment.mac = kernelMac;
  const miss = notHonoured(p.req.selection ?? {}, attachment);
  if (miss !== undefined) {
    const error = oneError(p.network, await delAll(p, final));
    throw new NotHonouredError(p.network, miss, error === undefined ? { ok: true } : { ok: false, error });
  }
  return { result: JSON.stringify(final), cniVersion: p.list.cniVersion, attachment };
}

/** The ADD's error after deleting what it may have made (the DEL's failure beside it, if any). */
async function rolledBack(p: Prepared, lastResult: unknown, addError: DelegateError): Promise<DelegateError> {
  const error = oneError(p.network, await delAll(p, lastResult));
  return error === undefined ? addError : new RollbackFailedError(p.network, addError, error);
}

/**
 * The MAC of the pod's interface as the kernel has it, or undefined when it cannot be read (a
 * plugin that makes no kernel interface by that name; the result's MAC stands then).
 */
async function readMac(p: Prepared): Promise<string | undefined> {
  try {
    const out = await runTool('ip', ['-json', 'link', 'show', 'dev', p.req.ifname], {
      netns: p.req.netns,
      runner: p.exec.runner,
      timeoutMs: p.exec.timeoutMs,
    });
    const links = JSON.parse(out) as { address?: unknown }[];
    const address = links[0]?.address;
    return typeof address === 'string' ? address.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Detaches the interface: every plugin's DEL, last to first, with the stored result. Succeeds
 * when there is nothing left to delete. A stored result that does not parse is not passed (the
 * spec lets prevResult be empty): a corrupt record must not keep a pod from going away.
 */
export async function delegateDel(req: DelegateRequest): Promise<void> {
  const network = nameOf(req);
  let errors: DelegateError[];
  try {
    const p = prepare(req, 'DEL');
    errors = await delAll(p, storedResult(req.prevResult));
  } catch (err) {
    throw delegateErrorOf(network, err);
  }
  const error = oneError(network, errors);
  if (error !== undefined) throw error;
}

function storedResult(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks the attachment: every plugin's CHECK, in order, with the stored result. Succeeds
 * without calling anything when the list says `disableCheck`; refuses versions before 0.4.0
 * (which have no CHECK) and a missing or unreadable stored result.
 */
export async function delegateCheck(req: DelegateRequest): Promise<void> {
  const network = nameOf(req);
  try {
    const p = prepare(req, 'CHECK');
    if (!hasCheck(p.list.cniVersion))
      throw new DelegateConfigError(
        network,
        'cniVersion',
        `${p.list.cniVersion} has no CHECK (0.4.0 and later)`,
      );
    if (p.list.disableCheck) return;
    const prev = storedResult(req.prevResult);
    if (prev === undefined)
      throw new DelegateRequestError(network, 'prevResult', 'CHECK needs the result ADD returned, as JSON');
    for (let i = 0; i < p.list.plugins.length; i++) await call(p, i, 'CHECK', prev);
  } catch (err) {
    throw delegateErrorOf(network, err);
  }
}
