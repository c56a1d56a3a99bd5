// `npm run image`: netloom's container images without Docker, as OCI image-layout archives
// (scripts/image-oci.ts) built from Debian packages (scripts/image-debs.ts):
//   pause    Debian's static busybox, entrypoint `sleep 2147483647`: the pod sandbox image of the
//            lab's real nodes, and its test image (busybox's applets: sh, httpd, wget, nc, …).
//   netloom  a minimal Debian rootfs (libc, libstdc++, iproute2, nftables, openssl, the reference CNI
//            plugins the conflist chains) + the project's Node 24 (node_modules/node) + its code
//            and production dependencies under /opt/netloom (no tests, benchmarks or dev
//            dependencies) + the CNI shim for `netloom install-cni` (dist/netloom-cni, run on the
//            node by /opt/netloom/bin/node as deploy/Containerfile builds it).
// Same layout as deploy/Containerfile's image: entrypoint `node /opt/netloom/cli/netloom.ts`.
//
//   node scripts/image.ts [--out-dir DIR] [--only pause|netloom]
// Archives land in DIR (default <cache>/images, outside the repository): `ctr -n k8s.io images
// import FILE`, `docker load -i FILE`, `podman load -i FILE`.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { buildCni } from './build-cni.ts';
import { candidate, closure, download, dropDocs, ImageError, ldconfig, unpack } from './image-debs.ts';
import { writeImage, type WrittenImage } from './image-oci.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CACHE = process.env['NETLOOM_CACHE_DIR'] ?? join(homedir(), '.cache', 'netloom');
export const IMAGE_DIR = join(CACHE, 'images');
const DEB_CACHE = join(CACHE, 'debs');

export const PAUSE_IMAGE = 'localhost/netloom/pause:1';
export const NETLOOM_IMAGE = 'localhost/netloom/netloom:dev';
export const PAUSE_ARCHIVE = 'pause.oci.tar';
export const NETLOOM_ARCHIVE = 'netloom.oci.tar';

/** Where Debian's containernetworking-plugins puts the reference plugins. */
const DEBIAN_CNI_DIR = 'usr/lib/cni';
/** The project's code directories that run in the image (cli/lab and tests stay out). */
const CODE_DIRS = ['agent', 'cli', 'cni', 'ksr', 'lib', 'proto', 'stn'];

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The plugin types the shipped conflist chains after netloom (portmap, …). */
export function chainedPlugins(conflistPath = join(ROOT, 'deploy', 'netloom.conflist')): string[] {
  const list = JSON.parse(readFileSync(conflistPath, 'utf8')) as { plugins?: { type?: unknown }[] };
  return (list.plugins ?? [])
    .map((p) => p.type)
    .filter((t): t is string => typeof t === 'string' && t !== 'netloom');
}

function staged(work: string, name: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The busybox image: /bin/busybox and one link per applet it lists. */
async function pauseTree(work: string): Promise<string> {
  const [deb] = await download([await candidate('busybox-static')], DEB_CACHE);
  const unpacked = staged(work, 'busybox-deb');
  await unpack([deb!], unpacked);
  const tree = staged(work, 'pause');
  mkdirSync(join(tree, 'bin'));
  cpSync(join(unpacked, 'bin', 'busybox'), join(tree, 'bin', 'busybox'));
  const applets = execFileSync(join(tree, 'bin', 'busybox'), ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter((a) => a !== '' && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(tree, 'bin', a));
  for (const d of ['tmp', 'etc', 'proc', 'sys', 'dev']) mkdirSync(join(tree, d), { recursive: true });
  chmodSync(join(tree, 'tmp'), 0o1777);
  writeFileSync(
    join(tree, 'etc', 'passwd'),
    'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
  );
  writeFileSync(join(tree, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  return tree;
}

/**
 * Debian's part of the netloom image: the libraries Node needs, iproute2, nftables, openssl (the
 * certificate Job runs `netloom certs-secrets`, which issues with it), the CNI plugins.
 */
async function debianTree(work: string): Promise<string> {
  const pkgs = await closure([
    'libc6',
    'libstdc++6',
    'libgcc-s1',
    'iproute2',
    'nftables',
    'netbase',
    'openssl',
    // What the linux driver runs besides ip and nft: sysctl (forwarding on), nsenter (commands
    // in a pod's namespace, lib/iproute.ts), conntrack (flushing a service's stale entries).
    'procps',
    'util-linux',
    'conntrack',
  ]);
  const tree = staged(work, 'debian');
  await unpack(await download(pkgs, DEB_CACHE), tree);
  // The reference plugins: only the ones the conflist chains, from Debian's package.
  const [cni] = await download([await candidate('containernetworking-plugins')], DEB_CACHE);
  const cniDeb = staged(work, 'cni-deb');
  await unpack([cni!], cniDeb);
  mkdirSync(join(tree, DEBIAN_CNI_DIR), { recursive: true });
  for (const plugin of chainedPlugins()) {
    const from = join(cniDeb, DEBIAN_CNI_DIR, plugin);
    if (!existsSync(from))
      throw new ImageError(`the conflist chains ${plugin}, which containernetworking-plugins lacks`);
    cpSync(from, join(tree, DEBIAN_CNI_DIR, plugin));
  }
  dropDocs(tree);
  await ldconfig(tree);
  for (const d of ['tmp', 'run', 'var/tmp', 'var/log', 'proc', 'sys', 'dev'])
    mkdirSync(join(tree, d), { recursive: true });
  chmodSync(join(tree, 'tmp'), 0o1777);
  chmodSync(join(tree, 'var/tmp'), 0o1777);
  writeFileSync(join(tree, 'etc', 'passwd'), 'root:x:0:0:root:/root:/usr/sbin/nologin\n');
  writeFileSync(join(tree, 'etc', 'group'), 'root:x:0:\n');
  return tree;
}

/** Tracked files of a code directory that run in production: no tests, no test helpers. */
function codeFiles(): string[] {
  const tracked = execFileSync('git', ['-C', ROOT, 'ls-files', '-z', '--', ...CODE_DIRS, 'package.json'], {
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f !== '');
  return tracked.filter(
    (f) =>
      !/\.test\.ts$/.test(f) &&
      !f.startsWith('cli/lab/') &&
      !/(^|\/)(test|tests|testdata|__tests__)\//.test(f) &&
      existsSync(join(ROOT, f)),
  );
}

/** Top-level production packages (`npm ls --omit=dev`); nested node_modules come with their parent. */
function productionPackages(): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const top = join(ROOT, 'node_modules');
  return [
    ...new Set(
      out
        .split('\n')
        .filter((p) => p.startsWith(`${top}/`))
        .map((p) => relative(top, p).split('/node_modules/')[0]!),
    ),
  ].sort();
}

/** netloom's own layer: Node, the code, its production dependencies, the CNI shim. */
async function netloomTree(work: string): Promise<string> {
  const tree = staged(work, 'netloom');
  const app = join(tree, 'opt', 'netloom');
  for (const f of codeFiles()) {
    mkdirSync(dirname(join(app, f)), { recursive: true });
    cpSync(join(ROOT, f), join(app, f));
  }
  for (const pkg of productionPackages()) {
    cpSync(join(ROOT, 'node_modules', pkg), join(app, 'node_modules', pkg), {
      recursive: true,
      dereference: false,
    });
  }
  mkdirSync(join(app, 'deploy'), { recursive: true });
  cpSync(join(ROOT, 'deploy', 'netloom.conflist'), join(app, 'deploy', 'netloom.conflist'));
  const node = join(ROOT, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(node)) throw new ImageError(`${node} is missing: run npm ci (devDependency node)`);
  mkdirSync(join(tree, 'usr', 'local', 'bin'), { recursive: true });
  cpSync(node, join(tree, 'usr', 'local', 'bin', 'node'), { dereference: true });
  // The shim runs on the node, under the copy of this Node that install-cni puts in /opt/netloom/bin.
  await buildCni(join(app, 'dist', 'netloom-cni'), {
    runtime: 'node',
    runtimePath: '/opt/netloom/bin/node',
    cacheDir: '/var/tmp/netloom-cni-compile-cache',
  });
  return tree;
}

export interface BuiltImages {
  pause?: WrittenImage;
  netloom?: WrittenImage;
}

export async function buildImages(outDir = IMAGE_DIR, only?: 'pause' | 'netloom'): Promise<BuiltImages> {
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'netloom-image-'));
  const built: BuiltImages = {};
  try {
    if (only !== 'netloom') {
      built.pause = await writeImage({
        name: PAUSE_IMAGE,
        layers: [await pauseTree(work)],
        entrypoint: ['/bin/sleep', '2147483647'],
        env: ['PATH=/bin'],
        out: join(outDir, PAUSE_ARCHIVE),
      });
    }
    if (only !== 'pause') {
      built.netloom = await writeImage({
        name: NETLOOM_IMAGE,
        layers: [await debianTree(work), await netloomTree(work)],
        entrypoint: ['/usr/local/bin/node', '/opt/netloom/cli/netloom.ts'],
        env: [PATH_ENV],
        workingDir: '/opt/netloom',
        out: join(outDir, NETLOOM_ARCHIVE),
      });
    }
    return built;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const only = arg('--only');
  if (only !== undefined && only !== 'pause' && only !== 'netloom') {
    console.error(`image: --only ${only} is neither pause nor netloom`);
    process.exit(2);
  }
  const t0 = performance.now();
  try {
    const built = await buildImages(resolve(arg('--out-dir') ?? IMAGE_DIR), only);
    for (const img of [built.pause, built.netloom]) {
      if (img)
        console.log(
          `image: ${img.name} → ${img.out} (${(img.size / 1e6).toFixed(1)} MB, ${img.manifest.digest})`,
        );
    }
    console.log(`image: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`image: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
