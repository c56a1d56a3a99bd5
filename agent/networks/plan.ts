// A netloom virtual network as one node uses it: its VRF, VNI and this node's block of its
// subnet. The record comes from etcd (networks/<namespace>/<name>, written by the KSR leader);
// like a peer's nodes/info it is checked here before anything is routed from it, so a value
// someone else wrote cannot reach the data plane malformed. Pure.
import { AddressPlan, type NodeSubnet } from '../ipam/plan.ts';
import { familyOf, isCidr, networkOf } from '../../lib/cidr.ts';
import type { Network } from '../view/decode.ts';

/** A network on this node (and what a peer's block of it is). */
export interface NetworkOnNode {
  /** `<namespace>/<name>` of the NetworkAttachmentDefinition. */
  name: string;
  /** Network ID: its VRF on every node. */
  id: number;
  vni: number;
  subnets: string[];
  /** This node's block of the first subnet: addresses, gateway, reserved offsets. */
  block: NodeSubnet;
  snat: boolean;
  /** The block of a peer node, by its ID (undefined when the ID has no block in this network). */
  blockOf(id: number): NodeSubnet | undefined;
}

/** Largest VXLAN network identifier (24 bits). */
const MAX_VNI = 2 ** 24 - 1;

/** Why a network record cannot be used on a node with this ID, or undefined when it can. */
export function networkProblem(net: Network, nodeId: number, defaultVni: number): string | undefined {
  if (!/^[^/]+\/[^/]+$/.test(net.name)) return `name ${JSON.stringify(net.name)} is not <namespace>/<name>`;
  if (!Number.isSafeInteger(net.id) || net.id < 1) return `id ${net.id} is not a positive integer`;
  if (!Number.isSafeInteger(net.vni) || net.vni < 1 || net.vni > MAX_VNI)
    return `vni ${net.vni} out of range`;
  if (net.vni === defaultVni) return `vni ${net.vni} is the default network's`;
  if (net.subnets.length === 0) return 'no subnet';
  for (const s of net.subnets) {
    if (!isCidr(s) || familyOf(s) !== 4) return `subnet ${JSON.stringify(s)} is not an IPv4 CIDR`;
    if (networkOf(s) !== s) return `subnet ${s} has host bits set`;
  }
  try {
    new AddressPlan({
      podCidr: net.subnets[0]!,
      nodePrefixLength: net.nodePrefixLength,
      gatewayOffset: net.gatewayOffset || 1,
    }).forNode(nodeId);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/**
 * The network on the node with `nodeId`, or the reason it cannot be used there (a malformed
 * record, or a node ID beyond the network's blocks).
 */
export function networkOnNode(
  net: Network,
  nodeId: number,
  defaultVni: number,
): NetworkOnNode | { problem: string } {
  const problem = networkProblem(net, nodeId, defaultVni);
  if (problem !== undefined) return { problem: `network ${net.name}: ${problem}` };
  const plan = new AddressPlan({
    podCidr: net.subnets[0]!,
    nodePrefixLength: net.nodePrefixLength,
    gatewayOffset: net.gatewayOffset || 1,
  });
  return {
    name: net.name,
    id: net.id,
    vni: net.vni,
    subnets: [...net.subnets],
    block: plan.forNode(nodeId),
    snat: net.snat,
    blockOf: (id) => (Number.isInteger(id) && id >= 1 && id <= plan.maxNodeId ? plan.forNode(id) : undefined),
  };
}

export const isNetworkOnNode = (v: NetworkOnNode | { problem: string }): v is NetworkOnNode =>
  !('problem' in v);
