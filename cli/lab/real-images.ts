// The images a real-node lab imports into every node's containerd (no registry is reachable):
// `npm run image`'s pause/test and netloom archives, and an etcd image for deploy/'s netloom-etcd
// StatefulSet, which names gcr.io/etcd-development/etcd — the lab's own etcd build (static, Go,
// CGO off) in a one-layer image instead, tagged with its version. The lab's kustomization points
// the StatefulSet at it (real-deploy.ts).
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeImage } from '../../scripts/image-oci.ts';
import {
  buildImages,
  IMAGE_DIR,
  NETLOOM_ARCHIVE,
  NETLOOM_IMAGE,
  PAUSE_ARCHIVE,
  PAUSE_IMAGE,
} from '../../scripts/image.ts';
import type { Found } from './binaries.ts';

export interface LabImage {
  name: string;
  archive: string;
}

/** The etcd image made from the lab's etcd binary. */
export function etcdImage(version: string): LabImage {
  return {
    name: `localhost/netloom/etcd:${version}`,
    archive: join(IMAGE_DIR, `etcd-${version}.oci.tar`),
  };
}

/** Every image a real node holds: the pod sandbox, netloom, and (deployed mode) etcd. */
export function labImages(etcdVersion: string): LabImage[] {
  return [
    { name: PAUSE_IMAGE, archive: join(IMAGE_DIR, PAUSE_ARCHIVE) },
    { name: NETLOOM_IMAGE, archive: join(IMAGE_DIR, NETLOOM_ARCHIVE) },
    etcdImage(etcdVersion),
  ];
}

/** Writes the archives that are missing; returns what it built, for the progress line. */
export async function ensureLabImages(etcd: Found): Promise<string[]> {
  if (!etcd.ok) return [];
  const built: string[] = [];
  const missing = labImages(etcd.version).filter((i) => !existsSync(i.archive));
  if (missing.some((i) => i.name === PAUSE_IMAGE || i.name === NETLOOM_IMAGE)) {
    await buildImages();
    built.push('pause', 'netloom');
  }
  const e = etcdImage(etcd.version);
  if (missing.some((i) => i.name === e.name)) {
    const work = mkdtempSync(join(tmpdir(), 'netloom-etcd-image-'));
    try {
      const bin = join(work, 'usr', 'local', 'bin');
      mkdirSync(bin, { recursive: true });
      copyFileSync(etcd.path, join(bin, 'etcd'));
      chmodSync(join(bin, 'etcd'), 0o755);
      // etcd writes nothing outside its data dir, but Go's os.TempDir and a writable /tmp are expected.
      mkdirSync(join(work, 'tmp'), { recursive: true });
      chmodSync(join(work, 'tmp'), 0o1777);
      await writeImage({
        name: e.name,
        layers: [work],
        entrypoint: ['/usr/local/bin/etcd'],
        env: ['PATH=/usr/local/bin:/usr/bin:/bin'],
        out: e.archive,
      });
      built.push('etcd');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return built;
}
