// The store: what netloom needs from etcd, over etcd3's raw KV client, fixing what the library
// lacks: writes batched into transactions of at most `maxTxnOps` (etcd's --max-txn-ops, 128 by
// default), prefix reads paginated and pinned to one revision, create-only claims, and a watch
// that resumes from the last processed revision (see watch.ts).
import type { Etcd3 } from 'etcd3';
import { StoreError, errorMessage } from '../errors.ts';
import { watchPrefix, type WatchEvent, type WatchOptions } from './watch.ts';

export type { WatchEvent, WatchOptions };

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}

export type WriteOp =
  { type: 'put'; key: string; value: string; lease?: string } | { type: 'delete'; key: string };

export interface ListOptions {
  /** Keys per range request. */
  pageSize?: number;
  /** Read at this revision; by default the revision of the first page. */
  revision?: number;
}

export interface StoreOptions {
  maxTxnOps?: number;
  /** Transactions in flight at once during a batched write. */
  writeConcurrency?: number;
}

interface RawKv {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  lease: string;
}

/**
 * Keys from `from` up to (not including) `to`: what a prefix is when several adjacent families
 * are read or watched as one, at one revision.
 */
export interface KeyRange {
  from: string;
  to: string;
}

/** A prefix or a range as etcd's key and range_end. */
export function rangeOf(keys: string | KeyRange): { key: Buffer; end: Buffer } {
  return typeof keys === 'string'
    ? { key: Buffer.from(keys), end: prefixEnd(keys) }
    : { key: Buffer.from(keys.from), end: Buffer.from(keys.to) };
}

/** The first key after every key with this prefix (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

const describe = (keys: string | KeyRange): string =>
  typeof keys === 'string' ? keys : `[${keys.from}, ${keys.to})`;

function toKv(raw: RawKv): KeyValue {
  return {
    key: raw.key.toString(),
    value: raw.value.toString(),
    createRevision: Number(raw.create_revision),
    modRevision: Number(raw.mod_revision),
    version: Number(raw.version),
    lease: raw.lease,
  };
}

/** Wraps an etcd3 failure; everything but a rejected request is worth retrying. */
export function storeError(what: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const msg = errorMessage(err);
  const permanent = /InvalidArgument|PermissionDenied|too many operations|duplicate key/i.test(
    `${(err as Error)?.constructor?.name} ${msg}`,
  );
  return new StoreError(`${what}: ${msg}`, { cause: err, retriable: !permanent });
}

function coalesce(ops: readonly WriteOp[]): WriteOp[] {
  const last = new Map<string, WriteOp>();
  for (const op of ops) {
    last.delete(op.key); // keep the order of the last write to each key
    last.set(op.key, op);
  }
  return [...last.values()];
}

export class Store {
  readonly client: Etcd3;
  readonly maxTxnOps: number;
  private readonly writeConcurrency: number;

  constructor(client: Etcd3, options: StoreOptions = {}) {
    this.client = client;
    this.maxTxnOps = options.maxTxnOps ?? 128;
    this.writeConcurrency = options.writeConcurrency ?? 8;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    try {
      const res = await this.client.kv.range({ key: Buffer.from(key) });
      const raw = res.kvs[0];
      return raw ? toKv(raw) : undefined;
    } catch (err) {
      throw storeError(`get ${key}`, err);
    }
  }

  /** The current revision of the store. */
  async revision(): Promise<number> {
    try {
      const res = await this.client.kv.range({ key: Buffer.from([0]), limit: 1, keys_only: true });
      return Number(res.header.revision);
    } catch (err) {
      throw storeError('read revision', err);
    }
  }

  /**
   * Reads a prefix page by page, every page at the same revision, so the result is one
   * consistent snapshot however many keys there are.
   */
  async *pages(
    prefix: string | KeyRange,
    options: ListOptions = {},
  ): AsyncGenerator<{ revision: number; kvs: KeyValue[] }> {
    const pageSize = options.pageSize ?? 1000;
    const { key: first, end } = rangeOf(prefix);
    let start = first;
    let revision = options.revision ?? 0;
    for (;;) {
      let res;
      try {
        res = await this.client.kv.range({ key: start, range_end: end, limit: pageSize, revision });
      } catch (err) {
        throw storeError(`list ${describe(prefix)} at revision ${revision}`, err);
      }
      if (revision === 0) revision = Number(res.header.revision);
      const kvs = (res.kvs as RawKv[]).map(toKv);
      yield { revision, kvs };
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) return;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /** Every key under a prefix (or in a range) at one revision. */
  async list(
    prefix: string | KeyRange,
    options: ListOptions = {},
  ): Promise<{ revision: number; kvs: KeyValue[] }> {
    const kvs: KeyValue[] = [];
    let revision = options.revision ?? 0;
    for await (const page of this.pages(prefix, options)) {
      revision = page.revision;
      kvs.push(...page.kvs);
    }
    if (revision === 0) revision = await this.revision();
    return { revision, kvs };
  }

  /**
   * Applies writes as transactions of at most maxTxnOps operations, several in flight.
   * Writes to the same key are coalesced (the last wins). Resolves with the highest revision
   * written; rejects with the first failure (other chunks may have been applied: callers
   * that need all-or-nothing resync on failure).
   */
  async write(ops: readonly WriteOp[]): Promise<number> {
    const unique = coalesce(ops);
    const chunks: WriteOp[][] = [];
    for (let i = 0; i < unique.length; i += this.maxTxnOps) chunks.push(unique.slice(i, i + this.maxTxnOps));
    let next = 0;
    let highest = 0;
    const worker = async (): Promise<void> => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        const revision = await this.txn(chunk); // read `highest` only after the await
        highest = Math.max(highest, revision);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.writeConcurrency, chunks.length) }, worker));
    return highest;
  }

  private async txn(ops: readonly WriteOp[]): Promise<number> {
    const success = ops.map((op) =>
      op.type === 'put'
        ? {
            request_put: {
              key: Buffer.from(op.key),
              value: Buffer.from(op.value),
              ...(op.lease ? { lease: op.lease } : {}),
            },
          }
        : { request_delete_range: { key: Buffer.from(op.key) } },
    );
    try {
      const res = await this.client.kv.txn({ compare: [], success, failure: [] });
      return Number(res.header.revision);
    } catch (err) {
      throw storeError(`write ${ops.length} keys`, err);
    }
  }

  async put(key: string, value: string, lease?: string): Promise<number> {
    return this.write([{ type: 'put', key, value, ...(lease ? { lease } : {}) }]);
  }

  async delete(key: string): Promise<number> {
    return this.write([{ type: 'delete', key }]);
  }

  /** Deletes every key under a prefix. */
  async deletePrefix(prefix: string): Promise<number> {
    try {
      const res = await this.client.kv.deleteRange({
        key: Buffer.from(prefix),
        range_end: prefixEnd(prefix),
      });
      return Number(res.deleted);
    } catch (err) {
      throw storeError(`delete prefix ${prefix}`, err);
    }
  }

  /**
   * Writes `key` only if it does not exist. Resolves with the existing value when it does,
   * so a claim can tell "mine already" from "someone else's".
   */
  async create(
    key: string,
    value: string,
    lease?: string,
  ): Promise<{ created: true; revision: number } | { created: false; existing: KeyValue }> {
    const k = Buffer.from(key);
    try {
      const res = await this.client.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value: Buffer.from(value), ...(lease ? { lease } : {}) } }],
        failure: [{ request_range: { key: k } }],
      });
      if (res.succeeded) return { created: true, revision: Number(res.header.revision) };
      const raw = res.responses[0]?.response_range?.kvs[0];
      if (!raw) throw new StoreError(`create ${key}: lost the race but the key vanished`);
      return { created: false, existing: toKv(raw) };
    } catch (err) {
      throw storeError(`create ${key}`, err);
    }
  }

  /** Deletes `key` only if its mod revision is still `modRevision`. */
  async deleteIf(key: string, modRevision: number): Promise<boolean> {
    const k = Buffer.from(key);
    try {
      const res = await this.client.kv.txn({
        compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: modRevision }],
        success: [{ request_delete_range: { key: k } }],
        failure: [],
      });
      return res.succeeded;
    } catch (err) {
      throw storeError(`delete ${key} at revision ${modRevision}`, err);
    }
  }

  /** Watches a prefix or a range; see watch.ts for the resume and compaction contract. */
  watch(prefix: string | KeyRange, options: WatchOptions): AsyncGenerator<WatchEvent> {
    return watchPrefix(this.client, prefix, options);
  }

  close(): void {
    this.client.close();
  }
}
