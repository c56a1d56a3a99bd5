// Namespace → netloom.model.v1.Namespace: name, labels (namespace selectors match them) and
// the isolation/network annotations.
import type { V1Namespace } from '@kubernetes/client-node';
import type { Namespace } from '../../proto/gen/netloom/model/v1/Namespace.ts';
import { compact, isNetloomAnnotation, requireName, sortedMap } from './common.ts';

export function convertNamespace(obj: V1Namespace): Namespace {
  const meta = obj.metadata;
  return compact({
    name: requireName(meta, 'Namespace'),
    labels: sortedMap(meta?.labels),
    annotations: sortedMap(meta?.annotations, isNetloomAnnotation),
  });
}
