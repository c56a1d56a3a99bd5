// Bundles the CNI shim into one executable file (CommonJS, minified, proto/cni.proto's descriptors inlined),
// with a shebang naming the Node 24 binary that will run it and a V8 compile-cache directory
// (NODE_COMPILE_CACHE: ~25 % off every start after the first; an unwritable directory only
// loses the gain). Usage:
//   node scripts/build-cni.ts [--out dist/netloom-cni] [--node /path/to/node] [--cache-dir DIR]
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { descriptorsFromProto } from '../cni/proto.ts';

const root = join(import.meta.dirname, '..');

export const DEFAULT_COMPILE_CACHE = '/var/tmp/netloom-cni-compile-cache';

export async function buildCni(
  out: string,
  nodePath: string,
  cacheDir = DEFAULT_COMPILE_CACHE,
): Promise<string> {
  const target = resolve(out);
  mkdirSync(dirname(target), { recursive: true });
  await build({
    entryPoints: [join(root, 'cni/bin.ts')],
    outfile: target,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    legalComments: 'none',
    banner: {
      js: cacheDir ? `#!/usr/bin/env -S NODE_COMPILE_CACHE=${cacheDir} ${nodePath}` : `#!${nodePath}`,
    },
    define: {
      __NETLOOM_CNI_DESCRIPTORS__: JSON.stringify(
        descriptorsFromProto(readFileSync(join(root, 'proto/cni.proto'), 'utf8')),
      ),
    },
    logOverride: { 'empty-import-meta': 'silent' },
    logLevel: 'warning',
  });
  chmodSync(target, 0o755);
  // The bundle is CommonJS; inside this repository (type: module) Node needs to be told so.
  writeFileSync(join(dirname(target), 'package.json'), '{ "type": "commonjs" }\n');
  return target;
}

if (import.meta.main) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const file = await buildCni(
    arg('--out') ?? join(root, 'dist/netloom-cni'),
    arg('--node') ?? process.execPath,
    arg('--cache-dir') ?? DEFAULT_COMPILE_CACHE,
  );
  console.log(`build-cni: wrote ${file}`);
}
