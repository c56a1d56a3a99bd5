// Replacing a file so that a crash (of the process or the machine) leaves either the old content
// or the new one, never a torn or empty file: write a temp file in the same directory (rename is
// atomic only within one file system), fsync it (else the rename can reach the disk before the
// data), rename it over the target, fsync the directory (else the rename itself can be lost).
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Permission bits of the new file, set exactly (not filtered by the umask). Default 0o644 less the umask. */
  mode?: number;
  /**
   * false: skip both fsyncs. The replacement is still atomic for every reader and survives the
   * writer's crash (the page cache outlives the process); only a machine crash may leave the
   * old content, or an empty file, behind. For state that a machine crash makes moot anyway.
   */
  durable?: boolean;
}

/**
 * The temp file's name: beside the target, unique per call (two writers of one file must not
 * share a temp file), ending in `.tmp` so that directory scanners can tell and remove leftovers.
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Atomically replaces `path` with `data`; the directory must exist. The temp file is removed on failure. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
    try {
      if (opts.mode !== undefined) await fh.chmod(opts.mode);
      await fh.writeFile(data);
      if (opts.durable !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (opts.durable !== false) await syncDir(dirname(path));
}

/** The same for callers that cannot await (a synchronous flush, a CLI step). */
export function writeFileAtomicSync(
  path: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): void {
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'wx', opts.mode ?? 0o644);
    try {
      if (opts.mode !== undefined) fchmodSync(fd, opts.mode);
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
      if (opts.durable !== false) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if (opts.durable !== false) syncDirSync(dirname(path));
}

/** Makes a rename or unlink in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export function syncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
