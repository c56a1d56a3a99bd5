// Pod → netloom.model.v1.Pod: identity, labels, netloom/multi-net annotations, placement, IPs
// (primary first, as the API lists them), phase, named container ports (named target ports and
// policy ports resolve against them) and whether it is being deleted.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { ContainerPort } from '../../proto/gen/netloom/model/v1/ContainerPort.ts';
import type { Pod } from '../../proto/gen/netloom/model/v1/Pod.ts';
import {
  ConvertError,
  compact,
  isNetloomAnnotation,
  requireName,
  requireNamespace,
  sortedMap,
  str,
  uint,
} from './common.ts';

function ports(containers: readonly V1Container[], what: string): ContainerPort[] {
  const out: ContainerPort[] = [];
  containers.forEach((c, ci) => {
    (c.ports ?? []).forEach((p, pi) => {
      const where = `${what}[${ci}].ports[${pi}]`;
      if (typeof p?.containerPort !== 'number') throw new ConvertError(`${where} without containerPort`);
      out.push(
        compact({
          name: str(p.name, `${where}.name`),
          containerPort: uint(p.containerPort, where),
          protocol: str(p.protocol, `${where}.protocol`),
        }),
      );
    });
  });
  return out;
}

function podIps(obj: V1Pod): string[] | undefined {
  const list = (obj.status?.podIPs ?? [])
    .map((p) => p?.ip)
    .filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  if (list.length > 0) return list;
  const single = str(obj.status?.podIP, 'status.podIP');
  return single ? [single] : undefined;
}

export function convertPod(obj: V1Pod): Pod {
  const meta = obj.metadata;
  const spec = obj.spec;
  // Sidecars (init containers that keep running) serve ports like regular containers.
  const sidecars = (spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  return compact({
    namespace: requireNamespace(meta, 'Pod'),
    name: requireName(meta, 'Pod'),
    uid: str(meta?.uid, 'metadata.uid'),
    labels: sortedMap(meta?.labels),
    annotations: sortedMap(meta?.annotations, isNetloomAnnotation),
    nodeName: str(spec?.nodeName, 'spec.nodeName'),
    hostNetwork: spec?.hostNetwork === true,
    podIps: podIps(obj),
    phase: str(obj.status?.phase, 'status.phase'),
    containerPorts: [
      ...ports(spec?.containers ?? [], 'spec.containers'),
      ...ports(sidecars, 'spec.initContainers'),
    ],
    terminating: meta?.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
  });
}
