// Which peer a node is, from what the view holds. The published nodes/info wins. When it is
// gone (the agent died and its lease expired) the peer is kept while its Kubernetes Node
// exists — its pods may still run and be reachable — from the last info seen, or, after this
// agent restarted, from its ID claim and the Node's InternalIP.
import type { K8sNode, NodeInfo } from '../view/decode.ts';
import type { PeerNode } from './context.ts';

export interface PeerInputs {
  info?: NodeInfo;
  k8sNode?: K8sNode;
  /** The ID nodes/id/<id> gives this node name. */
  claimedId?: number;
  lastKnown?: PeerNode;
  subnetOf: (id: number) => string | undefined;
}

export function peerFor(name: string, inputs: PeerInputs): PeerNode | undefined {
  const { info, k8sNode } = inputs;
  if (info && info.id > 0 && info.tunnelEndpoint !== '' && info.podSubnet !== '') {
    return { name, id: info.id, tunnelEndpoint: info.tunnelEndpoint, podSubnet: info.podSubnet };
  }
  if (!k8sNode) return undefined;
  if (inputs.lastKnown) return inputs.lastKnown;
  const internal = k8sNode.addresses.find((a) => a.type === 'InternalIP')?.address;
  const subnet = inputs.claimedId === undefined ? undefined : inputs.subnetOf(inputs.claimedId);
  if (inputs.claimedId === undefined || !internal || !subnet) return undefined;
  return { name, id: inputs.claimedId, tunnelEndpoint: internal, podSubnet: subnet };
}
