// Custom virtual networks on this node: per network its VRF, this node's gateway in its block,
// its end of the network's own overlay (one VNI per network), source NAT when the network asks
// for it, and the default network barred from its subnets; per peer node a tunnel on the
// network's VNI and a route to the peer's block, in the network's VRF. A network is isolated by
// construction: its VRF holds only its own routes, and nothing else routes to it.
import type { Item } from '../scheduler/descriptor.ts';
import { addressKey, overlayKey, routeKey, snatKey, tunnelKey, vrfKey } from '../items/keys.ts';
import type { Address, Overlay, Route, SourceNat, Tunnel, Vrf } from '../items/values.ts';
import type { NetworkOnNode } from '../networks/plan.ts';
import type { NodeContext, PeerNode } from './context.ts';

/**
 * This node's items of one network. `allSubnets` are every network's subnets (the cluster's
 * internal destinations a source NAT leaves alone).
 */
export function renderNetworkBase(
  ctx: NodeContext,
  net: NetworkOnNode,
  allSubnets: readonly string[],
): Item[] {
  const vrf: Vrf = { id: net.id, network: net.name, subnets: [...net.subnets] };
  const gateway: Address = {
    vrf: net.id,
    address: `${net.block.gateway}/${net.block.subnet.length}`,
    role: 'pod-gateway',
  };
  const items: Item[] = [
    { key: vrfKey(net.id), value: vrf },
    { key: addressKey(net.id, net.block.gateway), value: gateway },
  ];
  // The default network's pods (and the node) must not reach into the network.
  for (const subnet of net.subnets) {
    const barred: Route = { vrf: 0, dst: subnet, via: { type: 'drop' } };
    items.push({ key: routeKey(0, subnet), value: barred });
  }
  if (net.snat) {
    const snat: SourceNat = {
      vrf: net.id,
      source: net.block.cidr,
      except: [...new Set([ctx.podCidr, ctx.serviceCidr, ...allSubnets])],
      toAddress: '',
    };
    items.push({ key: snatKey(net.id, net.block.cidr), value: snat });
  }
  if (ctx.tunnelEndpoint !== '') {
    const overlay: Overlay = {
      vni: net.vni,
      vrf: net.id,
      localIp: ctx.tunnelEndpoint,
      localId: ctx.id,
      port: ctx.vxlanPort,
      mtu: ctx.mtu,
    };
    items.push({ key: overlayKey(net.vni), value: overlay });
  }
  return items;
}

/**
 * The tunnel to one peer on the network's VNI and the route to the peer's block through it. The
 * block is derived from the peer's ID (already proven by its claim, peer-select.ts), never read
 * from a record.
 */
export function renderNetworkPeer(ctx: NodeContext, net: NetworkOnNode, peer: PeerNode): Item[] {
  const block = net.blockOf(peer.id);
  if (
    ctx.tunnelEndpoint === '' ||
    peer.name === ctx.node ||
    peer.id === ctx.id ||
    peer.tunnelEndpoint === '' ||
    block === undefined
  )
    return [];
  const tKey = tunnelKey(net.vni, peer.name);
  const tunnel: Tunnel = {
    vni: net.vni,
    vrf: net.id,
    peer: peer.name,
    peerId: peer.id,
    remoteIp: peer.tunnelEndpoint,
    localIp: ctx.tunnelEndpoint,
    port: ctx.vxlanPort,
  };
  const route: Route = {
    vrf: net.id,
    dst: block.cidr,
    via: { type: 'interface', interface: tKey, gateway: block.gateway },
  };
  return [
    { key: tKey, value: tunnel },
    { key: routeKey(net.id, block.cidr), value: route },
  ];
}
