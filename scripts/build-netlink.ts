// Compiles the linux driver's netlink helper (agent/dataplane/linux/netlink/helper.ts) into one
// executable with Bun's runtime inside, as images carry it: the agent finds it at
// dist/netloom-netlink (netlink/locate.ts) and needs no Bun on the node. ADR 0019.
// Usage: node scripts/build-netlink.ts [--out dist/netloom-netlink] [--bun /path/to/bun]
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { findBun } from '../lib/bun.ts';
import { ConfigError } from '../lib/errors.ts';
import { COMPILED_HELPER, HELPER_SOURCE } from '../agent/dataplane/linux/netlink/locate.ts';

/** Builds the helper at `out` (default: where the agent looks) and returns its absolute path. */
export async function buildNetlinkHelper(out = COMPILED_HELPER, bun = findBun()): Promise<string> {
  if (bun === undefined)
    throw new ConfigError('bun', 'Bun is missing: `npm ci` installs it (devDependency bun)');
  const target = resolve(out);
  mkdirSync(dirname(target), { recursive: true });
  await promisify(execFile)(bun, ['build', '--compile', '--bytecode', HELPER_SOURCE, '--outfile', target], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return target;
}

if (import.meta.main) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const built = await buildNetlinkHelper(arg('--out') ?? COMPILED_HELPER, arg('--bun') ?? findBun());
  process.stdout.write(`${built}\n`);
}
