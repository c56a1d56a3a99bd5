// CNI request metrics: count by operation and answer code (0 = success), latency by operation.
import { Counter, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from '../../lib/metrics.ts';

export interface CniMetrics {
  observe(op: string, code: number, seconds: number): void;
}

export function cniMetrics(registry: Registry | undefined): CniMetrics {
  if (!registry) return { observe: () => undefined };
  const requests = new Counter({
    name: 'netloom_cni_requests_total',
    help: 'CNI requests answered by the agent, by operation and CNI code (0 = success).',
    labelNames: ['operation', 'code'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'netloom_cni_request_duration_seconds',
    help: 'Time from a CNI request reaching the agent to its answer.',
    labelNames: ['operation'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  return {
    observe(op, code, seconds) {
      requests.inc({ operation: op, code: String(code) });
      latency.observe({ operation: op }, seconds);
    },
  };
}
