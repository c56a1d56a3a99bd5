// NetworkAttachmentDefinition (k8s.cni.cncf.io/v1, a CRD with no client-node model) →
// netloom.model.v1.NetworkAttachmentDefinition: the CNI config string, the device resource, the
// annotations netloom reads (Contrail's `opencontrail.org/cidr` makes a NAD a netloom network,
// lib/netattach/definition.ts), and whether it is being deleted (the KSR leader's finalizer holds
// a netloom network's NAD while pods are attached to it).
import type { NetworkAttachmentDefinition } from '../../proto/gen/netloom/model/v1/NetworkAttachmentDefinition.ts';
import {
  compact,
  isNetloomAnnotation,
  type Meta,
  requireName,
  requireNamespace,
  sortedMap,
  str,
} from './common.ts';

export interface KubeNetAttachDef {
  metadata?: Meta;
  spec?: { config?: string };
}

export const RESOURCE_NAME_ANNOTATION = 'k8s.v1.cni.cncf.io/resourceName';

export function convertNetAttach(obj: KubeNetAttachDef): NetworkAttachmentDefinition {
  const meta = obj.metadata;
  return compact({
    namespace: requireNamespace(meta, 'NetworkAttachmentDefinition'),
    name: requireName(meta, 'NetworkAttachmentDefinition'),
    config: str(obj.spec?.config, 'spec.config'),
    resourceName: str(
      meta?.annotations?.[RESOURCE_NAME_ANNOTATION],
      `annotation ${RESOURCE_NAME_ANNOTATION}`,
    ),
    annotations: sortedMap(meta?.annotations, isNetloomAnnotation),
    terminating: meta?.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
  });
}
