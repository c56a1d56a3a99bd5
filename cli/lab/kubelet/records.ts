// What the node simulator did for each pod, on disk (pods/<uid>.json), so that a restarted (or
// kill -9'd) simulator adopts its pods instead of rebuilding them: like a container runtime's
// sandbox store surviving a kubelet restart.
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../../lib/atomic-file.ts';
import type { PidRecord } from '../daemon.ts';

export interface PodRecord {
  uid: string;
  namespace: string;
  name: string;
  node: string;
  /** Network namespace name (the node's own for hostNetwork pods). */
  netns: string;
  hostNetwork: boolean;
  containerId: string;
  /** `creating` until CNI ADD succeeded and the process started; then `ready`. */
  state: 'creating' | 'ready';
  /** The CNI ADD result, given back as prevResult on DEL. */
  result?: unknown;
  ips: string[];
  process?: PidRecord;
  restartCount: number;
  startedAt: string;
}

export class RecordStore {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  private file(uid: string): string {
    return join(this.dir, `${uid}.json`);
  }

  all(): PodRecord[] {
    const out: PodRecord[] = [];
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as PodRecord);
      } catch {
        rmSync(join(this.dir, f), { force: true });
      }
    }
    return out;
  }

  save(rec: PodRecord): void {
    const f = this.file(rec.uid);
    writeFileAtomicSync(f, JSON.stringify(rec) + '\n');
  }

  remove(uid: string): void {
    rmSync(this.file(uid), { force: true });
    // The pod process's pid file (written beside the record when it was started).
    rmSync(join(this.dir, `${uid}.pid`), { force: true });
  }
}
