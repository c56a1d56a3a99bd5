// The ksr/status value (netloom.model.v1.KsrStatus as JSON): who leads, when the last full
// sync finished and at which etcd revision, objects per kind, and a heartbeat time.
import type { KsrStatus } from '../proto/gen/netloom/model/v1/KsrStatus.ts';
import { compact, toJson } from './convert/common.ts';

export interface StatusFields {
  leader: string;
  lastFullSync?: Date | undefined;
  lastFullSyncRevision?: number | undefined;
  counts: Record<string, number>;
  heartbeat: Date;
}

export function statusValue(f: StatusFields): string {
  const counts = Object.keys(f.counts).length > 0 ? f.counts : undefined;
  const status: KsrStatus = compact({
    leader: f.leader,
    lastFullSync: f.lastFullSync?.toISOString(),
    lastFullSyncRevision: f.lastFullSyncRevision ? String(f.lastFullSyncRevision) : undefined,
    counts,
    heartbeat: f.heartbeat.toISOString(),
  });
  return toJson(status);
}

/**
 * Watches for signs that etcd lost or rewound data behind this writer's back: a response
 * revision lower than one already seen (a restore from an older backup, a new empty cluster).
 */
export class RevisionTracker {
  private highest = 0;

  /** The highest revision seen so far. */
  get seen(): number {
    return this.highest;
  }

  /**
   * Records a revision; returns true when it went backwards (and starts over from it).
   * `floor`: the highest revision seen when the request was sent. With requests overlapping,
   * only that one is a bound (a response to an earlier request may carry a lower revision than
   * one to a later request that answered first).
   */
  observe(revision: number, floor = this.highest): boolean {
    if (revision <= 0) return false;
    const back = revision < floor;
    this.highest = back ? revision : Math.max(this.highest, revision);
    return back;
  }

  reset(): void {
    this.highest = 0;
  }
}
