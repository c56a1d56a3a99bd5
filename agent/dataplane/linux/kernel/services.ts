// The services table in the kernel: frontend changes as `nft -f -` transactions, coalesced. Every
// change queued while a transaction runs (or in the same tick) goes into the next one, so a
// scheduler that starts a family's operations together (`concurrent`) pays one nft process for
// a thousand frontends. nft applies a script whole or not at all, so a failed batch changed
// nothing: each of its changes is then tried alone, and only the ones that fail alone fail.
// Reads are one `nft -j list table`; conntrack entries go with `conntrack -D`.
import { isCondition } from '../errors.ts';
import type { LinuxNames } from '../naming.ts';
import { parseTable, scriptOf, type NftOp, type NftTable } from '../nft.ts';
import type { ConntrackFilter, ServicePort } from '../ports.ts';
import { baseIntact, setupOps } from '../service-plan.ts';
import type { KernelTools } from '../tools.ts';

interface Queued {
  ops: readonly NftOp[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The `conntrack -D` arguments for a filter (pure). */
export function conntrackArgs(f: ConntrackFilter): string[] {
  const args = ['-D', '-p', f.protocol];
  if (f.origDst !== undefined) args.push('--orig-dst', f.origDst);
  args.push('--orig-port-dst', String(f.origPortDst));
  if (f.replySrc !== undefined) args.push('--reply-src', f.replySrc);
  if (f.replyPortSrc !== undefined) args.push('--reply-port-src', String(f.replyPortSrc));
  return args;
}

export class KernelServices implements ServicePort {
  /** Transactions run (for tests and the bench: how well changes were coalesced). */
  transactions = 0;
  private readonly tools: KernelTools;
  private readonly hostNetns: string | undefined;
  private readonly table: string;
  private queue: Queued[] = [];
  private running = false;
  /** Whether the fixed part is known to be in place (written by us, or found intact). */
  private ready = false;

  constructor(tools: KernelTools, hostNetns: string | undefined, names: LinuxNames) {
    this.tools = tools;
    this.hostNetns = hostNetns;
    this.table = names.serviceTable;
  }

  apply(ops: readonly NftOp[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, resolve, reject });
      if (!this.running) setImmediate(() => void this.drain());
    });
  }

  async list(): Promise<{ table: NftTable | undefined; baseIntact: boolean }> {
    let table: NftTable | undefined;
    try {
      table = parseTable(await this.tools.nftJson(this.hostNetns, ['list', 'table', 'ip', this.table]));
    } catch (err) {
      if (!isCondition(err, 'missing')) throw err;
    }
    const intact = baseIntact(table);
    if (!intact) this.ready = false;
    return { table, baseIntact: intact };
  }

  async flushConntrack(f: ConntrackFilter): Promise<void> {
    try {
      await this.tools.exec(this.hostNetns, 'conntrack', conntrackArgs(f));
    } catch (err) {
      // conntrack exits 1 when nothing matched.
      if (!/0 flow entries have been deleted/.test(String((err as Error).message))) throw err;
    }
  }

  private async run(ops: readonly NftOp[]): Promise<void> {
    const all = this.ready ? ops : [...setupOps(), ...ops];
    this.transactions++;
    await this.tools.nft(this.hostNetns, scriptOf(this.table, all));
    this.ready = true;
  }

  /** One transaction for the batch; when it fails, each change alone, to fail only its own. */
  private async runBatch(batch: readonly Queued[]): Promise<void> {
    try {
      await this.run(batch.flatMap((q) => q.ops));
      batch.forEach((q) => q.resolve());
    } catch (err) {
      if (batch.length === 1) batch[0]!.reject(err);
      else for (const q of batch) await this.run(q.ops).then(q.resolve, q.reject);
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
