// How to start the netlink helper on this machine: the compiled one an image carries
// (dist/netloom-netlink, scripts/build-netlink.ts: Bun's runtime inside, nothing else needed),
// else Bun (the devDependency `npm ci` installs) running the source; undefined when neither is
// here, and the driver wires with iproute2.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findBun } from '../../../../lib/bun.ts';

/** The helper's source, for Bun to run. */
export const HELPER_SOURCE = fileURLToPath(new URL('./helper.ts', import.meta.url));

/** Where an image puts the compiled helper (relative to the repository root). */
export const COMPILED_HELPER = fileURLToPath(new URL('../../../../dist/netloom-netlink', import.meta.url));

export function helperCommand(): string[] | undefined {
  if (existsSync(COMPILED_HELPER)) return [COMPILED_HELPER];
  const bun = findBun();
  return bun === undefined ? undefined : [bun, HELPER_SOURCE];
}
