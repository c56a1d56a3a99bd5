// Runs a CNI network configuration list the way kubelet's runtime does (libcni, as containerd
// drives it): each plugin gets the list's name and cniVersion, the previous plugin's result as
// prevResult, and runtimeConfig entries for the capabilities it declares; DEL runs the chain
// in reverse with the cached ADD result; STATUS and GC (CNI 1.1) go to every plugin. The env is
// CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH. Pure but for `exec`.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { NetloomError } from '../../../lib/errors.ts';

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
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs, in order. */
  args: [string, string][];
  /** Values for plugin capabilities (portMappings, io.kubernetes.cri.pod-annotations…). */
  capabilityArgs: Record<string, unknown>;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one plugin binary with an environment and stdin. */
export type PluginExec = (path: string, env: Record<string, string>, stdin: string) => Promise<ExecResult>;

/** A plugin's failure, with the spec's error code and message when it printed one. */
export class CniError extends NetloomError {
  readonly plugin: string;
  readonly code: number;

  constructor(plugin: string, command: string, code: number, msg: string) {
    super(`CNI ${command} ${plugin}: ${msg} (code ${code})`, { retriable: true });
    this.plugin = plugin;
    this.code = code;
  }
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
      if (on && cap in rt.capabilityArgs) runtimeConfig[cap] = rt.capabilityArgs[cap];
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

export class CniRunner {
  readonly list: ConfList;
  private readonly path: readonly string[];
  private readonly exec: PluginExec;
  private readonly v11 = new Map<string, Promise<boolean>>();

  constructor(list: ConfList, cniPath: readonly string[], exec: PluginExec) {
    this.list = list;
    this.path = cniPath;
    this.exec = exec;
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
    throw new CniError(type, 'find', 0, `plugin ${type} not found in ${this.path.join(':')}`);
  }

  private async invoke(
    command: string,
    plugin: PluginConf,
    stdin: Record<string, unknown>,
    rt: RuntimeConf | undefined,
  ): Promise<unknown> {
    const res = await this.exec(
      this.find(plugin.type),
      cniEnv(command, rt, this.path),
      JSON.stringify(stdin),
    );
    if (res.code !== 0) {
      let code = res.code;
      let msg = (res.stderr || res.stdout).trim() || `exit ${res.code}`;
      try {
        const e = JSON.parse(res.stdout) as { code?: number; msg?: string; details?: string };
        if (typeof e.code === 'number') code = e.code;
        if (e.msg) msg = e.details ? `${e.msg}: ${e.details}` : e.msg;
      } catch {
        // not the spec's error JSON; keep what it printed
      }
      throw new CniError(plugin.type, command, code, msg);
    }
    const out = res.stdout.trim();
    return out === '' ? undefined : (JSON.parse(out) as unknown);
  }

  /** ADD through the chain; returns the last plugin's result (cache it for DEL). */
  async add(rt: RuntimeConf): Promise<unknown> {
    let prev: unknown;
    for (const plugin of this.list.plugins) {
      prev = await this.invoke('ADD', plugin, pluginStdin(this.list, plugin, rt, prev), rt);
    }
    return prev;
  }

  /** DEL through the chain in reverse, each plugin with the cached ADD result. */
  async del(rt: RuntimeConf, cached: unknown): Promise<void> {
    const withPrev = versionAtLeast(this.list.cniVersion, 0, 4) && cached !== undefined;
    for (const plugin of [...this.list.plugins].reverse()) {
      await this.invoke('DEL', plugin, pluginStdin(this.list, plugin, rt, withPrev ? cached : undefined), rt);
    }
  }

  /** Whether a plugin answers VERSION with 1.1.0 among its versions (asked once per plugin). */
  private speaks11(plugin: PluginConf): Promise<boolean> {
    let known = this.v11.get(plugin.type);
    if (!known) {
      known = this.exec(
        this.find(plugin.type),
        cniEnv('VERSION', undefined, this.path),
        JSON.stringify({ cniVersion: this.list.cniVersion }),
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
  private async v11Plugins(): Promise<{ version: string; plugins: PluginConf[] }> {
    if (versionAtLeast(this.list.cniVersion, 1, 1))
      return { version: this.list.cniVersion, plugins: this.list.plugins };
    const listed =
      Array.isArray(this.list['cniVersions']) && (this.list['cniVersions'] as unknown[]).includes('1.1.0');
    if (!listed) return { version: '1.1.0', plugins: [] };
    const plugins: PluginConf[] = [];
    for (const p of this.list.plugins) if (await this.speaks11(p)) plugins.push(p);
    return { version: '1.1.0', plugins };
  }

  /** STATUS (CNI 1.1): resolves when every plugin that speaks it says the network is ready. */
  async status(): Promise<void> {
    const { version, plugins } = await this.v11Plugins();
    const list = { ...this.list, cniVersion: version };
    for (const plugin of plugins)
      await this.invoke('STATUS', plugin, pluginStdin(list, plugin, undefined), undefined);
  }

  /** GC (CNI 1.1): every attachment not listed may be released by the plugins. */
  async gc(valid: { containerID: string; ifname: string }[]): Promise<void> {
    const { version, plugins } = await this.v11Plugins();
    const list = { ...this.list, cniVersion: version };
    for (const plugin of plugins) {
      await this.invoke(
        'GC',
        plugin,
        { ...pluginStdin(list, plugin, undefined), 'cni.dev/valid-attachments': valid },
        undefined,
      );
    }
  }
}
