// The services port over FakeNftTable: the same fixed part and the same transactions as the
// kernel port (one per apply, no coalescing), and conntrack deletions recorded, not performed.
// The `…Now` methods are the synchronous work, for FakeKernel to wrap with its call log.
import type { NftOp, NftTable } from '../nft.ts';
import type { ConntrackFilter, ServicePort } from '../ports.ts';
import { baseIntact, setupOps } from '../service-plan.ts';
import { FakeNftTable } from './nft.ts';

export class FakeServices implements ServicePort {
  readonly nft: FakeNftTable;
  readonly conntrackFlushes: ConntrackFilter[] = [];
  private ready = false;

  constructor(table: string) {
    this.nft = new FakeNftTable(table);
  }

  applyNow(ops: readonly NftOp[]): void {
    this.nft.apply(this.ready ? ops : [...setupOps(), ...ops]);
    this.ready = true;
  }

  listNow(): { table: NftTable | undefined; baseIntact: boolean } {
    const intact = baseIntact(this.nft.table);
    if (!intact) this.ready = false;
    return { table: this.nft.table, baseIntact: intact };
  }

  flushConntrackNow(f: ConntrackFilter): void {
    this.conntrackFlushes.push(f);
  }

  apply(ops: readonly NftOp[]): Promise<void> {
    return new Promise((resolve) => resolve(this.applyNow(ops)));
  }

  list(): Promise<{ table: NftTable | undefined; baseIntact: boolean }> {
    return new Promise((resolve) => resolve(this.listNow()));
  }

  flushConntrack(f: ConntrackFilter): Promise<void> {
    return new Promise((resolve) => resolve(this.flushConntrackNow(f)));
  }
}
