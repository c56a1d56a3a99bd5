// CNI request metrics: count by operation and answer code (0 = success), latency by operation,
// and where a successful ADD spent its time (the breakdown bench:cni prints).
import { Counter, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from '../../lib/metrics.ts';

/** The steps of an ADD, in order: what each phase of `netloom_cni_add_phase_seconds` measures. */
export type AddPhase =
  | 'ipam' // address allocated and persisted (create-only write in etcd)
  | 'record' // attachment written to the node's attachment store (fsync'd)
  | 'commit' // rendered and the scheduler's transaction ran (the data plane wired the pod)
  | 'answer'; // settled items checked and the CNI result built

export interface CniMetrics {
  observe(op: string, code: number, seconds: number): void;
  phase(phase: AddPhase, seconds: number): void;
}

export function cniMetrics(registry: Registry | undefined): CniMetrics {
  if (!registry) return { observe: () => undefined, phase: () => undefined };
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
  const phases = new Histogram({
    name: 'netloom_cni_add_phase_seconds',
    help: 'Time a successful CNI ADD spent in each step inside the agent (ipam, record, commit, answer).',
    labelNames: ['phase'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  return {
    phase(phase, seconds) {
      phases.observe({ phase }, seconds);
    },
    observe(op, code, seconds) {
      requests.inc({ operation: op, code: String(code) });
      latency.observe({ operation: op }, seconds);
    },
  };
}
