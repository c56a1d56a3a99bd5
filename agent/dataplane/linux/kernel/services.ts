// The services table in the kernel (layout: ../service-plan.ts): frontend changes go through
// the coalescing table port (nft-table.ts), so the frontends a transaction changes together
// share one `nft -f`; conntrack entries go with `conntrack -D`.
import type { LinuxNames } from '../naming.ts';
import type { NftOp, NftTable } from '../nft.ts';
import type { ConntrackFilter, ServicePort } from '../ports.ts';
import { serviceTableSpec } from '../service-plan.ts';
import type { KernelTools } from '../tools.ts';
import { KernelNftTable } from './nft-table.ts';

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
  private readonly tools: KernelTools;
  private readonly hostNetns: string | undefined;
  private readonly table: KernelNftTable;

  constructor(tools: KernelTools, hostNetns: string | undefined, names: LinuxNames) {
    this.tools = tools;
    this.hostNetns = hostNetns;
    this.table = new KernelNftTable(tools, hostNetns, serviceTableSpec(names.serviceTable));
  }

  /** Transactions run (for tests and the bench: how well changes were coalesced). */
  get transactions(): number {
    return this.table.transactions;
  }

  apply(ops: readonly NftOp[]): Promise<void> {
    return this.table.apply(ops);
  }

  list(): Promise<{ table: NftTable | undefined; baseIntact: boolean }> {
    return this.table.list();
  }

  async flushConntrack(f: ConntrackFilter): Promise<void> {
    try {
      await this.tools.exec(this.hostNetns, 'conntrack', conntrackArgs(f));
    } catch (err) {
      // conntrack exits 1 when nothing matched.
      if (!/0 flow entries have been deleted/.test(String((err as Error).message))) throw err;
    }
  }
}
