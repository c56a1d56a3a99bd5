// Writes that only land while a condition on other keys still holds: every transaction carries
// the same compares, so a writer that lost its claim (a leader whose key was taken over, a
// status key that was wiped) cannot write a single op more. Batched like Store.write.
import { ConflictError } from '../errors.ts';
import { storeError, type Store, type WriteOp } from './store.ts';

/** A compare every transaction carries: the key's create or mod revision equals the given one. */
export interface Guard {
  key: string;
  createRevision?: number;
  modRevision?: number;
}

/** A guard did not hold: nothing of that transaction was written. */
export class GuardFailedError extends ConflictError {}

function compares(guards: readonly Guard[]): object[] {
  return guards.flatMap((g) => {
    const key = Buffer.from(g.key);
    const out: object[] = [];
    if (g.createRevision !== undefined)
      out.push({ key, target: 'Create', result: 'Equal', create_revision: g.createRevision });
    if (g.modRevision !== undefined)
      out.push({ key, target: 'Mod', result: 'Equal', mod_revision: g.modRevision });
    return out;
  });
}

/**
 * The requests of one transaction. Keys and values are views into one buffer per transaction:
 * hundreds of small Buffers per txn fragment the C heap.
 */
function requests(ops: readonly WriteOp[]): object[] {
  let size = 0;
  for (const op of ops)
    size += Buffer.byteLength(op.key) + (op.type === 'put' ? Buffer.byteLength(op.value) : 0);
  const buf = Buffer.allocUnsafeSlow(size);
  let at = 0;
  const view = (text: string): Buffer => {
    const n = buf.write(text, at);
    at += n;
    return buf.subarray(at - n, at);
  };
  return ops.map((op) =>
    op.type === 'put'
      ? {
          request_put: { key: view(op.key), value: view(op.value), ...(op.lease ? { lease: op.lease } : {}) },
        }
      : { request_delete_range: { key: view(op.key) } },
  );
}

async function txn(store: Store, ops: readonly WriteOp[], compare: object[]): Promise<number> {
  let res;
  try {
    res = await store.client.kv.txn({ compare, success: requests(ops), failure: [] });
  } catch (err) {
    throw storeError(`guarded write of ${ops.length} keys`, err);
  }
  if (!res.succeeded)
    throw new GuardFailedError(`guarded write of ${ops.length} keys refused: a guard no longer holds`);
  return Number(res.header.revision);
}

/**
 * Applies `ops` (keys unique) in transactions of at most store.maxTxnOps ops, `concurrency` in
 * flight, each guarded by `guards`. Resolves with the highest revision written; rejects with
 * GuardFailedError when a guard failed, or a StoreError. After the first failure no new chunk
 * starts, and the rejection comes only once every chunk in flight has settled, so a caller that
 * resyncs next never races its own writes. Some chunks may have landed: callers resync.
 */
export async function writeGuarded(
  store: Store,
  ops: readonly WriteOp[],
  guards: readonly Guard[],
  concurrency = 8,
): Promise<number> {
  const compare = compares(guards);
  const size = store.maxTxnOps;
  let next = 0;
  let highest = 0;
  let failure: Error | undefined;
  const worker = async (): Promise<void> => {
    while (next < ops.length && failure === undefined) {
      const chunk = ops.slice(next, next + size);
      next += size;
      try {
        const revision = await txn(store, chunk, compare);
        highest = Math.max(highest, revision);
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error(String(err));
      }
    }
  };
  const workers = Math.min(concurrency, Math.ceil(ops.length / size));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure !== undefined) throw failure;
  return highest;
}
