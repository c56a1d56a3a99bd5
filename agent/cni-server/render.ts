// A pod attachment as items (pure): the pod interface and a host route per pod address. The
// item key names the pod, not the container, so a replaced sandbox takes over its pod's items.
import { podInterfaceKey, routeKey } from '../items/keys.ts';
import type { PodInterface, Route } from '../items/values.ts';
import type { Item } from '../scheduler/descriptor.ts';
import type { Attachment } from './attachments.ts';

export const hostPrefix = (ip: string): string => `${ip}/${ip.includes(':') ? 128 : 32}`;

export function podKeyOf(a: Pick<Attachment, 'namespace' | 'pod' | 'ifname'>): string {
  return podInterfaceKey(a.namespace, a.pod, a.ifname);
}

export function attachmentItems(a: Attachment): Item[] {
  const key = podKeyOf(a);
  const iface: PodInterface = {
    namespace: a.namespace,
    pod: a.pod,
    containerId: a.containerId,
    netns: a.netns,
    ifname: a.ifname,
    hostIfName: a.hostIfName,
    mtu: a.mtu,
    vrf: 0,
    addresses: a.ips.map(hostPrefix),
    gateway: a.gateway,
    mac: '',
  };
  const routes: Item[] = a.ips.map((ip) => {
    const r: Route = { vrf: 0, dst: hostPrefix(ip), via: { type: 'interface', interface: key } };
    return { key: routeKey(0, r.dst), value: r };
  });
  return [{ key, value: iface }, ...routes];
}
