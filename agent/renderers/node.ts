// This node's own items: the pod gateway, source NAT for traffic leaving the cluster, and its
// end of the overlay.
import type { Item } from '../scheduler/descriptor.ts';
import { addressKey, overlayKey, snatKey } from '../items/keys.ts';
import type { Address, Overlay, SourceNat } from '../items/values.ts';
import type { NodeContext } from './context.ts';

export function renderNodeBase(ctx: NodeContext): Item[] {
  const gateway: Address = { vrf: 0, address: `${ctx.gateway}/${ctx.podPrefixLength}`, role: 'pod-gateway' };
  const snat: SourceNat = {
    vrf: 0,
    source: ctx.podSubnet,
    except: [ctx.podCidr, ctx.serviceCidr],
    toAddress: '',
  };
  const items: Item[] = [
    { key: addressKey(0, ctx.gateway), value: gateway },
    { key: snatKey(0, ctx.podSubnet), value: snat },
  ];
  if (ctx.tunnelEndpoint !== '') {
    const overlay: Overlay = {
      vni: ctx.vni,
      vrf: 0,
      localIp: ctx.tunnelEndpoint,
      localId: ctx.id,
      port: ctx.vxlanPort,
      mtu: ctx.mtu,
    };
    items.push({ key: overlayKey(ctx.vni), value: overlay });
  }
  return items;
}
