// The VPP v25.10 definitions the repository carries (../api-defs/v25.10), loaded once per test file.
import { fileURLToPath } from 'node:url';
import { ApiDefinitions, loadApiDirectory } from '../api/definitions.ts';
import { VppCodec } from '../api/codec.ts';

/** NETLOOM_VPP_API_DIR overrides the default: the in-repo copy, so that a clone alone runs the tests. */
export const V25_10_DIR =
  process.env['NETLOOM_VPP_API_DIR'] ?? fileURLToPath(new URL('../api-defs/v25.10', import.meta.url));

/**
 * Messages the driver uses where a VPP has them and v25.10 lacks (cnat's feature arc), as the
 * VPP built here defines them (../api-defs/README.md).
 */
export const AFTER_V25_10_DIR = fileURLToPath(new URL('../api-defs/after-v25.10', import.meta.url));

let cached: Promise<ApiDefinitions> | undefined;
let withNewer: Promise<ApiDefinitions> | undefined;

export function loadV25Definitions(): Promise<ApiDefinitions> {
  cached ??= loadApiDirectory(V25_10_DIR);
  return cached;
}

/** v25.10 and the newer messages: what the fake VPP and the driver tests speak. */
export function loadDriverDefinitions(): Promise<ApiDefinitions> {
  withNewer ??= loadV25Definitions().then((d) => loadApiDirectory(AFTER_V25_10_DIR, d.clone()));
  return withNewer;
}

export async function v25Codec(): Promise<VppCodec> {
  return new VppCodec(await loadV25Definitions());
}
