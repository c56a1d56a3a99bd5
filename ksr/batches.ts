// Transactions etcd accepts: at most --max-txn-ops ops AND at most --max-request-bytes of
// request. Batching by op count alone let 128 large values (endpoints of big services) make a
// transaction etcd refuses ("request is too large") on every retry, so the leader never became
// ready. The planner here is pure: sizes in, batches out; what cannot fit any transaction is
// handed back for the caller to skip.
import type { Guard } from '../lib/etcd/guarded-write.ts';
import type { WriteOp } from '../lib/etcd/store.ts';

export interface TxnLimits {
  /** Ops per transaction (etcd's --max-txn-ops). */
  maxOps: number;
  /** Bytes per transaction request, framing included (below etcd's --max-request-bytes). */
  maxBytes: number;
}

/** etcd's default --max-request-bytes: 1.5 MiB. */
export const ETCD_MAX_REQUEST_BYTES = 1_572_864;

/**
 * The default transaction budget: etcd's default limit less 64 KiB. The estimate below counts
 * every txn field netloom sends as an upper bound; the headroom covers what etcd itself adds
 * before it checks the size (the raft request header: request ID, user name, auth revision).
 */
export const DEFAULT_MAX_TXN_BYTES = ETCD_MAX_REQUEST_BYTES - 64 * 1024;

/**
 * Protobuf framing one op adds, at most: a tag and a length (≤ 5 bytes for anything under
 * 4 GiB) for the RequestOp in the txn, for its request_put/request_delete_range, for the key
 * and for the value, plus a lease (tag and a 10-byte varint).
 */
const OP_FRAMING = 4 * 6 + 11;

/** Framing of one guard: the compare's wrapper, target, result and revision (a 10-byte varint). */
const GUARD_FRAMING = 6 + 2 + 2 + 11 + 6;

/** The txn's own framing inside etcd's raft request (its tag and length, the header's fields). */
const TXN_FRAMING = 64;

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Upper bound of the bytes `op` adds to a transaction request. */
export function opBytes(op: WriteOp): number {
  return OP_FRAMING + utf8(op.key) + (op.type === 'put' ? utf8(op.value) : 0);
}

/** Upper bound of the bytes every transaction carries before its first op (framing, guards). */
export function txnBaseBytes(guards: readonly Guard[]): number {
  let bytes = TXN_FRAMING;
  for (const g of guards) {
    if (g.createRevision !== undefined) bytes += GUARD_FRAMING + utf8(g.key);
    if (g.modRevision !== undefined) bytes += GUARD_FRAMING + utf8(g.key);
  }
  return bytes;
}

export interface BatchPlan<T> {
  /** Each within both limits, in the input order. */
  batches: T[][];
  /** Items that exceed the byte budget alone: no transaction can carry them. */
  tooLarge: T[];
}

/**
 * Splits `items` into transactions of at most `maxOps` items and `maxBytes` bytes (counting
 * `baseBytes` once per transaction), in order: an item starts a new batch when the current one
 * is full by either measure. So an item that fits the budget alone but not beside others gets
 * a batch of its own, and one that does not fit alone is returned in `tooLarge`.
 */
export function planBatches<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  limits: TxnLimits,
  baseBytes = 0,
): BatchPlan<T> {
  if (!(limits.maxOps >= 1)) throw new RangeError(`maxOps must be at least 1, got ${limits.maxOps}`);
  const room = limits.maxBytes - baseBytes;
  const batches: T[][] = [];
  const tooLarge: T[] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (size > room) {
      tooLarge.push(item);
      continue;
    }
    if (current.length === limits.maxOps || used + size > room) {
      batches.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += size;
  }
  if (current.length > 0) batches.push(current);
  return { batches, tooLarge };
}
