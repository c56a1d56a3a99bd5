// One netloom nft table in the kernel: changes as `nft -f -` transactions, coalesced. Every
// change queued while a transaction runs (or in the same tick) goes into the next one, so a
// scheduler that starts a family's operations together (`concurrent`) pays one nft process for
// a thousand items. nft applies a script whole or not at all, so a failed batch changed
// nothing: it is then split in halves, each tried on its own, down to single changes, so only
// the changes that fail alone fail, and one bad change among 10,000 costs ~28 processes, not
// 10,000 (each of which, at that size, pays nft's dump of every chain and the kernel's
// validation of the whole table: the replay change by change took longer than 30 minutes).
// A big script gets a longer bound (KernelTools.nft: a timeout would fail a first sync whole).
// The table's fixed part goes first whenever it is not known
// to be intact. Reads are one `nft -j list table`. The services and the policy tables each have one.
import { isCondition } from '../errors.ts';
import { parseTable, scriptOf, type NftOp, type NftTable, type NftTableSpec } from '../nft.ts';
import type { NftTablePort } from '../ports.ts';
import type { KernelTools } from '../tools.ts';

interface Queued {
  ops: readonly NftOp[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class KernelNftTable implements NftTablePort {
  /** Transactions run (for tests and the bench: how well changes were coalesced). */
  transactions = 0;
  private readonly tools: KernelTools;
  private readonly hostNetns: string | undefined;
  private readonly spec: NftTableSpec;
  private queue: Queued[] = [];
  private running = false;
  /** Whether the fixed part is known to be in place (written by us, or found intact). */
  private ready = false;

  constructor(tools: KernelTools, hostNetns: string | undefined, spec: NftTableSpec) {
    this.tools = tools;
    this.hostNetns = hostNetns;
    this.spec = spec;
  }

  apply(ops: readonly NftOp[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, resolve, reject });
      if (!this.running) setImmediate(() => void this.drain());
    });
  }

  async list(): Promise<{ table: NftTable | undefined; baseIntact: boolean }> {
    let table: NftTable | undefined;
    const { family, name } = this.spec;
    try {
      table = parseTable(await this.tools.nftJson(this.hostNetns, ['list', 'table', family, name]));
    } catch (err) {
      if (!isCondition(err, 'missing')) throw err;
    }
    const intact = this.spec.baseIntact(table);
    if (!intact) this.ready = false;
    return { table, baseIntact: intact };
  }

  private async run(ops: readonly NftOp[]): Promise<void> {
    const all = this.ready ? ops : [...this.spec.setupOps(), ...ops];
    if (all.length === 0) return; // an item with nothing in the table (a policy isolating nothing)
    this.transactions++;
    const script = scriptOf(this.spec.name, all, this.spec.family);
    await this.tools.nft(this.hostNetns, script, { statements: all.length });
    this.ready = true;
  }

  /** One transaction for the batch; when it fails, each half on its own, to fail only its own. */
  private async runBatch(batch: readonly Queued[]): Promise<void> {
    try {
      await this.run(batch.flatMap((q) => q.ops));
      batch.forEach((q) => q.resolve());
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      const half = Math.ceil(batch.length / 2);
      await this.runBatch(batch.slice(0, half));
      await this.runBatch(batch.slice(half));
    }
  }

  /** Runs what is queued as one transaction, then whatever was queued meanwhile. */
  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.runBatch(batch);
      }
    } finally {
      this.running = false;
    }
  }
}
