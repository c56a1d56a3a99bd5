// Node → netloom.model.v1.Node: addresses (kubelet's order: the first InternalIP is the one
// agents use), pod CIDRs, labels, netloom annotations, cordon state.
import type { V1Node } from '@kubernetes/client-node';
import type { Node } from '../../proto/gen/netloom/model/v1/Node.ts';
import type { NodeAddress } from '../../proto/gen/netloom/model/v1/NodeAddress.ts';
import {
  ConvertError,
  compact,
  isNetloomAnnotation,
  requireName,
  sortedMap,
  str,
  strList,
} from './common.ts';

function addresses(obj: V1Node): NodeAddress[] {
  return (obj.status?.addresses ?? []).map((a, i) => {
    if (typeof a?.address !== 'string') throw new ConvertError(`Node status.addresses[${i}] without address`);
    return compact({ type: str(a.type, `status.addresses[${i}].type`), address: a.address });
  });
}

export function convertNode(obj: V1Node): Node {
  const meta = obj.metadata;
  const spec = obj.spec;
  const single = str(spec?.podCIDR, 'spec.podCIDR');
  return compact({
    name: requireName(meta, 'Node'),
    labels: sortedMap(meta?.labels),
    annotations: sortedMap(meta?.annotations, isNetloomAnnotation),
    addresses: addresses(obj),
    podCidrs: strList(spec?.podCIDRs, 'spec.podCIDRs') ?? (single ? [single] : undefined),
    unschedulable: spec?.unschedulable === true,
  });
}
