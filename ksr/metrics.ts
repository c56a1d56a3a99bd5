// KSR's metrics, on the registry main() passes in (never the global one).
import { Counter, Gauge, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from '../lib/metrics.ts';

export interface KsrMetrics {
  /** Kubernetes events received, by kind and type (add, update, delete, relist). */
  events: Counter<'kind' | 'type'>;
  /** Ops written to etcd, by kind and op (put, delete). */
  writes: Counter<'kind' | 'op'>;
  /** Full mark-and-sweep resyncs against etcd, by reason. */
  resyncs: Counter<'reason'>;
  /** Errors, by kind (or 'etcd', 'leader') and reason. */
  errors: Counter<'kind' | 'reason'>;
  /** Event received → its write confirmed by etcd. */
  latency: Histogram<'kind'>;
  /** Objects mirrored, by kind. */
  objects: Gauge<'kind'>;
  /** 1 while this replica leads. */
  leader: Gauge;
  /** Watch restarts, by kind and reason (watchdog, gone, error, closed, relist). */
  watchRestarts: Counter<'kind' | 'reason'>;
  /** Objects found too large for any etcd transaction (counted once each time one becomes so). */
  tooLarge: Counter<'kind'>;
  /** Objects currently not written because they are too large. */
  tooLargeObjects: Gauge<'kind'>;
  /** networks/ records the registry holds (ksr/networks/). */
  networks: Gauge;
  /** NADs whose network is refused or invalid now, by reason (the Event's). */
  networksRefused: Gauge<'reason'>;
  /** Refusals reported (one per distinct Event), by reason. */
  networkRefusals: Counter<'reason'>;
  /** network-status patches (ksr/netstatus/), by result: written, gone, error. */
  networkStatusPatches: Counter<'result'>;
  /** Pods whose network-status patch failed and waits for a retry. */
  networkStatusRetrying: Gauge;
}

export function createKsrMetrics(registry: Registry): KsrMetrics {
  const registers = [registry];
  return {
    events: new Counter({
      name: 'netloom_ksr_events_total',
      help: 'Kubernetes events received',
      labelNames: ['kind', 'type'],
      registers,
    }),
    writes: new Counter({
      name: 'netloom_ksr_writes_total',
      help: 'Ops written to etcd',
      labelNames: ['kind', 'op'],
      registers,
    }),
    resyncs: new Counter({
      name: 'netloom_ksr_resyncs_total',
      help: 'Full resyncs against etcd',
      labelNames: ['reason'],
      registers,
    }),
    errors: new Counter({
      name: 'netloom_ksr_errors_total',
      help: 'Errors by kind and reason',
      labelNames: ['kind', 'reason'],
      registers,
    }),
    latency: new Histogram({
      name: 'netloom_ksr_event_to_etcd_seconds',
      help: 'From a Kubernetes event to its write confirmed by etcd',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    objects: new Gauge({
      name: 'netloom_ksr_objects',
      help: 'Objects mirrored, by kind',
      labelNames: ['kind'],
      registers,
    }),
    leader: new Gauge({ name: 'netloom_ksr_leader', help: '1 while this replica is the leader', registers }),
    watchRestarts: new Counter({
      name: 'netloom_ksr_watch_restarts_total',
      help: 'Watch restarts by kind and reason',
      labelNames: ['kind', 'reason'],
      registers,
    }),
    tooLarge: new Counter({
      name: 'netloom_ksr_too_large_total',
      help: 'Objects whose value is larger than one etcd transaction may carry (not written)',
      labelNames: ['kind'],
      registers,
    }),
    tooLargeObjects: new Gauge({
      name: 'netloom_ksr_too_large_objects',
      help: 'Objects not written to etcd because their value is too large, by kind',
      labelNames: ['kind'],
      registers,
    }),
    networks: new Gauge({
      name: 'netloom_ksr_networks',
      help: 'netloom networks recorded in networks/ by the leader',
      registers,
    }),
    networksRefused: new Gauge({
      name: 'netloom_ksr_networks_refused',
      help: 'NetworkAttachmentDefinitions whose netloom network is refused or invalid, by reason',
      labelNames: ['reason'],
      registers,
    }),
    networkRefusals: new Counter({
      name: 'netloom_ksr_network_refusals_total',
      help: 'Network refusals reported as Events, by reason',
      labelNames: ['reason'],
      registers,
    }),
    networkStatusPatches: new Counter({
      name: 'netloom_ksr_network_status_patches_total',
      help: 'Pod network-status annotation patches, by result (written, gone, error)',
      labelNames: ['result'],
      registers,
    }),
    networkStatusRetrying: new Gauge({
      name: 'netloom_ksr_network_status_retrying',
      help: 'Pods whose network-status patch failed and waits for a retry',
      registers,
    }),
  };
}
