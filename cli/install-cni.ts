// `netloom install-cni`: what the agent DaemonSet's init container runs to put the CNI plugin on
// the node — the bundled shim as <cniBinDir>/netloom (its shebang names <nodeDir>/node), the Node
// runtime it needs, and the conflist. Every file is written to a temporary name and renamed, so
// kubelet never runs a half-copied plugin or reads a half-written config.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomicSync } from '../lib/atomic-file.ts';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/logging.ts';

export const installCniSchema = z.object({
  /** The bundled shim built for this image (`scripts/build-cni.ts --node <nodeDir>/node`). */
  shim: z.string().default('/opt/netloom/dist/netloom-cni'),
  conflist: z.string().default('/opt/netloom/deploy/netloom.conflist'),
  cniBinDir: z.string().default('/host/opt/cni/bin'),
  cniConfDir: z.string().default('/host/etc/cni/net.d'),
  /** Where the node's copy of the Node runtime goes (host path as mounted here). */
  nodeDir: z.string().default('/host/opt/netloom/bin'),
  /** Agent socket to write into the conflist (the agent's --cni-socket). */
  agentSocket: z.string().default('/run/netloom/cni.sock'),
  confName: z.string().default('10-netloom.conflist'),
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

/** Installs the plugin; returns the files written. */
export function installCni(config: InstallCniConfig, nodeBinary = process.execPath): string[] {
  const conflist = JSON.parse(readFileSync(config.conflist, 'utf8')) as {
    plugins: Record<string, unknown>[];
  };
  for (const p of conflist.plugins) if (p['type'] === 'netloom') p['agentSocket'] = config.agentSocket;
  const written = [
    join(config.nodeDir, 'node'),
    join(config.cniBinDir, 'netloom'),
    join(config.cniConfDir, config.confName),
  ];
  // The runtime first: the plugin must never exist without the interpreter its shebang names.
  atomicCopy(nodeBinary, written[0]!, 0o755);
  atomicCopy(config.shim, written[1]!, 0o755);
  atomicWrite(written[2]!, JSON.stringify(conflist, null, 2) + '\n');
  return written;
}

export function main(argv: string[]): Promise<number> {
  const { config } = loadConfig(installCniSchema, { argv });
  const logger = createLogger('install-cni', { level: config.logLevel });
  const files = installCni(config);
  logger.info({ files }, 'CNI plugin installed');
  return Promise.resolve(0);
}
