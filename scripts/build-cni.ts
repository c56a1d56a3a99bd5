// Bundles the CNI shim into one executable file (esbuild, CommonJS, minified, proto/cni.proto's
// descriptors inlined) for one of three runtimes (ADR 0009):
//   bun-compile  Bun's single-file executable: the bundle and Bun's runtime in one ELF binary
//                (with the bundle precompiled to bytecode); needs no runtime on the host. The
//                default: the fastest start measured.
//   bun          the bundle with a shebang naming a Bun binary.
//   node         the bundle with a shebang naming a Node 24 binary and a V8 compile-cache
//                directory (NODE_COMPILE_CACHE: ~25 % off every start after the first; an
//                unwritable directory only loses the gain).
// Usage:
//   node scripts/build-cni.ts [--out dist/netloom-cni] [--runtime bun-compile|bun|node]
//                             [--node /path/to/node] [--bun /path/to/bun] [--cache-dir DIR]
// (`--node` without `--runtime` builds for that Node, as before runtimes existed.)
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { descriptorsFromProto } from '../cni/proto.ts';
import { findBun } from '../lib/bun.ts';
import { ConfigError } from '../lib/errors.ts';

const root = join(import.meta.dirname, '..');

export const DEFAULT_COMPILE_CACHE = '/var/tmp/netloom-cni-compile-cache';

export const CNI_RUNTIMES = ['bun-compile', 'bun', 'node'] as const;
export type CniRuntime = (typeof CNI_RUNTIMES)[number];

/** The fastest start measured (bench/cni-startup.ts, ADR 0009). */
export const DEFAULT_CNI_RUNTIME: CniRuntime = 'bun-compile';

export interface BuildCniOptions {
  /** Default DEFAULT_CNI_RUNTIME. */
  runtime?: CniRuntime;
  /**
   * The runtime binary: for `node`, the Node the shebang names (default: this process's);
   * for `bun`, the Bun the shebang names; for `bun-compile`, the Bun that compiles and whose
   * runtime is embedded (default for both: `findBun()`).
   */
  runtimePath?: string;
  /** `node` only: the compile-cache directory the shebang sets ('' for none). */
  cacheDir?: string;
}

export { findBun };

/** The runtime NETLOOM_CNI_RUNTIME names, for the (out, nodePath, cacheDir) form of buildCni. */
function runtimeFromEnv(): CniRuntime | undefined {
  const value = process.env['NETLOOM_CNI_RUNTIME']?.trim();
  if (!value) return undefined;
  if (!(CNI_RUNTIMES as readonly string[]).includes(value)) {
    throw new ConfigError('NETLOOM_CNI_RUNTIME', `${value} is none of ${CNI_RUNTIMES.join(', ')}`);
  }
  return value as CniRuntime;
}

function requireBun(runtimePath: string | undefined): string {
  const bun = runtimePath ?? findBun();
  if (!bun) {
    throw new ConfigError(
      'runtime',
      'Bun not found: `npm ci` installs it (devDependency bun), or pass --bun PATH',
    );
  }
  return bun;
}

/** The shim as one CommonJS file (no shebang unless `banner` is one); bench/cni-startup.ts builds a snapshot from it. */
export async function bundleCni(outfile: string, banner?: string): Promise<void> {
  await build({
    entryPoints: [join(root, 'cni/bin.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    legalComments: 'none',
    ...(banner ? { banner: { js: banner } } : {}),
    define: {
      __NETLOOM_CNI_DESCRIPTORS__: JSON.stringify(
        descriptorsFromProto(readFileSync(join(root, 'proto/cni.proto'), 'utf8')),
      ),
    },
    logOverride: { 'empty-import-meta': 'silent' },
    logLevel: 'warning',
  });
}

/** `bun build --compile`: the bundle, as bytecode, inside a copy of Bun's executable. */
async function compileWithBun(bun: string, target: string): Promise<void> {
  const work = mkdtempSync(join(dirname(target), '.netloom-cni-build-'));
  try {
    // The entry needs a .js name: Bun takes an extensionless file for an asset, not a script.
    const entry = join(work, 'netloom-cni.js');
    await bundleCni(entry);
    await promisify(execFile)(
      bun,
      ['build', '--compile', '--bytecode', '--format=cjs', entry, '--outfile', target],
      { cwd: work, maxBuffer: 16 * 1024 * 1024 },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Builds the shim at `out` and returns its absolute path. The older form
 * `buildCni(out, nodePath, cacheDir?)` builds for Node with that binary, unless
 * NETLOOM_CNI_RUNTIME names another runtime (so suites that build the shim can be run on each).
 */
export async function buildCni(out: string, options?: BuildCniOptions): Promise<string>;
export async function buildCni(out: string, nodePath: string, cacheDir?: string): Promise<string>;
export async function buildCni(
  out: string,
  optionsOrNode: BuildCniOptions | string = {},
  legacyCacheDir?: string,
): Promise<string> {
  let options: BuildCniOptions;
  if (typeof optionsOrNode === 'string') {
    const runtime = runtimeFromEnv() ?? 'node';
    options =
      runtime === 'node'
        ? { runtime, runtimePath: optionsOrNode, cacheDir: legacyCacheDir ?? DEFAULT_COMPILE_CACHE }
        : { runtime };
  } else {
    options = optionsOrNode;
  }
  const runtime = options.runtime ?? DEFAULT_CNI_RUNTIME;
  const target = resolve(out);
  mkdirSync(dirname(target), { recursive: true });
  if (runtime === 'bun-compile') {
    await compileWithBun(requireBun(options.runtimePath), target);
    chmodSync(target, 0o755);
    return target;
  }
  let banner: string;
  if (runtime === 'bun') {
    banner = `#!${requireBun(options.runtimePath)}`;
  } else {
    const nodePath = options.runtimePath ?? process.execPath;
    const cacheDir = options.cacheDir ?? DEFAULT_COMPILE_CACHE;
    banner = cacheDir ? `#!/usr/bin/env -S NODE_COMPILE_CACHE=${cacheDir} ${nodePath}` : `#!${nodePath}`;
  }
  await bundleCni(target, banner);
  chmodSync(target, 0o755);
  // The bundle is CommonJS; inside this repository (type: module) a runtime needs to be told so.
  writeFileSync(join(dirname(target), 'package.json'), '{ "type": "commonjs" }\n');
  return target;
}

if (import.meta.main) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  // --node alone keeps meaning what it did before runtimes existed: a shim for that Node.
  const runtime = arg('--runtime') ?? (arg('--node') ? 'node' : DEFAULT_CNI_RUNTIME);
  if (!(CNI_RUNTIMES as readonly string[]).includes(runtime)) {
    console.error(`build-cni: --runtime ${runtime} is none of ${CNI_RUNTIMES.join(', ')}`);
    process.exit(2);
  }
  const file = await buildCni(arg('--out') ?? join(root, 'dist/netloom-cni'), {
    runtime: runtime as CniRuntime,
    runtimePath: runtime === 'node' ? (arg('--node') ?? process.execPath) : arg('--bun'),
    cacheDir: arg('--cache-dir') ?? DEFAULT_COMPILE_CACHE,
  });
  console.log(`build-cni: wrote ${file} (${runtime})`);
}
