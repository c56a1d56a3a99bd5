// `netloom install-cni`: what the agent DaemonSet's init container runs to put the CNI plugin on
// the node — the bundled shim as <cniBinDir>/netloom and the conflist, and, for a shim built to
// run on Node (its shebang names <nodeDir>/node), the Node runtime it needs. A shim built with
// `--runtime bun-compile` is a self-contained executable and needs no runtime on the node
// (ADR 0009). With --plugin-dir, the plugins the conflist chains after netloom (portmap) come
// from there (the image's reference plugins) unless the node already has them: a node's own
// plugin, as new or newer, is kept; a chained plugin found in neither place fails the install
// before the conflist is written, since kubelet would then fail every pod. Every file is written
// to a temporary name and renamed, so kubelet never runs a half-copied plugin or reads a
// half-written config.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomicSync } from '../lib/atomic-file.ts';
import { loadConfig } from '../lib/config.ts';
import { ConfigError } from '../lib/errors.ts';
import { createLogger } from '../lib/logging.ts';

export const installCniSchema = z.object({
  /**
   * The shim built for this image: an executable (`scripts/build-cni.ts --runtime bun-compile`)
   * or a script for Node (`--runtime node --node <nodeDir>/node`).
   */
  shim: z.string().default('/opt/netloom/dist/netloom-cni'),
  conflist: z.string().default('/opt/netloom/deploy/netloom.conflist'),
  cniBinDir: z.string().default('/host/opt/cni/bin'),
  cniConfDir: z.string().default('/host/etc/cni/net.d'),
  /** Where the node's copy of the Node runtime goes (host path as mounted here). */
  nodeDir: z.string().default('/host/opt/netloom/bin'),
  /** Agent socket to write into the conflist (the agent's --cni-socket). */
  agentSocket: z.string().default('/run/netloom/cni.sock'),
  confName: z.string().default('10-netloom.conflist'),
  /** Where the image keeps the reference plugins the conflist chains; '' installs none. */
  pluginDir: z.string().default(''),
  logLevel: z.string().default('info'),
});
export type InstallCniConfig = z.infer<typeof installCniSchema>;

// Replaced, never rewritten in place: kubelet may exec the plugin or read the conflist meanwhile.
function atomicCopy(from: string, to: string, mode: number): void {
  mkdirSync(dirname(to), { recursive: true });
  writeFileAtomicSync(to, readFileSync(from), { mode });
}

function atomicWrite(to: string, text: string): void {
  mkdirSync(dirname(to), { recursive: true });
  writeFileAtomicSync(to, text, { mode: 0o644 });
}

/** True for a script (`#!`), which needs the runtime its shebang names; false for an executable. */
function isScript(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head.toString('latin1') === '#!';
  } finally {
    closeSync(fd);
  }
}

/**
 * The plugins the conflist chains after netloom, from `pluginDir` into `cniBinDir` where the node
 * has none of that name; returns the files written. All are found before any is copied.
 */
function chainedPlugins(config: InstallCniConfig, plugins: Record<string, unknown>[]): string[] {
  if (config.pluginDir === '') return [];
  const wanted = plugins.map((p) => String(p['type'])).filter((t) => t !== 'netloom');
  const missing = wanted.filter((t) => !existsSync(join(config.cniBinDir, t)));
  const absent = missing.filter((t) => !existsSync(join(config.pluginDir, t)));
  if (absent.length > 0)
    throw new ConfigError(
      'pluginDir',
      `the conflist chains ${absent.join(', ')}, found neither in ${config.cniBinDir} nor in ${config.pluginDir}`,
    );
  return missing.map((t) => {
    const to = join(config.cniBinDir, t);
    atomicCopy(join(config.pluginDir, t), to, 0o755);
    return to;
  });
}

/** Installs the plugin; returns the files written. */
export function installCni(config: InstallCniConfig, nodeBinary = process.execPath): string[] {
  const conflist = JSON.parse(readFileSync(config.conflist, 'utf8')) as {
    plugins: Record<string, unknown>[];
  };
  for (const p of conflist.plugins) if (p['type'] === 'netloom') p['agentSocket'] = config.agentSocket;
  const plugin = join(config.cniBinDir, 'netloom');
  const conf = join(config.cniConfDir, config.confName);
  const written: string[] = [];
  if (isScript(config.shim)) {
    // The runtime first: the plugin must never exist without the interpreter its shebang names.
    const runtime = join(config.nodeDir, 'node');
    atomicCopy(nodeBinary, runtime, 0o755);
    written.push(runtime);
  }
  atomicCopy(config.shim, plugin, 0o755);
  written.push(plugin);
  // The chained plugins before the conflist that names them.
  written.push(...chainedPlugins(config, conflist.plugins));
  atomicWrite(conf, JSON.stringify(conflist, null, 2) + '\n');
  written.push(conf);
  return written;
}

export function main(argv: string[]): Promise<number> {
  const { config } = loadConfig(installCniSchema, { argv });
  const logger = createLogger('install-cni', { level: config.logLevel });
  const files = installCni(config);
  logger.info({ files }, 'CNI plugin installed');
  return Promise.resolve(0);
}
