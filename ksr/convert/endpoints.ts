// EndpointSlices → one netloom.model.v1.Endpoints per service. Each slice converts on its own
// (convertSlice); merge() folds every slice of a service into subsets keyed by port list, in a
// canonical order, so the same set of endpoints gives the same JSON whatever slices carry them.
import type { V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import type { Endpoint } from '../../proto/gen/netloom/model/v1/Endpoint.ts';
import type { EndpointPort } from '../../proto/gen/netloom/model/v1/EndpointPort.ts';
import type { Endpoints } from '../../proto/gen/netloom/model/v1/Endpoints.ts';
import type { EndpointSubset } from '../../proto/gen/netloom/model/v1/EndpointSubset.ts';
import { ConvertError, compact, requireName, requireNamespace, str, strList, uint } from './common.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** One slice, converted: the service it belongs to and its endpoints under one port list. */
export interface SliceContribution {
  namespace: string;
  service: string;
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function endpoint(e: V1Endpoint, what: string): Endpoint {
  const c = e?.conditions ?? {};
  // The API's nil conditions: ready means "ready", serving defaults to ready, terminating to false.
  const ready = c.ready ?? true;
  const ref = e?.targetRef;
  return compact({
    addresses: strList(e?.addresses, `${what}.addresses`),
    nodeName: str(e?.nodeName, `${what}.nodeName`),
    ready,
    serving: c.serving ?? ready,
    terminating: c.terminating ?? false,
    pod: ref?.kind === 'Pod' && ref.name ? `${ref.namespace ?? ''}/${ref.name}` : undefined,
    zone: str(e?.zone, `${what}.zone`),
  });
}

/**
 * A slice's contribution, or undefined for slices that cannot feed a data plane: no owning
 * service label, or FQDN addresses.
 */
export function convertSlice(obj: V1EndpointSlice): SliceContribution | undefined {
  const meta = obj.metadata;
  const namespace = requireNamespace(meta, 'EndpointSlice');
  requireName(meta, 'EndpointSlice');
  const service = meta?.labels?.[SERVICE_NAME_LABEL];
  if (!service) return undefined;
  if (obj.addressType !== 'IPv4' && obj.addressType !== 'IPv6') return undefined;
  const ports = (obj.ports ?? []).map((p, i) =>
    compact({
      name: str(p?.name, `ports[${i}].name`),
      port: uint(p?.port, `ports[${i}].port`),
      protocol: str(p?.protocol, `ports[${i}].protocol`),
    }),
  );
  ports.sort((a, b) => byText(JSON.stringify(a), JSON.stringify(b)));
  const endpoints = (obj.endpoints ?? []).map((e, i) => endpoint(e, `endpoints[${i}]`));
  if (endpoints.some((e) => !e.addresses))
    throw new ConvertError(`EndpointSlice ${namespace}/${meta?.name} has an endpoint without addresses`);
  return { namespace, service, ports, endpoints };
}

/** How good an endpoint is when two slices list the same address during a handover. */
const rank = (e: Endpoint): number => (e.ready ? 2 : 0) + (e.serving ? 1 : 0);

/** Folds the slices of one service into its Endpoints value. */
export function mergeSlices(
  namespace: string,
  service: string,
  slices: Iterable<SliceContribution>,
): Endpoints {
  const subsets = new Map<
    string,
    { ports: EndpointPort[]; byAddress: Map<string, { e: Endpoint; json: string }> }
  >();
  for (const slice of slices) {
    const portsKey = JSON.stringify(slice.ports);
    let subset = subsets.get(portsKey);
    if (!subset) subsets.set(portsKey, (subset = { ports: slice.ports, byAddress: new Map() }));
    for (const e of slice.endpoints) {
      const addrKey = (e.addresses ?? []).join(',');
      const json = JSON.stringify(e);
      const seen = subset.byAddress.get(addrKey);
      // Keep the better copy; between equals the smaller JSON, so slice order never matters.
      if (!seen || rank(e) > rank(seen.e) || (rank(e) === rank(seen.e) && json < seen.json))
        subset.byAddress.set(addrKey, { e, json });
    }
  }
  // A port list with no endpoint behind it gives a data plane nothing to program.
  const out: EndpointSubset[] = [...subsets.entries()]
    .filter(([, s]) => s.byAddress.size > 0)
    .sort(([a], [b]) => byText(a, b))
    .map(([, s]) =>
      compact({
        ports: s.ports,
        endpoints: [...s.byAddress.entries()].sort(([a], [b]) => byText(a, b)).map(([, v]) => v.e),
      }),
    );
  return compact({ namespace, service, subsets: out });
}
