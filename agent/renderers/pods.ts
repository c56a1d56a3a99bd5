// Local pods: one interface per attachment, with its /32 route towards it, in the VRF of the
// attachment's network. A primary interface gets the default route; an extra interface (from
// k8s.v1.cni.cncf.io/networks) gets routes to its network's subnets instead — unless the pod
// moved its default route to the extra (`default-route`): then the primary routes the cluster's
// prefixes (its network's, the service CIDR) and the extra has the default.
import type { Item } from '../scheduler/descriptor.ts';
import { podInterfaceKey, routeKey } from '../items/keys.ts';
import type { PodInterface, Route } from '../items/values.ts';
import type { Attachment } from '../attachments/attachment.ts';
import type { NetworkOnNode } from '../networks/plan.ts';
import type { NodeContext } from './context.ts';
import { hostIfName } from './names.ts';

const DEFAULT_VRF = 0;

/**
 * The items of one attached pod interface. `net` is the attachment's network on this node
 * (required when `a.network` is not ''; without it nothing is rendered: the network is unknown).
 */
export function renderPodAttachment(ctx: NodeContext, a: Attachment, net?: NetworkOnNode): Item[] {
  if (a.delegated !== undefined) return []; // another plugin's interface
  if (a.network !== '' && net?.name !== a.network) return [];
  const vrf = net ? net.id : DEFAULT_VRF;
  // The primary has the default route unless an extra took it (`defaultRoute: []`); an extra
  // only when it took it. Without it, the interface routes its network's prefixes.
  const hasDefault = a.extra === true ? (a.defaultRoute?.length ?? 0) > 0 : a.defaultRoute === undefined;
  const cluster = net
    ? [...net.subnets, ...(a.extra === true ? [] : [ctx.serviceCidr])]
    : [ctx.podCidr, ctx.serviceCidr];
  const key = podInterfaceKey(a.namespace, a.pod, a.ifname);
  const iface: PodInterface = {
    namespace: a.namespace,
    pod: a.pod,
    containerId: a.containerId,
    netns: a.netns,
    ifname: a.ifname,
    hostIfName: hostIfName(a.containerId, a.ifname),
    mtu: ctx.mtu,
    vrf,
    addresses: [`${a.ip}/32`],
    gateway: hasDefault ? (net ? net.block.gateway : ctx.gateway) : '',
    mac: a.mac ?? '',
    ...(hasDefault ? {} : { routes: cluster }),
  };
  const route: Route = { vrf, dst: `${a.ip}/32`, via: { type: 'interface', interface: key } };
  return [
    { key, value: iface },
    { key: routeKey(vrf, route.dst), value: route },
  ];
}
