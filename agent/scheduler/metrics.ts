// The scheduler's Prometheus metrics, registered on the registry the agent passes in.
import { Counter, Gauge, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from '../../lib/metrics.ts';
import type { ItemState } from './status.ts';
import type { TxnRecord } from './txn-log.ts';

export interface SchedulerMetrics {
  transaction(record: TxnRecord): void;
  operation(family: string, operation: string, ok: boolean): void;
}

export function schedulerMetrics(
  registry: Registry | undefined,
  countStates: () => Map<ItemState, number>,
): SchedulerMetrics {
  if (!registry) return { transaction: () => undefined, operation: () => undefined };
  const txns = new Counter({
    name: 'netloom_agent_scheduler_transactions_total',
    help: 'KV scheduler transactions, by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'netloom_agent_scheduler_transaction_seconds',
    help: 'KV scheduler transaction duration',
    labelNames: ['kind'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const ops = new Counter({
    name: 'netloom_agent_scheduler_operations_total',
    help: 'Driver operations run by the KV scheduler',
    labelNames: ['family', 'operation', 'outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'netloom_agent_scheduler_items',
    help: 'Items known to the KV scheduler, by state',
    labelNames: ['state'],
    registers: [registry],
    collect(): void {
      this.reset();
      for (const [state, count] of countStates()) this.set({ state }, count);
    },
  });
  return {
    transaction(record): void {
      txns.inc({ kind: record.kind });
      duration.observe({ kind: record.kind }, record.durationMs / 1000);
    },
    operation(family, operation, ok): void {
      ops.inc({ family, operation, outcome: ok ? 'ok' : 'error' });
    },
  };
}
