// NetworkPolicy → netloom.model.v1.Policy. Selector presence is kept (an empty podSelector in a
// peer means "every pod", an absent one "not restricted by pod"); rule and peer order is the
// API's; ipBlock except lists and endPort ranges are carried as given.
import type { V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';
import type { Policy } from '../../proto/gen/netloom/model/v1/Policy.ts';
import type { PolicyPeer } from '../../proto/gen/netloom/model/v1/PolicyPeer.ts';
import type { PolicyPort } from '../../proto/gen/netloom/model/v1/PolicyPort.ts';
import type { PolicyRule } from '../../proto/gen/netloom/model/v1/PolicyRule.ts';
import {
  ConvertError,
  compact,
  labelSelector,
  portRef,
  requireName,
  requireNamespace,
  str,
  strList,
  uint,
} from './common.ts';

function port(p: V1NetworkPolicyPort, what: string): PolicyPort {
  return compact({
    protocol: str(p?.protocol, `${what}.protocol`),
    port: portRef(p?.port, `${what}.port`),
    endPort: uint(p?.endPort, `${what}.endPort`),
  });
}

function peer(p: V1NetworkPolicyPeer, what: string): PolicyPeer {
  let ipBlock;
  if (p?.ipBlock) {
    if (typeof p.ipBlock.cidr !== 'string') throw new ConvertError(`${what}.ipBlock without cidr`);
    ipBlock = compact({ cidr: p.ipBlock.cidr, except: strList(p.ipBlock.except, `${what}.ipBlock.except`) });
  }
  return compact({
    podSelector: labelSelector(p?.podSelector, `${what}.podSelector`),
    namespaceSelector: labelSelector(p?.namespaceSelector, `${what}.namespaceSelector`),
    ipBlock,
  });
}

interface KubeRule {
  ports?: V1NetworkPolicyPort[];
  from?: V1NetworkPolicyPeer[];
  to?: V1NetworkPolicyPeer[];
}

function rules(list: readonly KubeRule[] | undefined, dir: 'ingress' | 'egress'): PolicyRule[] {
  return (list ?? []).map((r, i) => {
    const what = `spec.${dir}[${i}]`;
    const peers = dir === 'ingress' ? r?.from : r?.to;
    return compact({
      ports: (r?.ports ?? []).map((p, j) => port(p, `${what}.ports[${j}]`)),
      peers: (peers ?? []).map((p, j) => peer(p, `${what}.${dir === 'ingress' ? 'from' : 'to'}[${j}]`)),
    });
  });
}

export function convertPolicy(obj: V1NetworkPolicy): Policy {
  const meta = obj.metadata;
  const spec = obj.spec;
  return compact({
    namespace: requireNamespace(meta, 'NetworkPolicy'),
    name: requireName(meta, 'NetworkPolicy'),
    // Required by the API; an absent one would select every pod, like an empty one.
    podSelector: labelSelector(spec?.podSelector, 'spec.podSelector') ?? {},
    policyTypes: strList(spec?.policyTypes, 'spec.policyTypes'),
    ingress: rules(spec?.ingress, 'ingress'),
    egress: rules(spec?.egress, 'egress'),
  });
}
