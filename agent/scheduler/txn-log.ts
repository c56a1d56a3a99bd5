// The transaction log: the last N transactions with the operations each ran, for the API and
// for tests that count work.
import type { ItemFailure } from './errors.ts';

export type OperationKind = 'create' | 'update' | 'delete';

export interface OperationRecord {
  key: string;
  operation: OperationKind;
  ok: boolean;
  error?: string;
}

export type TxnKind = 'change' | 'resync' | 'retry';

export interface TxnRecord {
  seq: number;
  kind: TxnKind;
  description: string;
  startedAt: string;
  durationMs: number;
  /** Desired-state changes the transaction received. */
  changes: number;
  /** Graph nodes the transaction examined: the measure of its cost besides driver calls. */
  visited: number;
  /** Driver calls, by kind. */
  counts: Record<OperationKind, number>;
  /** The operations, the first `maxOperations` of them. */
  operations: OperationRecord[];
  /** Operations left out of `operations`. */
  truncated: number;
  errors: ItemFailure[];
}

export class TxnLog {
  private readonly records: TxnRecord[] = [];
  private readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  add(record: TxnRecord): void {
    this.records.push(record);
    if (this.records.length > this.size) this.records.shift();
  }

  /** The newest `limit` records, newest last. */
  recent(limit = this.size): TxnRecord[] {
    return this.records.slice(-limit);
  }
}
