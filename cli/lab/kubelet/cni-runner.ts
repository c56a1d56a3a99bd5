// Runs a CNI network configuration list the way kubelet's runtime does (libcni, as containerd
// drives it): each plugin gets the list's name and cniVersion, the previous plugin's result as
// prevResult, and runtimeConfig entries for the capabilities it declares; CHECK runs the chain in
// order and DEL in reverse, both with the ADD result; STATUS and GC (CNI 1.1) go to every plugin.
// The env is CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH. Pure but
// for `exec`.
//
// The one libcni-style runner: the lab's simulated kubelet runs every pod's chain with it, and
// the integration tests and bench/cni-add.ts drive the shim through it too, so what they measure
// is what the lab does. It stays here rather than in lib/ because no netloom daemon runs CNI
// plugins; it is the lab's container runtime, which tests borrow (as they borrow cli/lab/netns.ts).
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { NetloomError } from '../../../lib/errors.ts';
import { inNetns, runProcess, type ProcessResult } from '../../../lib/iproute.ts';

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [field: string]: unknown;
}

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
  [field: string]: unknown;
}

export interface RuntimeConf {
  containerId: string;
  /** The pod's netns path (CNI_NETNS). */
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs, in order (k8sArgs for a Kubernetes pod). */
  args: [string, string][];
  /** Values for plugin capabilities (portMappings, bandwidth, io.kubernetes.cri.pod-annotations…). */
  capabilityArgs?: Record<string, unknown>;
}

/** A plugin's ADD result (the CNI Result object). */
export type CniResult = Record<string, unknown>;

export type ExecResult = ProcessResult;

/** Runs one plugin binary with CNI_* variables and its config on stdin. */
export type PluginExec = (path: string, env: Record<string, string>, stdin: string) => Promise<ExecResult>;

/**
 * A plugin that failed, with the spec's error code and message when it printed its error JSON.
 * Not cni/errors.ts's CniError (what the shim and agent answer with): this is what a runtime sees.
 */
export class CniPluginError extends NetloomError {
  readonly plugin: string;
  readonly command: string;
  /** The spec's error code (11: try again later…), when the plugin printed one. */
  readonly cniCode: number | undefined;
  readonly exitCode: number;
  readonly stderr: string;

  constructor(plugin: string, command: string, res: ExecResult) {
    let cniCode: number | undefined;
    let msg = (res.stderr || res.stdout).trim() || `exit ${res.code}`;
    try {
      const e = JSON.parse(res.stdout) as { code?: unknown; msg?: unknown; details?: unknown };
      if (typeof e.code === 'number') cniCode = e.code;
      if (typeof e.msg === 'string' && e.msg !== '')
        msg = typeof e.details === 'string' && e.details !== '' ? `${e.msg}: ${e.details}` : e.msg;
    } catch {
      // not the spec's error JSON; keep what it printed
    }
    super(
      `CNI ${command} ${plugin}: ${msg} (${cniCode !== undefined ? `code ${cniCode}` : `exit ${res.code}`})`,
      {
        retriable: true,
      },
    );
    this.plugin = plugin;
    this.command = command;
    this.cniCode = cniCode;
    this.exitCode = res.code;
    this.stderr = res.stderr;
  }
}

/**
 * Plugins run inside `netns` (a lab node), as a node's runtime runs them in the host's namespace,
 * with this process's environment plus the CNI variables (as libcni does). The bound is generous:
 * the shim has its own timeout towards the agent.
 */
export function netnsExec(netns: string | undefined, timeoutMs = 90_000): PluginExec {
  return (path, env, stdin) => {
    const [cmd, argv] = inNetns(netns, path, []);
    return runProcess(cmd, argv, { stdin, timeoutMs, env: { ...process.env, ...env } });
  };
}

/** CNI_ARGS as containerd's CRI plugin passes them for a Kubernetes pod. */
export function k8sArgs(
  pod: { namespace: string; name: string; uid: string },
  containerId: string,
): [string, string][] {
  return [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAMESPACE', pod.namespace],
    ['K8S_POD_NAME', pod.name],
    ['K8S_POD_INFRA_CONTAINER_ID', containerId],
    ['K8S_POD_UID', pod.uid],
  ];
}

/** The stdin of one plugin of the list (libcni's buildOneConfig + injectRuntimeConfig). */
export function pluginStdin(
  list: ConfList,
  plugin: PluginConf,
  rt: RuntimeConf | undefined,
  prevResult?: unknown,
): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  if (prevResult !== undefined) conf['prevResult'] = prevResult;
  if (rt) {
    const runtimeConfig: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
      if (on && rt.capabilityArgs && cap in rt.capabilityArgs) runtimeConfig[cap] = rt.capabilityArgs[cap];
    }
    if (Object.keys(runtimeConfig).length > 0) conf['runtimeConfig'] = runtimeConfig;
  }
  return conf;
}

export function cniEnv(
  command: string,
  rt: RuntimeConf | undefined,
  cniPath: readonly string[],
): Record<string, string> {
  const env: Record<string, string> = { CNI_COMMAND: command, CNI_PATH: cniPath.join(':') };
  if (rt) {
    env['CNI_CONTAINERID'] = rt.containerId;
    env['CNI_NETNS'] = rt.netns;
    env['CNI_IFNAME'] = rt.ifname;
    env['CNI_ARGS'] = rt.args.map(([k, v]) => `${k}=${v}`).join(';');
  }
  return env;
}

function versionAtLeast(v: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = v.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

export interface CniRunnerOptions {
  /** CNI_PATH: where plugins are looked up, in order. */
  cniPath: readonly string[];
  /** The namespace plugins run in (default: ours); ignored when `exec` is given. */
  netns?: string;
  /** How a plugin is run (default: netnsExec(netns)); unit tests pass a fake. */
  exec?: PluginExec;
}

/**
 * libcni's CNIConfig: a plugin path and a way to run plugins; the conflist is an argument of each
 * call. ADD results are remembered (in memory, as libcni's result cache) for CHECK and DEL; a
 * caller that outlives this process (the lab's pod records) passes the result it kept.
 */
export class CniRunner {
  private readonly path: readonly string[];
  private readonly exec: PluginExec;
  private readonly v11 = new Map<string, Promise<boolean>>();
  private readonly results = new Map<string, CniResult>();

  constructor(opts: CniRunnerOptions) {
    this.path = opts.cniPath;
    this.exec = opts.exec ?? netnsExec(opts.netns);
  }

  private find(type: string): string {
    for (const dir of this.path) {
      const p = join(dir, type);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // next directory
      }
    }
    throw new CniPluginError(type, 'find', {
      code: -1,
      stdout: '',
      stderr: `plugin ${type} not found in ${this.path.join(':')}`,
    });
  }

  private async invoke(
    command: string,
    plugin: PluginConf,
    stdin: Record<string, unknown>,
    rt: RuntimeConf | undefined,
  ): Promise<CniResult | undefined> {
    const res = await this.exec(
      this.find(plugin.type),
      cniEnv(command, rt, this.path),
      JSON.stringify(stdin),
    );
    if (res.code !== 0) throw new CniPluginError(plugin.type, command, res);
    const out = res.stdout.trim();
    return out === '' ? undefined : (JSON.parse(out) as CniResult);
  }

  private key(list: ConfList, rt: RuntimeConf): string {
    return `${list.name}/${rt.containerId}/${rt.ifname}`;
  }

  /** ADD through the chain; returns the last plugin's result (also remembered for CHECK and DEL). */
  async add(list: ConfList, rt: RuntimeConf): Promise<CniResult> {
    let prev: CniResult | undefined;
    for (const plugin of list.plugins)
      prev = await this.invoke('ADD', plugin, pluginStdin(list, plugin, rt, prev), rt);
    const result = prev ?? {};
    this.results.set(this.key(list, rt), result);
    return result;
  }

  /** CHECK through the chain in order, each plugin with the ADD result. */
  async check(list: ConfList, rt: RuntimeConf, prevResult?: unknown): Promise<void> {
    const prev = prevResult ?? this.results.get(this.key(list, rt));
    for (const plugin of list.plugins)
      await this.invoke('CHECK', plugin, pluginStdin(list, plugin, rt, prev), rt);
  }

  /** DEL through the chain in reverse, each plugin with the ADD result (from CNI 0.4.0 on). */
  async del(list: ConfList, rt: RuntimeConf, prevResult?: unknown): Promise<void> {
    const cached = prevResult ?? this.results.get(this.key(list, rt));
    const prev = versionAtLeast(list.cniVersion, 0, 4) ? cached : undefined;
    for (const plugin of [...list.plugins].reverse())
      await this.invoke('DEL', plugin, pluginStdin(list, plugin, rt, prev), rt);
    this.results.delete(this.key(list, rt));
  }

  /** One plugin call as given, nothing injected: for raw protocol checks. */
  run(type: string, env: Record<string, string>, stdin: string): Promise<ExecResult> {
    return this.exec(this.find(type), env, stdin);
  }

  /** Whether a plugin answers VERSION with 1.1.0 among its versions (asked once per plugin). */
  private speaks11(list: ConfList, plugin: PluginConf): Promise<boolean> {
    let known = this.v11.get(plugin.type);
    if (!known) {
      known = this.exec(
        this.find(plugin.type),
        cniEnv('VERSION', undefined, this.path),
        JSON.stringify({ cniVersion: list.cniVersion }),
      )
        .then(
          (res) =>
            res.code === 0 &&
            ((JSON.parse(res.stdout) as { supportedVersions?: string[] }).supportedVersions ?? []).includes(
              '1.1.0',
            ),
        )
        .catch(() => false);
      this.v11.set(plugin.type, known);
    }
    return known;
  }

  /**
   * The plugins STATUS and GC (CNI 1.1 verbs) go to, and at which version: all of them at the
   * list's version when that is ≥ 1.1.0; otherwise, when the list names 1.1.0 in `cniVersions`,
   * those plugins that speak 1.1.0 (a list kept at 1.0.0 for older chained plugins such as
   * Debian's portmap still gets netloom's STATUS and GC).
   */
  private async v11Plugins(list: ConfList): Promise<{ version: string; plugins: PluginConf[] }> {
    if (versionAtLeast(list.cniVersion, 1, 1)) return { version: list.cniVersion, plugins: list.plugins };
    const listed = Array.isArray(list['cniVersions']) && (list['cniVersions'] as unknown[]).includes('1.1.0');
    if (!listed) return { version: '1.1.0', plugins: [] };
    const plugins: PluginConf[] = [];
    for (const p of list.plugins) if (await this.speaks11(list, p)) plugins.push(p);
    return { version: '1.1.0', plugins };
  }

  /** STATUS (CNI 1.1): resolves when every plugin that speaks it says the network is ready. */
  async status(list: ConfList): Promise<void> {
    const { version, plugins } = await this.v11Plugins(list);
    const at = { ...list, cniVersion: version };
    for (const plugin of plugins)
      await this.invoke('STATUS', plugin, pluginStdin(at, plugin, undefined), undefined);
  }

  /** GC (CNI 1.1): every attachment not listed may be released by the plugins. */
  async gc(list: ConfList, valid: { containerID: string; ifname: string }[]): Promise<void> {
    const { version, plugins } = await this.v11Plugins(list);
    const at = { ...list, cniVersion: version };
    for (const plugin of plugins) {
      await this.invoke(
        'GC',
        plugin,
        { ...pluginStdin(at, plugin, undefined), 'cni.dev/valid-attachments': valid },
        undefined,
      );
    }
  }
}

/** One node's chain as its runtime runs it: the conflist and the runner for the node's namespace. */
export interface NodeCni {
  list: ConfList;
  runner: CniRunner;
}
