// The overlay towards other nodes: a tunnel per peer and a route to its pod subnet through it.
import type { Item } from '../scheduler/descriptor.ts';
import { routeKey, tunnelKey } from '../items/keys.ts';
import type { Route, Tunnel } from '../items/values.ts';
import { hostAt, isCidr } from '../../lib/cidr.ts';
import type { NodeContext, PeerNode } from './context.ts';

/** The peer's gateway: its subnet's network address plus the gateway offset. */
function peerGateway(subnet: string, gatewayOffset: number): string | undefined {
  return isCidr(subnet) ? hostAt(subnet, gatewayOffset) : undefined;
}

export function renderPeer(ctx: NodeContext, peer: PeerNode, gatewayOffset = 1): Item[] {
  const gateway = peerGateway(peer.podSubnet, gatewayOffset);
  if (
    ctx.tunnelEndpoint === '' ||
    peer.name === ctx.node ||
    peer.tunnelEndpoint === '' ||
    gateway === undefined
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
