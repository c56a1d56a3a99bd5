// NetworkAttachmentDefinition (k8s.cni.cncf.io/v1, a CRD with no client-node model) →
// netloom.model.v1.NetworkAttachmentDefinition: the CNI config string and the device resource.
import type { NetworkAttachmentDefinition } from '../../proto/gen/netloom/model/v1/NetworkAttachmentDefinition.ts';
import { compact, type Meta, requireName, requireNamespace, str } from './common.ts';

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
  });
}
