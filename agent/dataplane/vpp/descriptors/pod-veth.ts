// Pod interfaces as a veth pair given to VPP with af_packet, for nodes without /dev/vhost-net
// (which TAPs need). The pod side is wired by the Linux driver's PodLinkPort exactly as on
// Linux (name, MAC, MTU, the item's addresses, a permanent neighbour for the link-local gateway
// 169.254.1.1, the default route and any `routes` through it); the host end stays in VPP's
// namespace and becomes VPP's interface `host-<hostIfName>` (af_packet_create_v3), configured
// like a TAP's VPP side (pod-vpp-side.ts) and tagged with the item key.
//
// MACs: VPP's interface has AF_PACKET_MAC, and the pod's gateway neighbour points there; the
// kernel's end of the veth gets another, derived MAC (hostVethMac): the pod's frames reach it
// too, and with VPP's MAC the node's kernel would take them as its own and maybe forward them.
// No host routes: VPP routes the pod's address (route items), not the node's kernel.
//
// Unlike the TAP (tap_create_v3 sets one prefix and a gateway), the pod side here can hold
// several routes, and a default route beside them. An interface without a default route still
// borrows its VRF's anchor address on VPP's side, so it needs a custom network (VRF ≠ 0).
//
// Order: wire the veth (pod side complete) → af_packet_create_v3 → tag → VPP-side steps → up.
// A failure undoes everything made (af_packet_delete, unwire) before rethrowing, so a retry
// starts clean; delete is af_packet_delete by host_if_name, then unwire.
import { PREFIX } from '../../../items/keys.ts';
import { podInterfaceDependencies } from '../../../items/dependencies.ts';
import type { PodInterface } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import type { HostVeth, PodLinkPort, PodSide } from '../../linux/ports.ts';
import { POD_GATEWAY_V4 } from '../../linux/naming.ts';
import { sameSet } from '../../linux/validate.ts';
import { VppApiError } from '../api/errors.ts';
import type { AfPacketCalls, VppAfPacket } from '../calls/af-packet.ts';
import type { InterfaceCalls, VppInterface } from '../calls/interfaces.ts';
import { AF_PACKET_MAC, hostVethMac, keysByTag, tagOf } from '../naming.ts';
import { check, isCidr, isIp4, isMac, isVrf } from '../validate.ts';
import {
  addressOwner,
  configureVppSide,
  leaveCnat,
  podMacOf,
  type PodInterfaceMeta,
  type VppSidePorts,
} from './pod-vpp-side.ts';
import { addressOf, networkOf } from '../../../../lib/cidr.ts';

/** af_packet_create on a host_if_name VPP already holds (src/plugins/af_packet/af_packet.c). */
const IF_ALREADY_EXISTS = -79;

export interface PodVethPorts extends VppSidePorts {
  interfaces: VppSidePorts['interfaces'] & Pick<InterfaceCalls, 'list' | 'get' | 'setTag' | 'vrf'>;
  afPacket: Pick<AfPacketCalls, 'create' | 'delete' | 'list'>;
  /** The node side of the veths: VPP's network namespace. */
  links: PodLinkPort;
}

/** Why the pod side cannot have these routes (they are IPv4 routes via 169.254.1.1), or false. */
function routesProblems(v: PodInterface): (string | false)[] {
  const routes = v.routes ?? [];
  return [
    new Set(routes).size !== routes.length && 'routes repeat',
    ...routes.map((r) => {
      if (!isCidr(r) || !isIp4(addressOf(r))) return `route ${JSON.stringify(r)} is not an IPv4 CIDR`;
      if (networkOf(r) !== r) return `route ${r} has host bits set (the prefix is ${networkOf(r)})`;
      return r.endsWith('/0') && `route ${r}: a default route is asked for with gateway, not routes`;
    }),
  ];
}

/** Whether the pod side is exactly what `v` asks for, and is the peer of `host`. */
function podAsDesired(v: PodInterface, host: HostVeth, pod: PodSide | undefined): boolean {
  return (
    pod !== undefined &&
    host.peerIfIndex === pod.ifindex &&
    pod.up &&
    pod.mtu === v.mtu &&
    pod.mac.toLowerCase() === podMacOf(v) &&
    sameSet(pod.addresses, v.addresses) &&
    pod.defaultRoute === (v.gateway !== '') &&
    sameSet(pod.routes, v.routes ?? [])
  );
}

const metaOf = (v: PodInterface, itf: VppInterface | undefined, sw: number): PodInterfaceMeta => ({
  swIfIndex: sw,
  hostIfName: itf?.name ?? '',
  hostMac: itf?.mac ?? '',
  mac: podMacOf(v),
  mtu: v.mtu,
  gateway: v.gateway !== '' ? POD_GATEWAY_V4 : '',
});

export function podVethDescriptor(ports: PodVethPorts): Descriptor<PodInterface, PodInterfaceMeta> {
  const { interfaces, afPacket, links } = ports;

  /** af_packet_create_v3; a stale one on the same name (a crash before its tag) is replaced once. */
  const createAfPacket = async (hostIfName: string): Promise<number> => {
    try {
      return await afPacket.create(hostIfName, AF_PACKET_MAC);
    } catch (err) {
      if (!(err instanceof VppApiError && err.retval === IF_ALREADY_EXISTS)) throw err;
      await afPacket.delete(hostIfName);
      return afPacket.create(hostIfName, AF_PACKET_MAC);
    }
  };

  return {
    name: 'pod-interface',
    keyPrefix: PREFIX.podInterface,

    validate(key, v) {
      check(key, [
        !isVrf(v.vrf) && `vrf ${v.vrf} out of range`,
        !/^[A-Za-z0-9_.-]{1,15}$/.test(v.ifname) &&
          `ifname ${JSON.stringify(v.ifname)} is not a valid interface name`,
        !/^[A-Za-z0-9_.-]{1,15}$/.test(v.hostIfName) &&
          `hostIfName ${JSON.stringify(v.hostIfName)} is not a valid interface name`,
        v.netns === '' && 'netns is empty',
        !(Number.isInteger(v.mtu) && v.mtu >= 68 && v.mtu <= 9000) && `mtu ${v.mtu} out of range`,
        v.addresses.length !== 1 && 'the vpp driver configures exactly one address per pod interface',
        ...v.addresses.map(
          (a) => (!isCidr(a) || !isIp4(addressOf(a))) && `address ${JSON.stringify(a)} is not an IPv4 CIDR`,
        ),
        v.gateway !== '' &&
          !isIp4(v.gateway) &&
          `gateway ${JSON.stringify(v.gateway)} is not an IPv4 address`,
        v.gateway === '' &&
          v.vrf === 0 &&
          'an interface without a default route needs a custom network (a VRF other than 0) on the vpp driver: VPP’s side borrows the VRF anchor address',
        v.mac !== '' && !isMac(v.mac) && `mac ${JSON.stringify(v.mac)} is not a MAC address`,
        ...routesProblems(v),
      ]);
    },

    dependencies: (_key, v) => podInterfaceDependencies(v),

    async create(key, v, ctx) {
      const owner = addressOwner(key, v, ctx);
      const routes = v.routes ?? [];
      await links.wire({
        key,
        hostIfName: v.hostIfName,
        netns: v.netns,
        ifname: v.ifname,
        mtu: v.mtu,
        mac: podMacOf(v),
        addresses: v.addresses,
        defaultRoute: v.gateway !== '',
        ...(routes.length > 0 ? { routes } : {}),
        hostRoutes: [],
        hostMac: hostVethMac(key),
        gatewayMac: AF_PACKET_MAC,
      });
      let sw: number;
      try {
        sw = await createAfPacket(v.hostIfName);
        await interfaces.setTag(sw, tagOf(key));
        await configureVppSide(ports, sw, owner, v);
      } catch (err) {
        await afPacket.delete(v.hostIfName).catch(() => undefined);
        await links.unwire(v.hostIfName).catch(() => undefined);
        throw err;
      }
      return metaOf(v, await interfaces.get(sw), sw);
    },

    async delete(_key, v, meta) {
      await leaveCnat(ports, v, meta?.swIfIndex);
      await afPacket.delete(v.hostIfName);
      await links.unwire(v.hostIfName);
    },

    async retrieve(ctx) {
      const byTag = keysByTag(ctx.desired.keys());
      const afs = new Map((await afPacket.list()).map((a) => [a.swIfIndex, a]));
      const veths = await links.hostVeths();
      const out: Retrieved<PodInterface, PodInterfaceMeta>[] = [];
      const seen = new Set<string>();
      const itfs = afs.size === 0 ? [] : await interfaces.list();
      for (const itf of itfs) {
        const af = afs.get(itf.swIfIndex);
        if (af === undefined || !itf.tag.startsWith(PREFIX.podInterface)) continue;
        const key = byTag.get(itf.tag) ?? itf.tag;
        const want = ctx.desired.get(key);
        const host = veths.find((h) => h.hostIfName === af.hostIfName);
        const ok =
          want !== undefined &&
          host !== undefined &&
          (await asDesired(want, key, itf, af, host)) &&
          (await interfaces.vrf(itf.swIfIndex)) === want.vrf;
        seen.add(key);
        const value = ok ? want : orphan(key, af.hostIfName, itf.mtu);
        out.push({ key, value, metadata: metaOf(value, itf, itf.swIfIndex), origin: 'netloom' });
      }
      // A veth netloom wired whose af_packet VPP lost (VPP restarted, the agent stopped midway):
      // reported so the scheduler deletes it, and makes it again where it is wanted.
      for (const h of veths) {
        if (h.key === undefined || !h.key.startsWith(PREFIX.podInterface) || seen.has(h.key)) continue;
        out.push({ key: h.key, value: orphan(h.key, h.hostIfName, h.mtu), origin: 'netloom' });
      }
      return out;

      async function asDesired(
        v: PodInterface,
        key: string,
        itf: VppInterface,
        af: VppAfPacket,
        host: HostVeth,
      ): Promise<boolean> {
        return (
          itf.up &&
          itf.mac === AF_PACKET_MAC &&
          af.hostIfName === v.hostIfName &&
          host.up &&
          host.mac.toLowerCase() === hostVethMac(key) &&
          podAsDesired(v, host, await links.podSide(v.netns, v.ifname))
        );
      }
    },
  };
}

/** What VPP and the node show of an interface not as desired: never equal to a desired value. */
function orphan(key: string, hostIfName: string, mtu: number): PodInterface {
  const [namespace = '', pod = '', ifname = ''] = key.slice(PREFIX.podInterface.length).split('/');
  return {
    namespace,
    pod,
    containerId: '',
    netns: '',
    ifname,
    hostIfName,
    mtu,
    vrf: 0,
    addresses: [],
    gateway: '',
    mac: '',
  };
}
