// One state file per stolen interface, <dir>/<ifname>.json, written atomically (lib/atomic-file.ts)
// so a crash leaves either the old or the new record, never a torn one. The record is written
// before the kernel is touched.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir, writeFileAtomic } from '../lib/atomic-file.ts';
import { errorMessage } from '../lib/errors.ts';
import { StateFileError } from './errors.ts';
import type { StateRecord } from './model.ts';

const SUFFIX = '.json';

export class StateStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(name: string): string {
    return join(this.dir, name + SUFFIX);
  }

  async write(record: StateRecord): Promise<void> {
    const path = this.pathOf(record.interface.name);
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(path, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
    } catch (err) {
      throw new StateFileError(`cannot write state file ${path}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await rm(this.pathOf(name), { force: true });
      await syncDir(this.dir);
    } catch (err) {
      throw new StateFileError(`cannot remove state file ${this.pathOf(name)}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  async read(name: string): Promise<StateRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathOf(name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StateFileError(`cannot read state file ${this.pathOf(name)}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    return parseRecord(text, this.pathOf(name));
  }

  /** Every record in the directory; leftover temp files from a crash are removed. */
  async list(): Promise<StateRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new StateFileError(`cannot list ${this.dir}: ${errorMessage(err)}`, { cause: err });
    }
    const records: StateRecord[] = [];
    for (const n of names.sort()) {
      if (n.endsWith('.tmp')) await rm(join(this.dir, n), { force: true });
      else if (n.endsWith(SUFFIX)) {
        const rec = await this.read(n.slice(0, -SUFFIX.length));
        if (rec) records.push(rec);
      }
    }
    return records;
  }
}

function parseRecord(text: string, path: string): StateRecord {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(`state file ${path} is not JSON`, { cause: err });
  }
  const rec = data as Partial<StateRecord> | null;
  const ok =
    rec !== null &&
    typeof rec === 'object' &&
    rec.version === 1 &&
    (rec.phase === 'stealing' || rec.phase === 'stolen' || rec.phase === 'releasing') &&
    typeof rec.since === 'string' &&
    typeof rec.interface?.name === 'string' &&
    Array.isArray(rec.interface.addresses) &&
    Array.isArray(rec.interface.routes);
  if (!ok) throw new StateFileError(`state file ${path} does not hold a version 1 STN record`);
  return rec as StateRecord;
}
