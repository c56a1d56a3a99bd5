// An OCI image layout (image-spec 1.1) written as a tar archive, from directory trees: each tree
// one uncompressed layer made by GNU tar with fixed owner, order and times (the same tree gives
// the same digest), the config with `rootfs.diff_ids` (an uncompressed layer's digest is its
// diff id), the manifest, and index.json naming the image for containerd
// (`io.containerd.image.name`) and for OCI tools (`org.opencontainers.image.ref.name`). A
// Docker-style manifest.json beside them lets `docker load` of any version read the same file.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ImageError } from './image-debs.ts';

const execFileP = promisify(execFile);

export interface ImageSpec {
  /** Full reference, e.g. `localhost/netloom/netloom:dev`. */
  name: string;
  /** Directory trees, bottom layer first. */
  layers: string[];
  entrypoint: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  /** Archive to write (replaced atomically). */
  out: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface WrittenImage {
  out: string;
  name: string;
  manifest: Descriptor;
  layers: Descriptor[];
  /** The archive's size in bytes. */
  size: number;
}

/** Layer timestamps: SOURCE_DATE_EPOCH when given (reproducible builds), else the epoch. */
function epoch(): number {
  const s = Number(process.env['SOURCE_DATE_EPOCH']);
  return Number.isInteger(s) && s >= 0 ? s : 0;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Deterministic tar of a tree's contents (paths relative to it, root-owned, fixed times). */
async function tarTree(dir: string, out: string): Promise<void> {
  try {
    await execFileP(
      'tar',
      [
        '--create',
        `--file=${out}`,
        `--directory=${dir}`,
        '--sort=name',
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        `--mtime=@${epoch()}`,
        '--format=pax',
        '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
        '.',
      ],
      { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
    );
  } catch (err) {
    throw new ImageError(`tar of ${dir}: ${(err as { stderr?: string }).stderr ?? String(err)}`, {
      cause: err,
    });
  }
}

/** Moves a file into blobs/sha256/ under its digest. */
async function addBlobFile(layout: string, path: string, mediaType: string): Promise<Descriptor> {
  const hex = await sha256File(path);
  renameSync(path, join(layout, 'blobs', 'sha256', hex));
  return { mediaType, digest: `sha256:${hex}`, size: statSync(join(layout, 'blobs', 'sha256', hex)).size };
}

function addBlobJson(layout: string, value: unknown, mediaType: string): Descriptor {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

const MT = {
  layer: 'application/vnd.oci.image.layer.v1.tar',
  config: 'application/vnd.oci.image.config.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
};

/** The tag part of a reference (`…:dev` → `dev`; none → `latest`). */
function tagOf(name: string): string {
  const last = name.slice(name.lastIndexOf('/') + 1);
  const i = last.lastIndexOf(':');
  return i < 0 ? 'latest' : last.slice(i + 1);
}

export async function writeImage(spec: ImageSpec): Promise<WrittenImage> {
  mkdirSync(dirname(spec.out), { recursive: true });
  const layout = mkdtempSync(join(dirname(spec.out), '.oci-'));
  try {
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    const layers: Descriptor[] = [];
    for (const [i, tree] of spec.layers.entries()) {
      const tmp = join(layout, `layer-${i}.tar`);
      await tarTree(tree, tmp);
      layers.push(await addBlobFile(layout, tmp, MT.layer));
    }
    const created = new Date(epoch() * 1000).toISOString();
    const config = addBlobJson(
      layout,
      {
        created,
        architecture: 'amd64',
        os: 'linux',
        config: {
          Entrypoint: spec.entrypoint,
          ...(spec.cmd ? { Cmd: spec.cmd } : {}),
          Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
        },
        // Layers are stored uncompressed, so each diff id is the layer's own digest.
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
        history: layers.map(() => ({ created, created_by: 'netloom scripts/image.ts' })),
      },
      MT.config,
    );
    const manifest = addBlobJson(
      layout,
      { schemaVersion: 2, mediaType: MT.manifest, config, layers },
      MT.manifest,
    );
    const index = {
      schemaVersion: 2,
      mediaType: MT.index,
      manifests: [
        {
          ...manifest,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: {
            'io.containerd.image.name': spec.name,
            'org.opencontainers.image.ref.name': tagOf(spec.name),
          },
        },
      ],
    };
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const hexOf = (d: Descriptor): string => `blobs/sha256/${d.digest.slice('sha256:'.length)}`;
    writeFileSync(
      join(layout, 'manifest.json'),
      JSON.stringify([{ Config: hexOf(config), RepoTags: [spec.name], Layers: layers.map(hexOf) }]),
    );
    const tmpOut = `${spec.out}.tmp`;
    await tarTree(layout, tmpOut);
    renameSync(tmpOut, spec.out);
    return { out: spec.out, name: spec.name, manifest, layers, size: statSync(spec.out).size };
  } finally {
    rmSync(layout, { recursive: true, force: true });
  }
}
