// The services port over FakeNftPort: the same fixed part and the same transactions as the
// kernel port (one per apply, no coalescing), and conntrack deletions recorded, not performed.
// The `…Now` methods are the synchronous work, for FakeKernel to wrap with its call log.
import type { ConntrackFilter, ServicePort } from '../ports.ts';
import { serviceTableSpec } from '../service-plan.ts';
import { FakeNftPort } from './nft.ts';

export class FakeServices extends FakeNftPort implements ServicePort {
  readonly conntrackFlushes: ConntrackFilter[] = [];

  constructor(table: string) {
    super(serviceTableSpec(table));
  }

  flushConntrackNow(f: ConntrackFilter): void {
    this.conntrackFlushes.push(f);
  }

  flushConntrack(f: ConntrackFilter): Promise<void> {
    return new Promise((resolve) => resolve(this.flushConntrackNow(f)));
  }
}
