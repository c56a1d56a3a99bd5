// Which peer a node is, from what the view holds. The published nodes/info wins — for what the
// node alone knows (its tunnel endpoint). What its ID decides is never taken from the record:
// the ID is the one nodes/id/<id> (a create-only claim) gives the node's name, and the pod
// subnet is the plan's for that ID. A record that says otherwise is corrected, and one whose
// ID no claim backs is not used at all (judgeNodeInfo says why, for the agent to report); a
// forged record cannot make this node route a subnet that is not its peer's. When the record
// is gone (the agent died and its lease expired) or unusable, the peer is kept while its
// Kubernetes Node exists — its pods may still run and be reachable — from the last peer
// rendered, or, after this agent restarted, from its ID claim and the Node's InternalIP.
import { isIp } from '../../lib/cidr.ts';
import type { K8sNode, NodeInfo } from '../view/decode.ts';
import type { PeerNode } from './context.ts';

export interface PeerInputs {
  info?: NodeInfo;
  k8sNode?: K8sNode;
  /** The ID nodes/id/<id> gives this node name (only when exactly one does). */
  claimedId?: number;
  lastKnown?: PeerNode;
  /** The plan's pod subnet of a node ID; undefined outside the plan. */
  subnetOf: (id: number) => string | undefined;
}

/** What a nodes/info record is worth: the peer it gives (corrected), and what it got wrong. */
export interface NodeInfoVerdict {
  /** Undefined when the record cannot be used (no claim, ID outside the plan, no endpoint). */
  peer?: PeerNode;
  /** Each value the record states that its node's ID contradicts, or that makes it unusable. */
  problems: string[];
}

/** Judges node `name`'s nodes/info against its ID claim and the addressing plan (pure). */
export function judgeNodeInfo(
  name: string,
  info: NodeInfo,
  facts: Pick<PeerInputs, 'claimedId' | 'subnetOf'>,
): NodeInfoVerdict {
  const problems: string[] = [];
  if (info.name !== '' && info.name !== name) problems.push(`name is ${JSON.stringify(info.name)}`);
  const endpoint = info.tunnelEndpoint;
  if (endpoint !== '' && !isIp(endpoint))
    problems.push(`tunnelEndpoint ${JSON.stringify(endpoint)} is not an IP address`);
  const id = facts.claimedId;
  if (id === undefined) {
    problems.push(`no single nodes/id claim names ${name}: its ID ${info.id} is unproven`);
    return { problems };
  }
  if (info.id !== id) problems.push(`id is ${info.id}, but nodes/id/${id} names ${name}`);
  const subnet = facts.subnetOf(id);
  if (subnet === undefined) {
    problems.push(`ID ${id} is outside the addressing plan`);
    return { problems };
  }
  if (info.podSubnet !== subnet)
    problems.push(`podSubnet is ${info.podSubnet || '""'}, ID ${id} implies ${subnet}`);
  if (!isIp(endpoint)) return { problems }; // no endpoint (yet): nothing to tunnel to
  return { peer: { name, id, tunnelEndpoint: endpoint, podSubnet: subnet }, problems };
}

export function peerFor(name: string, inputs: PeerInputs): PeerNode | undefined {
  const { info, k8sNode } = inputs;
  const fromInfo = info ? judgeNodeInfo(name, info, inputs).peer : undefined;
  if (fromInfo) return fromInfo;
  if (!k8sNode) return undefined;
  if (inputs.lastKnown) return inputs.lastKnown;
  const internal = k8sNode.addresses.find((a) => a.type === 'InternalIP')?.address;
  const subnet = inputs.claimedId === undefined ? undefined : inputs.subnetOf(inputs.claimedId);
  if (inputs.claimedId === undefined || !internal || !subnet) return undefined;
  return { name, id: inputs.claimedId, tunnelEndpoint: internal, podSubnet: subnet };
}
