// The API client's Prometheus metrics, on the registry the agent passes in (none: no-ops).
import { Counter, Gauge, type Registry } from '../../../../lib/metrics.ts';

export interface VppApiMetrics {
  request(outcome: 'ok' | 'error' | 'timeout' | 'disconnected'): void;
  connected(up: boolean): void;
  event(): void;
}

export function vppApiMetrics(registry: Registry | undefined): VppApiMetrics {
  if (!registry) return { request: () => undefined, connected: () => undefined, event: () => undefined };
  const requests = new Counter({
    name: 'netloom_vpp_api_requests_total',
    help: 'VPP binary-API requests and dumps, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const connects = new Counter({
    name: 'netloom_vpp_api_connects_total',
    help: 'Completed sockclnt_create handshakes with VPP',
    registers: [registry],
  });
  const up = new Gauge({
    name: 'netloom_vpp_api_connected',
    help: '1 while connected to VPP',
    registers: [registry],
  });
  const events = new Counter({
    name: 'netloom_vpp_api_events_total',
    help: 'VPP events received',
    registers: [registry],
  });
  return {
    request: (outcome): void => requests.inc({ outcome }),
    connected: (isUp): void => {
      if (isUp) connects.inc();
      up.set(isUp ? 1 : 0);
    },
    event: (): void => events.inc(),
  };
}
