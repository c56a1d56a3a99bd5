// Runs a CNI conflist the way libcni does for kubelet/containerd (and cnitool): each plugin is
// an executable found on CNI_PATH, run with the CNI_* environment and its config on stdin
// (cniVersion and name injected, runtimeConfig = the plugin's capabilities ∩ the runtime's
// capability args, prevResult from the previous plugin); DEL in reverse order with the cached
// ADD result; CHECK in order. Plugins run inside `netns` (a lab node), as kubelet runs them in
// the host's namespace.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { nsPath } from './netns.ts';

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

export interface RuntimeConf {
  containerId: string;
  /** The pod's netns path (CNI_NETNS). */
  netns: string;
  ifname: string;
  /** K8S_POD_NAMESPACE, K8S_POD_NAME… (CNI_ARGS). */
  args: Record<string, string>;
  /** Capability args (portMappings, bandwidth…). */
  capabilityArgs?: Record<string, unknown>;
}

export interface ExecOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export class CniPluginError extends Error {
  readonly plugin: string;
  readonly outcome: ExecOutcome;
  readonly cniCode: number | undefined;

  constructor(plugin: string, outcome: ExecOutcome) {
    let parsed: { code?: number; msg?: string; details?: string } = {};
    try {
      parsed = JSON.parse(outcome.stdout) as typeof parsed;
    } catch {
      // not JSON: reported as is
    }
    super(
      `${plugin} exited ${outcome.code}: ${parsed.msg ?? outcome.stdout.trim()}${parsed.details ? ` (${parsed.details})` : ''} ${outcome.stderr.trim()}`,
    );
    this.plugin = plugin;
    this.outcome = outcome;
    this.cniCode = parsed.code;
  }
}

export class CniRunner {
  private readonly cniPath: readonly string[];
  private readonly netns: string | undefined;
  private readonly cache = new Map<string, unknown>();

  constructor(opts: { cniPath: readonly string[]; netns?: string }) {
    this.cniPath = opts.cniPath;
    this.netns = opts.netns;
  }

  async add(list: ConfList, rt: RuntimeConf): Promise<Record<string, unknown>> {
    let prev: unknown;
    for (const plugin of list.plugins)
      prev = JSON.parse((await this.exec('ADD', list, plugin, rt, prev)).stdout);
    this.cache.set(this.cacheKey(list, rt), prev);
    return prev as Record<string, unknown>;
  }

  async check(list: ConfList, rt: RuntimeConf): Promise<void> {
    const prev = this.cache.get(this.cacheKey(list, rt));
    for (const plugin of list.plugins) await this.exec('CHECK', list, plugin, rt, prev);
  }

  async del(list: ConfList, rt: RuntimeConf): Promise<void> {
    const prev = this.cache.get(this.cacheKey(list, rt));
    for (const plugin of [...list.plugins].reverse()) await this.exec('DEL', list, plugin, rt, prev);
    this.cache.delete(this.cacheKey(list, rt));
  }

  /** One plugin call with nothing injected: for raw protocol checks. */
  run(plugin: string, env: Record<string, string>, stdin: string): Promise<ExecOutcome> {
    return this.spawn(this.find(plugin), env, stdin);
  }

  private async exec(
    command: string,
    list: ConfList,
    plugin: Record<string, unknown>,
    rt: RuntimeConf,
    prev: unknown,
  ): Promise<ExecOutcome> {
    const type = String(plugin['type']);
    const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
    delete conf['capabilities'];
    const caps = (plugin['capabilities'] ?? {}) as Record<string, boolean>;
    const runtimeConfig = Object.fromEntries(
      Object.entries(rt.capabilityArgs ?? {}).filter(([k]) => caps[k] === true),
    );
    if (Object.keys(runtimeConfig).length > 0) conf['runtimeConfig'] = runtimeConfig;
    if (prev !== undefined) conf['prevResult'] = prev;
    const args = ['IgnoreUnknown=1', ...Object.entries(rt.args).map(([k, v]) => `${k}=${v}`)].join(';');
    const env = {
      CNI_COMMAND: command,
      CNI_CONTAINERID: rt.containerId,
      CNI_NETNS: rt.netns,
      CNI_IFNAME: rt.ifname,
      CNI_ARGS: args,
      CNI_PATH: this.cniPath.join(':'),
    };
    const outcome = await this.spawn(this.find(type), env, JSON.stringify(conf));
    if (outcome.code !== 0) throw new CniPluginError(type, outcome);
    return outcome;
  }

  private find(type: string): string {
    for (const dir of this.cniPath) {
      const file = join(dir, type);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // next directory
      }
    }
    throw new Error(`CNI plugin ${type} not found on ${this.cniPath.join(':')}`);
  }

  private spawn(file: string, env: Record<string, string>, stdin: string): Promise<ExecOutcome> {
    const t0 = performance.now();
    const [cmd, argv]: [string, string[]] = this.netns
      ? ['nsenter', [`--net=${nsPath(this.netns)}`, '--', file]]
      : [file, []];
    const child = spawn(cmd, argv, {
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
    return new Promise((resolve) =>
      child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 })),
    );
  }

  private cacheKey(list: ConfList, rt: RuntimeConf): string {
    return `${list.name}/${rt.containerId}/${rt.ifname}`;
  }
}
