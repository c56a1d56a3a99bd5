// Where the Bun runtime is on this machine: the `bun` devDependency's binary, which the CNI
// shim's build compiles with (scripts/build-cni.ts, ADR 0009) and the linux driver's netlink
// helper runs on (agent/dataplane/linux/netlink/). `npm ci` installs it.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/**
 * The Bun binary the `bun` devDependency installed: its postinstall moves the platform package's
 * binary to node_modules/bun/bin/bun.exe (a placeholder text file until it has run); without the
 * postinstall it stays in @oven/bun-<os>-<arch>. Undefined when neither is there.
 */
export function findBun(): string | undefined {
  const placeholderMax = 64 * 1024;
  const candidates = [
    join(root, 'node_modules/bun/bin/bun.exe'),
    ...['', '-baseline', '-musl'].map((v) =>
      join(
        root,
        `node_modules/@oven/bun-${process.platform}-${process.arch === 'arm64' ? 'aarch64' : process.arch}${v}/bin/bun`,
      ),
    ),
  ];
  return candidates.find((p) => existsSync(p) && statSync(p).size > placeholderMax);
}
