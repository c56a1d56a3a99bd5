// Pod interfaces as VPP TAPs (tap_create_v3) whose host end VPP creates inside the pod's
// network namespace, named as the pod expects (eth0), with the pod's MAC, MTU, address and
// default route. The pod side holds its address with the gateway's prefix length (VPP can
// only add a gateway the kernel considers on-link); VPP's side borrows the gateway loopback's
// address (unnumbered), answers ARP for the subnet (proxy ARP), knows the pod's MAC (static
// neighbour), sits in the pod's VRF (bound before it borrows an address: VPP refuses a table
// change after), and is a NAT44 inside interface when NAT is on and the pod is in VRF 0.
//
// An interface without a default route (`gateway: ''`, an extra interface of a custom
// network) gets what tap_create_v3 can give a pod side instead of routes: its address with the
// prefix length of its one route, which holds its address (the network's subnet), so the whole
// network is on-link through it; VPP answers ARP for the network (the VRF's proxy-ARP ranges)
// and the TAP borrows the VRF's anchor address (descriptors/vrf.ts). Routes tap_create_v3
// cannot express (several prefixes, a prefix not holding the address, VRF 0 without a
// gateway) are refused in validate.
//
// Pods in a custom network are not NAT44 inside interfaces: NAT44-ED translates an inside
// packet whose destination its outside table reaches through an outside interface (the
// uplink), whatever the packet's own table says (nat44_ed_not_translate), so a VRF N pod
// would reach the node's networks and beyond, masqueraded — out of its network without the
// network asking for source NAT.
// Half-made TAPs are deleted before the error is rethrown, so a retry starts clean.
import { PREFIX, addressKey } from '../../../items/keys.ts';
import { podInterfaceDependencies } from '../../../items/dependencies.ts';
import type { PodInterface } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import type { FibCalls } from '../calls/fib.ts';
import type { InterfaceCalls, VppInterface, VppTap } from '../calls/interfaces.ts';
import type { CnatCalls } from '../calls/cnat.ts';
import type { NatCalls } from '../calls/nat.ts';
import { keysByTag, tagOf } from '../naming.ts';
import { check, isCidr, isIp4, isMac, isVrf } from '../validate.ts';
import type { AddressMeta } from './address.ts';
import {
  addressOwner,
  configureVppSide,
  leaveCnat,
  gatewayOf,
  podMacOf as macOf,
  type PodInterfaceMeta,
} from './pod-vpp-side.ts';
import { addressOf, containsIp, splitCidr } from '../../../../lib/cidr.ts';

export type { PodInterfaceMeta } from './pod-vpp-side.ts';

export interface PodInterfacePorts {
  interfaces: Pick<
    InterfaceCalls,
    | 'createTap'
    | 'deleteTap'
    | 'taps'
    | 'list'
    | 'get'
    | 'setVrf'
    | 'vrf'
    | 'setUnnumbered'
    | 'setMtu'
    | 'proxyArpOn'
    | 'setUp'
  >;
  fib: Pick<FibCalls, 'setNeighbor'>;
  /** Absent when the driver runs without NAT44. */
  nat?: Pick<NatCalls, 'enable' | 'setInterface'>;
  cnat?: Pick<CnatCalls, 'available' | 'enableInterface' | 'setPodInterface' | 'ensureSnat'>;
}

/**
 * The pod side's address and gateway, given the gateway loopback's prefix length. Without a
 * gateway, the address takes the prefix length of the interface's one route (validate checks
 * it holds the address), else /32.
 */
export function podSide(
  v: PodInterface,
  gateway: AddressMeta | undefined,
): { hostIp4: string; hostIp4Gateway: string } {
  const ip = addressOf(v.addresses[0] ?? '');
  if (v.gateway === '') {
    const [route] = v.routes ?? [];
    const len = route !== undefined && containsIp(route, ip) ? splitCidr(route)?.length : undefined;
    return { hostIp4: `${ip}/${len ?? 32}`, hostIp4Gateway: '' };
  }
  if (gateway === undefined) return { hostIp4: `${ip}/32`, hostIp4Gateway: '' };
  const subnet = `${v.gateway}/${gateway.prefixLen}`;
  return containsIp(subnet, ip)
    ? { hostIp4: `${ip}/${gateway.prefixLen}`, hostIp4Gateway: v.gateway }
    : { hostIp4: `${ip}/32`, hostIp4Gateway: '' };
}

/** Why the pod side of a TAP cannot have these routes, or false. */
function routesProblem(v: PodInterface): string | false {
  const routes = v.routes ?? [];
  if (v.gateway !== '')
    return (
      routes.length > 0 &&
      'routes besides the default route cannot be set on the pod side by the vpp driver (tap_create_v3 sets one prefix and a gateway)'
    );
  if (v.vrf === 0)
    return 'an interface without a default route needs a custom network (a VRF other than 0) on the vpp driver: it borrows the VRF anchor address';
  const ip = v.addresses[0] ?? '';
  if (
    routes.length > 1 ||
    (routes.length === 1 && !(isCidr(routes[0]!) && isCidr(ip) && containsIp(routes[0]!, addressOf(ip))))
  )
    return `routes ${JSON.stringify(routes)} cannot be expressed by the vpp driver: without a default route the pod side holds its address with the prefix length of one route holding that address (tap_create_v3 sets no other routes)`;
  return false;
}

export function podInterfaceDescriptor(ports: PodInterfacePorts): Descriptor<PodInterface, PodInterfaceMeta> {
  const { interfaces } = ports;
  return {
    name: 'pod-interface',
    keyPrefix: PREFIX.podInterface,
    retrieveAfter: ['address'],

    validate(key, v) {
      check(key, [
        !isVrf(v.vrf) && `vrf ${v.vrf} out of range`,
        !/^[A-Za-z0-9_.-]{1,15}$/.test(v.ifname) &&
          `ifname ${JSON.stringify(v.ifname)} is not a valid interface name`,
        v.netns === '' && 'netns is empty',
        Buffer.byteLength(v.netns) > 63 && 'netns path longer than 63 bytes (VPP host_namespace)',
        !(Number.isInteger(v.mtu) && v.mtu >= 68 && v.mtu <= 9000) && `mtu ${v.mtu} out of range`,
        v.addresses.length !== 1 && 'the vpp driver configures exactly one address per pod interface',
        ...v.addresses.map(
          (a) => (!isCidr(a) || !isIp4(addressOf(a))) && `address ${JSON.stringify(a)} is not an IPv4 CIDR`,
        ),
        v.gateway !== '' &&
          !isIp4(v.gateway) &&
          `gateway ${JSON.stringify(v.gateway)} is not an IPv4 address`,
        v.mac !== '' && !isMac(v.mac) && `mac ${JSON.stringify(v.mac)} is not a MAC address`,
        routesProblem(v),
      ]);
    },

    dependencies: (_key, v) => podInterfaceDependencies(v),

    async create(key, v, ctx) {
      const gateway = gatewayOf(v, ctx);
      const mac = macOf(v);
      const side = podSide(v, gateway);
      const spec = {
        hostIfName: v.ifname,
        hostNamespace: v.netns,
        hostMtu: v.mtu,
        hostMac: mac,
        ...side,
        tag: tagOf(key),
      };
      const owner = addressOwner(key, v, ctx);
      const sw = await interfaces.createTap(spec);
      try {
        await configureVppSide(ports, sw, owner, v);
      } catch (err) {
        await interfaces.deleteTap(sw).catch(() => undefined);
        throw err;
      }
      const itf = await interfaces.get(sw);
      return {
        swIfIndex: sw,
        hostIfName: itf?.name ?? '',
        hostMac: itf?.mac ?? '',
        mac,
        mtu: v.mtu,
        gateway: side.hostIp4Gateway,
      };
    },

    async delete(key, v, meta) {
      const sw = meta?.swIfIndex ?? (await interfaces.list()).find((i) => i.tag === tagOf(key))?.swIfIndex;
      await leaveCnat(ports, v, sw);
      if (sw !== undefined) await interfaces.deleteTap(sw);
    },

    async retrieve(ctx) {
      const byTag = keysByTag(ctx.desired.keys());
      const taps = new Map((await interfaces.taps()).map((t) => [t.swIfIndex, t]));
      const out: Retrieved<PodInterface, PodInterfaceMeta>[] = [];
      for (const itf of await interfaces.list()) {
        const tap = taps.get(itf.swIfIndex);
        if (tap === undefined || !itf.tag.startsWith(PREFIX.podInterface)) continue;
        const key = byTag.get(itf.tag) ?? itf.tag;
        const want = ctx.desired.get(key);
        const gateway =
          want === undefined || want.gateway === ''
            ? undefined
            : ctx.metadata<AddressMeta>(addressKey(want.vrf, want.gateway));
        const ok =
          want !== undefined &&
          asDesired(want, gateway, itf, tap) &&
          (await interfaces.vrf(itf.swIfIndex)) === want.vrf;
        const meta: PodInterfaceMeta = {
          swIfIndex: itf.swIfIndex,
          hostIfName: itf.name,
          hostMac: itf.mac,
          mac: tap.hostMac,
          mtu: tap.hostMtu,
          gateway: want === undefined ? '' : podSide(want, gateway).hostIp4Gateway,
        };
        out.push({ key, value: ok ? want : orphan(key, itf, tap), metadata: meta, origin: 'netloom' });
      }
      return out;
    },
  };
}

function asDesired(
  v: PodInterface,
  gateway: AddressMeta | undefined,
  itf: VppInterface,
  tap: VppTap,
): boolean {
  return (
    itf.up &&
    tap.hostNamespace === v.netns &&
    tap.hostIfName === v.ifname &&
    tap.hostMtu === v.mtu &&
    tap.hostMac === macOf(v) &&
    tap.hostIp4 === podSide(v, gateway).hostIp4
  );
}

/** What VPP shows of a TAP that is not as desired: never equal to a desired value. */
function orphan(key: string, itf: VppInterface, tap: VppTap): PodInterface {
  const [namespace = '', pod = '', ifname = ''] = key.slice(PREFIX.podInterface.length).split('/');
  return {
    namespace,
    pod,
    containerId: '',
    netns: tap.hostNamespace,
    ifname,
    hostIfName: itf.name,
    mtu: tap.hostMtu,
    vrf: 0,
    addresses: [],
    gateway: '',
    mac: tap.hostMac,
  };
}
