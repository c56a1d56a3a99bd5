// Which health-check node ports this node answers, and what (pure). A LoadBalancer Service with
// `externalTrafficPolicy: Local` gets a `healthCheckNodePort` from the API server; every node's
// service proxy answers HTTP on it with how many of the Service's endpoints are ready on that
// node, so a load balancer sends traffic only to nodes that can serve it without another hop
// (the client address is kept only there). This is the answer kube-proxy gives, so load balancers
// written against it work unchanged: 200 with a count when there is a ready local endpoint, 503
// otherwise — terminating endpoints do not count, so a node drains before its last pod goes.
import { isPort } from '../../lib/port-number.ts';
import type { Endpoints, Service } from '../view/decode.ts';

export interface HealthCheck {
  port: number;
  namespace: string;
  name: string;
  /** Ready endpoints of the Service on this node (distinct addresses). */
  localEndpoints: number;
}

/** This node's ready endpoints of a Service: distinct addresses, over every slice. */
export function localReadyEndpoints(eps: Endpoints | undefined, node: string): number {
  const ips = new Set<string>();
  for (const subset of eps?.subsets ?? [])
    for (const ep of subset.endpoints ?? [])
      if (ep.nodeName === node && ep.ready === true) for (const ip of ep.addresses ?? []) ips.add(ip);
  return ips.size;
}

/**
 * The health checks this node serves, by port. Services are taken in name order, so when two
 * claim one port (a value the API server would not allow, written by a peer) the answer is
 * stable: the first keeps it.
 */
export function planHealthChecks(
  services: Iterable<readonly [string, Service]>,
  endpointsOf: (name: string) => Endpoints | undefined,
  node: string,
): Map<number, HealthCheck> {
  const out = new Map<number, HealthCheck>();
  const sorted = [...services].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, svc] of sorted) {
    if (svc.type !== 'LoadBalancer' || svc.externalTrafficPolicy !== 'Local') continue;
    const port = svc.healthCheckNodePort;
    if (!isPort(port) || out.has(port)) continue;
    out.set(port, {
      port,
      namespace: svc.namespace,
      name: svc.name,
      localEndpoints: localReadyEndpoints(endpointsOf(name), node),
    });
  }
  return out;
}

/** The HTTP answer for one check: status and JSON body, the fields kube-proxy's answer has. */
export function healthAnswer(check: HealthCheck, proxyHealthy: boolean): { status: number; body: string } {
  const ok = check.localEndpoints > 0 && proxyHealthy;
  return {
    status: ok ? 200 : 503,
    body: JSON.stringify({
      service: { namespace: check.namespace, name: check.name },
      localEndpoints: check.localEndpoints,
      serviceProxyHealthy: proxyHealthy,
    }),
  };
}
