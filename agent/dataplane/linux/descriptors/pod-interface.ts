// Pod interfaces on Linux: a veth pair, the host side in the node's namespace (fixed MAC,
// alias = item key), the pod side in the pod's namespace with its addresses, a permanent
// neighbour for the link-local gateway 169.254.1.1 and a default route through it — or, for an
// extra interface (net1…, no gateway), its `routes` through it `onlink`. A pod of a
// custom network (VRF N) is wired the same way; only its /32 goes into the VRF's table.
//
// Retrieve reports the desired value only when both sides are exactly as desired. A drifted or
// half-present interface, and a veth with netloom's alias that no item wants, is reported with
// what the host side shows (no namespace, no addresses): never equal to a desired value, so
// the scheduler deletes it, and recreates it where it is wanted.
import { PREFIX } from '../../../items/keys.ts';
import { podInterfaceDependencies } from '../../../items/dependencies.ts';
import type { PodInterface, WiredPodInterface } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { jsonEqual } from '../../../scheduler/status.ts';
import {
  DEFAULT_NAMES,
  HOST_VETH_MAC,
  POD_GATEWAY_V4,
  isV6,
  podMac,
  vrfTable,
  type LinuxNames,
} from '../naming.ts';
import type { HostVeth, NodePort, PodLinkPort, PodSide, RouteTable } from '../ports.ts';
import { networkOf } from '../../../../lib/cidr.ts';
import { check, isCidr, isIfName, isMac, sameSet, vrfRangeProblem } from '../validate.ts';

/** What an applied pod interface tells routes (routeDevice, hostRoutes) and the CNI result (the rest). */
export interface PodInterfaceMeta extends WiredPodInterface {
  routeDevice: string;
  /** Host prefixes the wiring routed to routeDevice (netloom's protocol). */
  hostRoutes: string[];
  /** Their table, for a pod of a custom network (absent: main). */
  hostTable?: RouteTable;
}

export interface PodInterfacePorts {
  links: PodLinkPort;
  node: NodePort;
}

const macOf = (v: PodInterface): string =>
  v.mac !== '' ? v.mac.toLowerCase() : podMac(v.addresses[0] ?? '0.0.0.0/32');

/** Each address as a host prefix: what the node routes to the pod's veth. */
const hostRoutesOf = (v: PodInterface): string[] =>
  v.addresses.map((a) => `${a.split('/')[0]}/${isV6(a) ? 128 : 32}`);

/** The VRF's table for a custom network's pod; undefined (main) for VRF 0. */
const hostTableOf = (v: PodInterface, names: LinuxNames): number | undefined => {
  const t = vrfTable(names, v.vrf);
  return t === 'main' ? undefined : t;
};

const metaOf = (v: PodInterface, mac: string, names: LinuxNames): PodInterfaceMeta => ({
  hostRoutes: hostRoutesOf(v),
  ...(hostTableOf(v, names) !== undefined ? { hostTable: hostTableOf(v, names) } : {}),
  hostIfName: v.hostIfName,
  hostMac: HOST_VETH_MAC,
  mac,
  mtu: v.mtu,
  routeDevice: v.hostIfName,
  gateway: v.gateway !== '' && v.addresses.some((a) => !isV6(a)) ? POD_GATEWAY_V4 : '',
});

/** The extra prefixes the pod side routes via the gateway (only with an IPv4 address to send from). */
const routesOf = (v: PodInterface): string[] => (v.addresses.some((a) => !isV6(a)) ? (v.routes ?? []) : []);

/** Why `routes` cannot be wired as asked (pure; validate's part for the field). */
export function routesProblems(v: PodInterface): (string | false)[] {
  const routes = v.routes ?? [];
  return [
    routes.length > 0 &&
      !v.addresses.some((a) => isCidr(a) && !isV6(a)) &&
      'routes need an IPv4 address on the interface (they are IPv4 routes via 169.254.1.1)',
    new Set(routes).size !== routes.length && 'routes repeat',
    ...routes.map((r) => {
      if (!isCidr(r)) return `route ${JSON.stringify(r)} is not a CIDR`;
      if (isV6(r))
        return `route ${r}: IPv6 routes on a pod interface are not implemented by the linux driver`;
      if (networkOf(r) !== r) return `route ${r} has host bits set (the prefix is ${networkOf(r)})`;
      return r.endsWith('/0') && `route ${r}: a default route is asked for with gateway, not routes`;
    }),
  ];
}

/** Whether both sides are exactly what `v` asks for. */
export function wiredAsDesired(v: PodInterface, host: HostVeth, pod: PodSide | undefined): boolean {
  if (!pod) return false;
  const wantsDefault = v.gateway !== '' && v.addresses.some((a) => !isV6(a));
  return (
    host.hostIfName === v.hostIfName &&
    host.up &&
    host.mtu === v.mtu &&
    host.peerIfIndex === pod.ifindex &&
    pod.up &&
    pod.mtu === v.mtu &&
    pod.mac.toLowerCase() === macOf(v) &&
    sameSet(pod.addresses, v.addresses) &&
    pod.defaultRoute === wantsDefault &&
    sameSet(pod.routes, routesOf(v))
  );
}

/** The key under which a wiring's route waits for its route item (route.ts claims it once). */
export const wiredRouteKey = (device: string, dst: string): string => `${device}|${dst}`;

export function podInterfaceDescriptor(
  ports: PodInterfacePorts,
  wiredRoutes: Set<string> = new Set(),
  names: LinuxNames = DEFAULT_NAMES,
): Descriptor<PodInterface, PodInterfaceMeta> {
  return {
    name: 'pod-interface',
    keyPrefix: PREFIX.podInterface,
    // Pods wired in one transaction share the node-side process (tools.ts coalesces a tick's
    // batches); each pod side is its own namespace, so those run side by side.
    concurrent: true,

    validate(key, v) {
      check(key, [
        ...vrfRangeProblem(names, v.vrf, v.addresses),
        !isIfName(v.hostIfName) && `hostIfName ${JSON.stringify(v.hostIfName)} is not a valid interface name`,
        !isIfName(v.ifname) && `ifname ${JSON.stringify(v.ifname)} is not a valid interface name`,
        v.netns === '' && 'netns is empty',
        !(Number.isInteger(v.mtu) && v.mtu >= 68 && v.mtu <= 65535) && `mtu ${v.mtu} out of range`,
        v.addresses.length === 0 && 'no addresses',
        ...v.addresses.map((a) => !isCidr(a) && `address ${JSON.stringify(a)} is not a CIDR`),
        v.mac !== '' && !isMac(v.mac) && `mac ${JSON.stringify(v.mac)} is not a MAC address`,
        ...routesProblems(v),
      ]);
    },

    equivalent: (_key, a, b) =>
      sameSet(a.addresses, b.addresses) &&
      sameSet(a.routes ?? [], b.routes ?? []) &&
      jsonEqual({ ...a, addresses: [], routes: [] }, { ...b, addresses: [], routes: [] }),

    dependencies: (_key, v) => podInterfaceDependencies(v),

    async create(key, v) {
      await ports.node.ensureForwarding();
      const mac = macOf(v);
      const hostTable = hostTableOf(v, names);
      await ports.links.wire({
        key,
        hostIfName: v.hostIfName,
        netns: v.netns,
        ifname: v.ifname,
        mtu: v.mtu,
        mac,
        addresses: v.addresses,
        defaultRoute: v.gateway !== '',
        ...(routesOf(v).length > 0 ? { routes: routesOf(v) } : {}),
        hostRoutes: hostRoutesOf(v),
        ...(hostTable !== undefined ? { hostTable } : {}),
      });
      for (const dst of hostRoutesOf(v)) wiredRoutes.add(wiredRouteKey(v.hostIfName, dst));
      return metaOf(v, mac, names);
    },

    async delete(_key, v, meta) {
      const device = meta?.hostIfName ?? v.hostIfName;
      for (const dst of hostRoutesOf(v)) wiredRoutes.delete(wiredRouteKey(device, dst));
      await ports.links.unwire(device);
    },

    async retrieve(ctx) {
      const out: Retrieved<PodInterface, PodInterfaceMeta>[] = [];
      for (const host of await ports.links.hostVeths()) {
        if (host.key === undefined || !host.key.startsWith(PREFIX.podInterface)) continue;
        const want = ctx.desired.get(host.key);
        const pod = want ? await ports.links.podSide(want.netns, want.ifname) : undefined;
        if (want && wiredAsDesired(want, host, pod)) {
          out.push({
            key: host.key,
            value: want,
            metadata: metaOf(want, macOf(want), names),
            origin: 'netloom',
          });
        } else {
          out.push({ key: host.key, value: orphan(host), origin: 'netloom' });
        }
      }
      return out;
    },
  };
}

/** What retrieve can say from the host side alone: enough to delete the veth. */
function orphan(host: HostVeth): PodInterface {
  const [namespace = '', pod = '', ifname = ''] = (host.key ?? '')
    .slice(PREFIX.podInterface.length)
    .split('/');
  return {
    namespace,
    pod,
    containerId: '',
    netns: '',
    ifname,
    hostIfName: host.hostIfName,
    mtu: host.mtu,
    vrf: 0,
    addresses: [],
    gateway: '',
    mac: '',
  };
}
