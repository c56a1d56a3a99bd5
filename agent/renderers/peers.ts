// The overlay towards other nodes: a tunnel per peer and a route to its pod subnet through it.
// The peer's values come from peer-select.ts, which derives the subnet from the peer's ID; this
// renderer still refuses a peer that would take this node's own ID or subnet, or a subnet
// outside the cluster's pod CIDR (a default route, the host's own network): whatever produced
// such a peer, routing it would hijack traffic that is not the peer's.
import type { Item } from '../scheduler/descriptor.ts';
import { routeKey, tunnelKey } from '../items/keys.ts';
import type { Route, Tunnel } from '../items/values.ts';
import { broadcastOf, containsIp, hostAt, isCidr, networkOf } from '../../lib/cidr.ts';
import type { NodeContext, PeerNode } from './context.ts';

/** The peer's gateway: its subnet's network address plus the gateway offset. */
function peerGateway(subnet: string, gatewayOffset: number): string | undefined {
  return isCidr(subnet) ? hostAt(subnet, gatewayOffset) : undefined;
}

const addressesOf = (cidr: string): [string, string] => [networkOf(cidr).split('/')[0]!, broadcastOf(cidr)];

/** Whether `inner` lies wholly inside `outer` (both valid CIDRs). */
function within(outer: string, inner: string): boolean {
  return isCidr(outer) && addressesOf(inner).every((ip) => containsIp(outer, ip));
}

/** Whether a peer's subnet may be routed to it: inside the pod CIDR, apart from this node's. */
function routable(ctx: NodeContext, subnet: string): boolean {
  if (!within(ctx.podCidr, subnet)) return false;
  return !isCidr(ctx.podSubnet) || !(within(subnet, ctx.podSubnet) || within(ctx.podSubnet, subnet));
}

export function renderPeer(ctx: NodeContext, peer: PeerNode, gatewayOffset = 1): Item[] {
  const gateway = peerGateway(peer.podSubnet, gatewayOffset);
  if (
    ctx.tunnelEndpoint === '' ||
    peer.name === ctx.node ||
    peer.id === ctx.id ||
    peer.tunnelEndpoint === '' ||
    gateway === undefined ||
    !routable(ctx, peer.podSubnet)
  )
    return [];
  const tKey = tunnelKey(ctx.vni, peer.name);
  const tunnel: Tunnel = {
    vni: ctx.vni,
    vrf: 0,
    peer: peer.name,
    peerId: peer.id,
    remoteIp: peer.tunnelEndpoint,
    localIp: ctx.tunnelEndpoint,
    port: ctx.vxlanPort,
  };
  const route: Route = { vrf: 0, dst: peer.podSubnet, via: { type: 'interface', interface: tKey, gateway } };
  return [
    { key: tKey, value: tunnel },
    { key: routeKey(0, peer.podSubnet), value: route },
  ];
}
