// `npm run image` (scripts/image.ts): both OCI archives are built from Debian packages and the
// project, imported by a real containerd (a throwaway one: own root, state and socket) with
// `ctr images import`, and containers from them run under runc: busybox's `true` (and `false`,
// so a container that fails is seen failing), and in the netloom image Node 24, iproute2,
// nftables, `netloom --help` and the chained reference CNI plugins (VERSION). The archive's structure is checked against digests computed
// here from its bytes, not taken from the writer.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerdConfig } from '../cli/lab/containerd.ts';
import {
  buildImages,
  chainedPlugins,
  NETLOOM_IMAGE,
  PAUSE_IMAGE,
  type BuiltImages,
} from '../scripts/image.ts';
import { sleep } from '../lib/timing.ts';
import { containerdAvailable, skipUnless } from './harness/availability.ts';

const execFileP = promisify(execFile);
const skip = skipUnless('image', containerdAvailable());

async function ctr(sock: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await execFileP('ctr', ['-a', sock, '-n', 'k8s.io', ...args], {
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Reads one member of a tar archive with GNU tar (an independent reader). */
async function member(archive: string, name: string): Promise<Buffer> {
  const { stdout } = await execFileP('tar', ['-xOf', archive, name], {
    encoding: 'buffer',
    maxBuffer: 512 * 1024 * 1024,
  });
  return stdout;
}

describe.skipIf(skip)('npm run image: OCI archives without Docker', () => {
  let dir = '';
  let built: BuiltImages = {};
  let containerd: ChildProcess | undefined;
  let sock = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netloom-image-test-'));
    built = await buildImages(join(dir, 'out'));
    sock = join(dir, 'containerd.sock');
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      containerdConfig({
        root: join(dir, 'root'),
        state: join(dir, 'state'),
        socket: sock,
        cniBinDir: join(dir, 'cni-bin'),
        cniConfDir: join(dir, 'cni-conf'),
        sandboxImage: PAUSE_IMAGE,
      }),
    );
    containerd = spawn('containerd', ['--config', config], { stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    while ((await ctr(sock, ['version'])).code !== 0) {
      if (Date.now() > deadline) throw new Error('containerd did not answer on its socket in 30 s');
      await sleep(200);
    }
  }, 900_000);

  afterAll(async () => {
    if (containerd?.pid) {
      containerd.kill('SIGTERM');
      await new Promise((r) => containerd?.once('exit', r));
    }
    // containerd's shm and rootfs mounts live under its state and root directories.
    if (dir) {
      await execFileP('sh', [
        '-c',
        `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`,
      ]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes an image layout whose config names each layer by the digest of its bytes', async () => {
    for (const img of [built.pause!, built.netloom!]) {
      const index = JSON.parse((await member(img.out, './index.json')).toString()) as {
        manifests: { digest: string; annotations: Record<string, string> }[];
      };
      expect(index.manifests).toHaveLength(1);
      expect(index.manifests[0]!.annotations['io.containerd.image.name']).toBe(img.name);
      const blob = (d: string): Promise<Buffer> => member(img.out, `./blobs/sha256/${d.slice(7)}`);
      const manifestBytes = await blob(index.manifests[0]!.digest);
      expect(`sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`).toBe(
        index.manifests[0]!.digest,
      );
      const manifest = JSON.parse(manifestBytes.toString()) as {
        config: { digest: string };
        layers: { digest: string; size: number }[];
      };
      const config = JSON.parse((await blob(manifest.config.digest)).toString()) as {
        rootfs: { diff_ids: string[] };
      };
      const layerDigests: string[] = [];
      for (const l of manifest.layers) {
        const bytes = await blob(l.digest);
        expect(bytes.length).toBe(l.size);
        layerDigests.push(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
      }
      expect(config.rootfs.diff_ids).toEqual(layerDigests);
    }
  });

  it('keeps tests, benchmarks and dev dependencies out of the netloom image', async () => {
    const index = JSON.parse((await member(built.netloom!.out, './index.json')).toString()) as {
      manifests: { digest: string }[];
    };
    const manifest = JSON.parse(
      (await member(built.netloom!.out, `./blobs/sha256/${index.manifests[0]!.digest.slice(7)}`)).toString(),
    ) as { layers: { digest: string }[] };
    const top = manifest.layers.at(-1)!.digest.slice(7);
    const layer = join(dir, 'top.tar');
    writeFileSync(layer, await member(built.netloom!.out, `./blobs/sha256/${top}`));
    const { stdout } = await execFileP('tar', ['-tf', layer], { maxBuffer: 64 * 1024 * 1024 });
    const files = stdout.split('\n');
    expect(files).toContain('./opt/netloom/cli/netloom.ts');
    expect(files).toContain('./opt/netloom/dist/netloom-cni');
    expect(files.some((f) => f.startsWith('./opt/netloom/node_modules/zod/'))).toBe(true);
    // The project's own tests; packages may ship theirs (zod does), which nothing runs.
    expect(files.filter((f) => f.endsWith('.test.ts') && !f.includes('/node_modules/'))).toEqual([]);
    expect(files.filter((f) => /node_modules\/(vitest|typescript|eslint|bun)\//.test(f))).toEqual([]);
    expect(files.filter((f) => /^\.\/opt\/netloom\/(test|bench|cli\/lab)\//.test(f))).toEqual([]);
  });

  it('imports both archives into containerd', async () => {
    for (const img of [built.pause!, built.netloom!]) {
      const res = await ctr(sock, ['images', 'import', '--all-platforms', img.out]);
      expect(res.code, res.out).toBe(0);
    }
    const listed = (await ctr(sock, ['images', 'ls', '-q'])).out.split('\n');
    expect(listed).toContain(PAUSE_IMAGE);
    expect(listed).toContain(NETLOOM_IMAGE);
  });

  it('runs busybox: true succeeds, false fails', async () => {
    expect((await ctr(sock, ['run', '--rm', PAUSE_IMAGE, 'img-true', 'true'])).code).toBe(0);
    expect((await ctr(sock, ['run', '--rm', PAUSE_IMAGE, 'img-false', 'false'])).code).not.toBe(0);
  });

  it('runs Node 24, iproute2, nftables and netloom in the netloom image', async () => {
    const run = async (id: string, ...cmd: string[]): Promise<string> => {
      const res = await ctr(sock, ['run', '--rm', NETLOOM_IMAGE, id, ...cmd]);
      expect(res.code, res.out).toBe(0);
      return res.out;
    };
    expect(await run('img-node', 'node', '--version')).toMatch(/^v24\./);
    expect(await run('img-ip', 'ip', '-V')).toMatch(/iproute2/);
    expect(await run('img-nft', 'nft', '--version')).toMatch(/nftables v\d/);
    expect(await run('img-openssl', 'openssl', 'version')).toMatch(/^OpenSSL \d/);
    expect(await run('img-netloom', 'node', '/opt/netloom/cli/netloom.ts', '--help')).toMatch(/install-cni/);
    for (const plugin of chainedPlugins()) {
      const res = await ctr(sock, [
        'run',
        '--rm',
        '--env',
        'CNI_COMMAND=VERSION',
        NETLOOM_IMAGE,
        `img-${plugin}`,
        `/usr/lib/cni/${plugin}`,
      ]);
      expect(res.code, res.out).toBe(0);
      expect(res.out).toMatch(/"supportedVersions"/);
    }
  });
});
