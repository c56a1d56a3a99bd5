// Services (pure): a Service and its merged endpoints, seen from one node, become one item per
// frontend — (VIP, protocol, port) → backends — for every address the Service answers on:
// its cluster IPs, its external IPs, its load-balancer ingress IPs, and its node port on every
// address of the node. The Kubernetes semantics are decided here, so every data plane does the
// same with them:
// - backends are the ready endpoints; when none is ready, the serving and terminating ones
//   (so connections drain to pods that are shutting down rather than fail); under a Local
//   policy that choice is made among this node's endpoints alone (a local terminating endpoint
//   serves when no local one is ready, whatever other nodes have);
// - a Service labelled `service.kubernetes.io/service-proxy-name` belongs to another proxy (any
//   name but netloom's), and one labelled `service.kubernetes.io/headless` has no frontend: both
//   program nothing, as kube-proxy ignores them;
// - named target ports are resolved per endpoint subset (EndpointSlices carry the number each
//   endpoint uses for the port's name);
// - `internalTrafficPolicy: Local` (cluster IPs) and `externalTrafficPolicy: Local` (external,
//   load-balancer, node port) keep only this node's endpoints, keep the client's address (no
//   masquerade) and drop when there is none here; otherwise a frontend without backends rejects;
// - masquerade where return traffic needs it: external traffic under the Cluster policy always
//   (the backend may be on another node), cluster-IP traffic whose source is outside the pod
//   CIDR (the node itself, the underlay); a pod reaching itself through its Service (hairpin)
//   always, which the driver detects per backend;
// - under `externalTrafficPolicy: Local`, clients inside the cluster (pods, the node itself) are
//   still served by every endpoint, as kube-proxy does (`inCluster`): only the outside world is
//   held to this node's endpoints;
// - `loadBalancerSourceRanges` (or kube-proxy's older annotation) restrict the load-balancer IPs
//   to those clients; an unreadable list restricts to nobody rather than to everybody;
// - headless Services and ExternalName Services program nothing.
// Anything malformed (a peer wrote it, or a newer KSR) is skipped, never thrown.
import { isPort } from '../../lib/port-number.ts';
import { familyOf, isCidr, isIp4, networkOf } from '../../lib/cidr.ts';
import { serviceKey } from '../items/keys.ts';
import type { Protocol, Service, ServiceBackend } from '../items/values.ts';
import type { Item } from '../scheduler/descriptor.ts';
import type { Endpoints, Service as K8sService } from '../view/decode.ts';
import type { NodeContext } from './context.ts';

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
/** Names the proxy meant to serve a Service; kube-proxy serves only Services without it. */
export const SERVICE_PROXY_NAME = 'service.kubernetes.io/service-proxy-name';
/** The proxy name by which a Service asks for netloom (and not kube-proxy). */
export const NETLOOM_PROXY_NAME = 'netloom';
const HEADLESS_LABEL = 'service.kubernetes.io/headless';
const DEFAULT_VRF = 0;
/** Kubernetes' default ClientIP affinity timeout (3 hours). */
const DEFAULT_AFFINITY_SECONDS = 10_800;
/** The API server's upper bound for the affinity timeout (one day). */
const MAX_AFFINITY_SECONDS = 86_400;

const protocolOf = (p: string | undefined): Protocol | undefined =>
  p === undefined || p === '' ? 'TCP' : PROTOCOLS.find((x) => x === p);

interface Candidate extends ServiceBackend {
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

/** The endpoints of one service port: ready ones, else serving-and-terminating ones. */
function usable(list: readonly Candidate[]): ServiceBackend[] {
  const ready = list.filter((c) => c.ready);
  const chosen = ready.length > 0 ? ready : list.filter((c) => c.serving && c.terminating);
  const seen = new Set<string>();
  const out: ServiceBackend[] = [];
  for (const c of chosen) {
    const id = `${c.ip}:${c.port}`;
    if (seen.has(id)) continue; // the same address in two slices
    seen.add(id);
    out.push({ ip: c.ip, port: c.port, weight: 1, local: c.local });
  }
  return out.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
}

/** Every endpoint that serves the service port `name`/`protocol`, with its conditions. */
function candidates(eps: Endpoints | undefined, name: string, protocol: Protocol, node: string): Candidate[] {
  const out: Candidate[] = [];
  for (const subset of eps?.subsets ?? []) {
    const port = (subset.ports ?? []).find(
      (p) => (p.name ?? '') === name && protocolOf(p.protocol) === protocol,
    );
    if (!port || !isPort(port.port)) continue;
    for (const ep of subset.endpoints ?? []) {
      for (const ip of ep.addresses ?? []) {
        if (!isIp4(ip)) continue; // IPv4 now; the item shape takes IPv6 when the drivers do
        out.push({
          ip,
          port: port.port,
          weight: 1,
          local: ep.nodeName === node,
          ready: ep.ready === true,
          serving: ep.serving === true,
          terminating: ep.terminating === true,
        });
      }
    }
  }
  return out;
}

/**
 * The IPv4 source ranges a load-balancer IP admits; undefined for every client. Ranges of the
 * other family do not restrict IPv4 (kube-proxy filters them by family); a list of which nothing
 * is readable admits nobody.
 */
export function sourceRangesOf(ranges: readonly string[] | undefined): string[] | undefined {
  if (!ranges || ranges.length === 0) return undefined;
  const valid = ranges.filter(isCidr);
  const v4 = [...new Set(valid.filter((r) => familyOf(r) === 4).map(networkOf))].sort();
  if (v4.length === 0 && valid.length > 0) return undefined;
  return v4;
}

/**
 * The items of one Service on this node (empty for headless and ExternalName Services).
 * `networkSubnets`: the custom networks' subnets. Their pods are cluster-internal clients like the
 * default network's: a connection from them keeps its source (their network's VRF could not
 * route a reply to the node's address).
 */
export function renderService(
  ctx: NodeContext,
  svc: K8sService,
  eps: Endpoints | undefined,
  networkSubnets: readonly string[] = [],
): Item[] {
  if (svc.type === 'ExternalName') return [];
  const labels = svc.labels ?? {};
  const proxy = labels[SERVICE_PROXY_NAME];
  if ((proxy !== undefined && proxy !== NETLOOM_PROXY_NAME) || labels[HEADLESS_LABEL] !== undefined)
    return [];
  const clusterIps = (svc.clusterIps ?? []).filter(isIp4);
  const external = [...new Set([...(svc.externalIps ?? []), ...(svc.loadBalancerIps ?? [])].filter(isIp4))];
  // Headless: DNS answers with the endpoints themselves; there is no frontend to program.
  if ((svc.clusterIps ?? []).includes('None')) return [];
  const timeout = svc.sessionAffinityTimeoutSeconds ?? 0;
  const affinitySeconds =
    svc.sessionAffinity !== 'ClientIP'
      ? 0
      : Number.isInteger(timeout) && timeout > 0
        ? Math.min(timeout, MAX_AFFINITY_SECONDS)
        : DEFAULT_AFFINITY_SECONDS;
  const internalLocal = svc.internalTrafficPolicy === 'Local';
  const externalLocal = svc.externalTrafficPolicy === 'Local';
  const ranges = sourceRangesOf(svc.loadBalancerSourceRanges);
  const clusterSources = [ctx.podCidr, ...networkSubnets];
  const items: Item[] = [];
  for (const sp of svc.ports ?? []) {
    const protocol = protocolOf(sp.protocol);
    if (protocol === undefined || !isPort(sp.port)) continue;
    const found = candidates(eps, sp.name ?? '', protocol, ctx.node);
    const all = usable(found);
    const localOnly = usable(found.filter((c) => c.local));
    const base = {
      namespace: svc.namespace,
      name: svc.name,
      portName: sp.name ?? '',
      vrf: DEFAULT_VRF,
      protocol,
      affinitySeconds,
    };
    const frontend = (kind: Service['kind'], vip: string, port: number, local: boolean): void => {
      const backends = local ? localOnly : all;
      const value: Service = {
        ...base,
        kind,
        vip,
        port,
        backends,
        noBackends: local ? 'drop' : 'reject',
        masqueradeOutside: local ? null : kind === 'cluster-ip' ? clusterSources : [],
        ...(kind === 'load-balancer' && ranges !== undefined ? { sourceRanges: ranges } : {}),
        // The Local policy is about the outside world; kube-proxy serves clients inside the
        // cluster from every endpoint (a pod on a node without one would be dropped otherwise).
        ...(local && kind !== 'cluster-ip' ? { inCluster: { sources: clusterSources, backends: all } } : {}),
      };
      items.push({ key: serviceKey(DEFAULT_VRF, protocol, vip, port), value });
    };
    for (const ip of clusterIps) frontend('cluster-ip', ip, sp.port, internalLocal);
    for (const ip of external)
      frontend(
        svc.loadBalancerIps?.includes(ip) ? 'load-balancer' : 'external-ip',
        ip,
        sp.port,
        externalLocal,
      );
    const nodePort = svc.type === 'NodePort' || svc.type === 'LoadBalancer' ? sp.nodePort : 0;
    if (isPort(nodePort)) frontend('node-port', 'node', nodePort, externalLocal);
  }
  return items;
}
