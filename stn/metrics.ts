// The STN daemon's metrics, registered on the registry main.ts owns.
import { Counter, Gauge, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from '../lib/metrics.ts';

export interface StnMetrics {
  stolen: Gauge;
  operations: Counter<'operation' | 'result'>;
  duration: Histogram<'operation'>;
  watchdogFailures: Counter;
  watchdogReleases: Counter;
  recoveries: Counter<'action'>;
}

export function createStnMetrics(registry: Registry): StnMetrics {
  const registers = [registry];
  return {
    stolen: new Gauge({
      name: 'netloom_stn_stolen_interfaces',
      help: 'Interfaces the daemon holds (any phase)',
      registers,
    }),
    operations: new Counter({
      name: 'netloom_stn_operations_total',
      help: 'Steal and release operations by result',
      labelNames: ['operation', 'result'],
      registers,
    }),
    duration: new Histogram({
      name: 'netloom_stn_operation_duration_seconds',
      help: 'Time to steal or release an interface, kernel verification included',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    watchdogFailures: new Counter({
      name: 'netloom_stn_watchdog_failures_total',
      help: 'Failed watchdog checks',
      registers,
    }),
    watchdogReleases: new Counter({
      name: 'netloom_stn_watchdog_releases_total',
      help: 'Times the watchdog gave the NIC back to the kernel',
      registers,
    }),
    recoveries: new Counter({
      name: 'netloom_stn_recoveries_total',
      help: 'State files found at start, by the action taken (restored, resumed)',
      labelNames: ['action'],
      registers,
    }),
  };
}
