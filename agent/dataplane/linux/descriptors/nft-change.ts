// The one way the nft-table descriptors (service, peer-set, policy) apply an item's change.
import type { NftOp, NftTable } from '../nft.ts';
import type { NftTablePort } from '../ports.ts';

/** A change from what an item was (`old`, its objects) to what it becomes (`next`; undefined = gone). */
export type NftChange<O> = (key: string, old: O | undefined, next: O | undefined) => Promise<void>;

/**
 * The change function of a family whose items are objects `O` in one table: `ops` turns old
 * into next; `found` reads what the table holds for a key. The ops are computed from what the
 * item was written as (its metadata); when they fail — the table holds something else for the
 * item (changed by hand since the last retrieve), an element clashes, a chain is gone — they are
 * recomputed from the table itself and applied once more; if that fails too, its error is the
 * item's.
 */
export function nftChange<O>(
  port: NftTablePort,
  ops: (key: string, old: O | undefined, next: O | undefined) => NftOp[],
  found: (table: NftTable, key: string, next: O | undefined) => O | undefined,
): NftChange<O> {
  return async (key, old, next) => {
    try {
      await port.apply(ops(key, old, next));
    } catch {
      const { table } = await port.list();
      await port.apply(ops(key, table ? found(table, key, next) : undefined, next));
    }
  };
}
