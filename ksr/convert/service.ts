// Service → netloom.model.v1.Service: everything a service renderer needs to program VIPs,
// node ports and load balancer IPs; selectors so agents can tell selector-less services apart.
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { Service } from '../../proto/gen/netloom/model/v1/Service.ts';
import type { ServicePort } from '../../proto/gen/netloom/model/v1/ServicePort.ts';
import {
  ConvertError,
  compact,
  isNetloomAnnotation,
  portRef,
  requireName,
  requireNamespace,
  sortedMap,
  str,
  strList,
  uint,
} from './common.ts';

function servicePort(p: V1ServicePort, i: number): ServicePort {
  const what = `spec.ports[${i}]`;
  if (typeof p?.port !== 'number') throw new ConvertError(`${what} without port`);
  return compact({
    name: str(p.name, `${what}.name`),
    protocol: str(p.protocol, `${what}.protocol`),
    port: uint(p.port, `${what}.port`),
    targetPort: portRef(p.targetPort, `${what}.targetPort`),
    nodePort: uint(p.nodePort, `${what}.nodePort`),
    appProtocol: str(p.appProtocol, `${what}.appProtocol`),
  });
}

function loadBalancerIps(obj: V1Service): string[] {
  return (obj.status?.loadBalancer?.ingress ?? [])
    .map((i) => i?.ip)
    .filter((ip): ip is string => typeof ip === 'string' && ip !== '');
}

/** kube-proxy's older spelling of spec.loadBalancerSourceRanges, read when the field is empty. */
export const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';

/**
 * The field, else the annotation split at commas. Passed on as written: the agent judges each
 * range (and keeps an unreadable list restrictive), so a typo never opens a Service to everyone.
 */
function sourceRanges(obj: V1Service): string[] | undefined {
  const field = strList(obj.spec?.loadBalancerSourceRanges, 'spec.loadBalancerSourceRanges');
  if (field) return field;
  const note = obj.metadata?.annotations?.[SOURCE_RANGES_ANNOTATION];
  if (typeof note !== 'string') return undefined;
  const list = note
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  return list.length > 0 ? list : undefined;
}

export function convertService(obj: V1Service): Service {
  const meta = obj.metadata;
  const spec = obj.spec;
  const clusterIp = str(spec?.clusterIP, 'spec.clusterIP');
  // An empty selector is dropped by the API server, so "has a selector" means "has a label in it".
  const selector = sortedMap(spec?.selector);
  return compact({
    namespace: requireNamespace(meta, 'Service'),
    name: requireName(meta, 'Service'),
    labels: sortedMap(meta?.labels),
    annotations: sortedMap(meta?.annotations, isNetloomAnnotation),
    type: str(spec?.type, 'spec.type'),
    clusterIps: strList(spec?.clusterIPs, 'spec.clusterIPs') ?? (clusterIp ? [clusterIp] : undefined),
    externalIps: strList(spec?.externalIPs, 'spec.externalIPs'),
    loadBalancerIps: loadBalancerIps(obj),
    loadBalancerClass: str(spec?.loadBalancerClass, 'spec.loadBalancerClass'),
    selector,
    hasSelector: selector !== undefined,
    ports: (spec?.ports ?? []).map(servicePort),
    sessionAffinity: str(spec?.sessionAffinity, 'spec.sessionAffinity'),
    sessionAffinityTimeoutSeconds: uint(
      spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds,
      'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
    ),
    externalTrafficPolicy: str(spec?.externalTrafficPolicy, 'spec.externalTrafficPolicy'),
    internalTrafficPolicy: str(spec?.internalTrafficPolicy, 'spec.internalTrafficPolicy'),
    healthCheckNodePort: uint(spec?.healthCheckNodePort, 'spec.healthCheckNodePort'),
    externalName: str(spec?.externalName, 'spec.externalName'),
    publishNotReadyAddresses: spec?.publishNotReadyAddresses === true,
    loadBalancerSourceRanges: sourceRanges(obj),
  });
}
