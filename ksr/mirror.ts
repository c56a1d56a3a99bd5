// The mirror: what etcd should hold (want, from Kubernetes) beside what it does hold as far as
// this process knows (have, from its own confirmed writes and its last full read). Keys whose
// two sides may differ are dirty; a flush writes exactly those that differ, so an unchanged
// object never rewrites its key and a burst of changes to one key costs one write.
// Pure state, no I/O: the syncer drives it.
import type { K8sKind } from '../lib/keyspace.ts';
import type { WriteOp } from '../lib/etcd/store.ts';

/** `have` entry for a key etcd holds with a value other than the wanted one. */
const STALE = '\u0000stale';

/** A planned write: the op plus what the mirror needs to confirm it. */
export interface PlannedWrite {
  op: WriteOp;
  /** 'unknown' for a leftover key of no family (KSR owns the whole k8s/ prefix and removes it). */
  kind: K8sKind | 'unknown';
  /** ms timestamp of the first change still pending on this key; 0 when none (a resync). */
  since: number;
}

export interface Confirmed {
  kind: K8sKind | 'unknown';
  /** ms from the first pending change to the confirmed write; undefined for resync writes. */
  latencyMs: number | undefined;
}

export class Mirror {
  private readonly want = new Map<string, { readonly kind: K8sKind; value: string }>();
  private have = new Map<string, string>();
  /** key → ms of its first unwritten change (0 for keys dirty because of a resync). */
  private readonly dirty = new Map<string, number>();
  private readonly counts = new Map<K8sKind, number>();
  /**
   * Keys whose wanted value no etcd transaction can carry: left out of the dirty set (etcd
   * keeps what it had) until the value changes to one that fits or the key goes.
   */
  private readonly tooLarge = new Map<string, K8sKind | 'unknown'>();
  /**
   * Dirty keys planned and not yet confirmed or released: not planned again meanwhile, so two
   * writes of one key are never in flight together (they could land out of order).
   */
  private readonly inFlight = new Set<string>();
  /** Bumped whenever the set of keys too large changes (the syncer updates its gauge then). */
  tooLargeChanges = 0;
  private nextHave: Map<string, string> | undefined;
  private readonly kindOf: (key: string) => K8sKind | undefined;
  /** Called when a key becomes dirty: wakes the syncer. */
  onDirty: () => void = () => {};

  /** `kindOf` parses a key's family (the keyspace's job): it labels deletes of leftovers. */
  constructor(kindOf: (key: string) => K8sKind | undefined) {
    this.kindOf = kindOf;
  }

  /** Sets (value) or clears (undefined) the wanted value of a key. */
  set(kind: K8sKind, key: string, value: string | undefined, now = Date.now()): void {
    const prev = this.want.get(key);
    if (value === undefined) {
      if (!prev) return;
      this.want.delete(key);
      this.counts.set(prev.kind, (this.counts.get(prev.kind) ?? 1) - 1);
    } else if (prev) {
      if (prev.value === value) return;
      prev.value = value;
    } else {
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
      this.want.set(key, { kind, value });
    }
    const since = this.dirty.get(key);
    if (since === undefined || since === 0) this.dirty.set(key, now);
    this.onDirty();
  }

  get(key: string): string | undefined {
    return this.want.get(key)?.value;
  }

  /** Whether a value is wanted for this key. */
  has(key: string): boolean {
    return this.want.has(key);
  }

  /** Keys wanted of one kind. */
  count(kind: K8sKind): number {
    return this.counts.get(kind) ?? 0;
  }

  /** Wanted keys under a prefix (used to sweep what a relist no longer has). */
  *keysUnder(prefix: string): Generator<string> {
    for (const key of this.want.keys()) if (key.startsWith(prefix)) yield key;
  }

  /** Objects wanted per kind. */
  countsByKind(): Record<string, number> {
    return Object.fromEntries([...this.counts].filter(([, n]) => n > 0).sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  get size(): number {
    return this.want.size;
  }

  /** How many keys etcd holds under the mirrored prefix, as far as the mirror knows. */
  get haveSize(): number {
    return this.have.size;
  }

  get hasDirty(): boolean {
    return this.dirty.size > 0;
  }

  /** Keys to look at (some may turn out equal), in flight or not. */
  get dirtyCount(): number {
    return this.dirty.size;
  }

  /** Dirty keys not in flight: what a plan can look at now. */
  get pendingCount(): number {
    return this.dirty.size - this.inFlight.size;
  }

  /** Starts a full read of etcd: `absorb` every page, then `endFullRead`. */
  beginFullRead(): void {
    this.nextHave = new Map();
  }

  /** One page of what etcd holds under the mirrored prefix. */
  absorb(kvs: Iterable<{ key: string; value: string }>): void {
    const next = this.nextHave;
    if (!next) throw new Error('absorb outside a full read');
    for (const { key, value } of kvs) {
      const want = this.want.get(key)?.value;
      // Equal values keep the wanted string, so the copy read from etcd can be collected; a key
      // the feeds have not listed yet keeps etcd's value, to be compared when they do (a new
      // leader reads etcd while its feeds still list); a differing one is only marked stale.
      next.set(key, want === undefined ? value : want === value ? want : STALE);
    }
  }

  /**
   * Ends a full read: etcd's content replaces `have`, and every key that differs is dirty.
   * `forgetTimes` turns pending changes into resync writes (a new leader's first sync is not
   * event latency).
   */
  endFullRead(forgetTimes = false): void {
    const next = this.nextHave;
    if (!next) throw new Error('endFullRead without beginFullRead');
    this.nextHave = undefined;
    this.have = next;
    if (forgetTimes) for (const key of this.dirty.keys()) this.dirty.set(key, 0);
    for (const [key, { value }] of this.want)
      if (next.get(key) !== value && !this.dirty.has(key)) this.dirty.set(key, 0);
    for (const key of next.keys()) if (!this.want.has(key) && !this.dirty.has(key)) this.dirty.set(key, 0);
  }

  /** Abandons a full read that failed; `have` is unchanged (and will be reread). */
  abortFullRead(): void {
    this.nextHave = undefined;
  }

  /**
   * The writes that make etcd equal to want for the dirty keys (at most `limit`; writes
   * `writable` refuses stay pending — during a fill, deletes and not-yet-final keys). Dirty keys
   * that turn out equal are settled on the spot. Planned keys are in flight until `confirm` or
   * `release`; keys in flight are not planned again.
   */
  plan(
    limit = Infinity,
    writable: (type: WriteOp['type'], kind: K8sKind | 'unknown') => boolean = () => true,
  ): PlannedWrite[] {
    const out: PlannedWrite[] = [];
    for (const [key, since] of this.dirty) {
      if (out.length >= limit) break;
      if (this.inFlight.has(key)) continue;
      const want = this.want.get(key);
      const have = this.have.get(key);
      if (want?.value === have) {
        // Equal: point `have` at the wanted string so a copy read from etcd can be collected.
        if (want) this.have.set(key, want.value);
        this.dirty.delete(key);
        if (this.tooLarge.delete(key)) this.tooLargeChanges++;
        continue;
      }
      if (want) {
        if (writable('put', want.kind))
          out.push({ op: { type: 'put', key, value: want.value }, kind: want.kind, since });
        continue;
      }
      const kind = this.kindOf(key) ?? 'unknown';
      if (writable('delete', kind)) out.push({ op: { type: 'delete', key }, kind, since });
    }
    for (const w of out) this.inFlight.add(w.op.key);
    return out;
  }

  /** Hands back planned writes that were not written: their keys stay dirty, to be planned again. */
  release(writes: readonly PlannedWrite[]): void {
    for (const w of writes) this.inFlight.delete(w.op.key);
  }

  /** Records writes etcd accepted; keys changed again meanwhile stay dirty. */
  confirm(writes: readonly PlannedWrite[], now = Date.now()): Confirmed[] {
    return writes.map(({ op, kind, since }) => {
      if (op.type === 'put') this.have.set(op.key, op.value);
      else this.have.delete(op.key);
      this.inFlight.delete(op.key);
      if (this.tooLarge.delete(op.key)) this.tooLargeChanges++;
      const want = this.want.get(op.key)?.value;
      const settled = op.type === 'put' ? want === op.value : want === undefined;
      if (settled) this.dirty.delete(op.key);
      return { kind, latencyMs: since > 0 ? now - since : undefined };
    });
  }

  /**
   * Sets aside planned puts too large for any transaction: they leave the dirty set (so they
   * neither hold up readiness nor the heartbeat's key count) until their value changes again.
   * Returns those not already set aside, so each is reported once.
   */
  setAside(writes: readonly PlannedWrite[]): PlannedWrite[] {
    const fresh: PlannedWrite[] = [];
    for (const w of writes) {
      this.inFlight.delete(w.op.key);
      if (w.op.type === 'put' && this.want.get(w.op.key)?.value === w.op.value) this.dirty.delete(w.op.key);
      if (!this.tooLarge.has(w.op.key)) fresh.push(w);
      if (this.tooLarge.get(w.op.key) !== w.kind) this.tooLargeChanges++;
      this.tooLarge.set(w.op.key, w.kind);
    }
    return fresh;
  }

  /** Keys set aside as too large, per kind. */
  tooLargeByKind(): Map<K8sKind | 'unknown', number> {
    const out = new Map<K8sKind | 'unknown', number>();
    for (const kind of this.tooLarge.values()) out.set(kind, (out.get(kind) ?? 0) + 1);
    return out;
  }
}
