// Local pods: one interface per attachment, with its /32 route towards it.
import type { Item } from '../scheduler/descriptor.ts';
import { podInterfaceKey, routeKey } from '../items/keys.ts';
import type { PodInterface, Route } from '../items/values.ts';
import type { Attachment } from '../attachments/attachment.ts';
import type { NodeContext } from './context.ts';
import { hostIfName } from './names.ts';

const DEFAULT_VRF = 0;

/** The items of one attached pod interface (default network; custom networks are a later issue). */
export function renderPodAttachment(ctx: NodeContext, a: Attachment): Item[] {
  const key = podInterfaceKey(a.namespace, a.pod, a.ifname);
  const iface: PodInterface = {
    namespace: a.namespace,
    pod: a.pod,
    containerId: a.containerId,
    netns: a.netns,
    ifname: a.ifname,
    hostIfName: hostIfName(a.containerId, a.ifname),
    mtu: ctx.mtu,
    vrf: DEFAULT_VRF,
    addresses: [`${a.ip}/32`],
    gateway: ctx.gateway,
    mac: '',
  };
  const route: Route = { vrf: DEFAULT_VRF, dst: `${a.ip}/32`, via: { type: 'interface', interface: key } };
  return [
    { key, value: iface },
    { key: routeKey(DEFAULT_VRF, route.dst), value: route },
  ];
}
