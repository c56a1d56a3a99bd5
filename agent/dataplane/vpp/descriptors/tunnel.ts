// A tunnel to one peer on one VNI: an L3 VXLAN tunnel in VPP that borrows the overlay
// loopback's link address (unnumbered), with a static neighbour for the peer's derived next
// hop (169.254.128.<id> → 02:<vni>:<id>), the same derivation as the Linux driver's. Routes to
// the peer's pod subnet go via that next hop out of the tunnel. VPP tunnels cannot change
// endpoints in place: a changed tunnel is deleted and created again.
//
// A tunnel of a custom network (vrf N) is bound to table N before it borrows the overlay
// loopback's address (VPP refuses a table change once an interface has an address, and an
// unnumbered interface must already be in its owner's table): what it decapsulates is routed
// in table N, so VNIs keep networks apart across nodes. Its encapsulation stays in table 0.
import { PREFIX, overlayKey } from '../../../items/keys.ts';
import { tunnelDependencies } from '../../../items/dependencies.ts';
import type { Tunnel } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import type { FibCalls } from '../calls/fib.ts';
import type { InterfaceCalls } from '../calls/interfaces.ts';
import { UNDERLAY_VRF, type VxlanCalls, type VxlanSpec } from '../calls/vxlan.ts';
import { keysByTag, MAX_OVERLAY_ID, overlayMac, overlayNextHop, tagOf } from '../naming.ts';
import { check, isIp4, isVrf } from '../validate.ts';
import type { NatCalls } from '../calls/nat.ts';
import { joinCnat, leaveCnat, type CnatMemberPort } from './cnat-member.ts';
import type { OverlayMeta } from './overlay.ts';

export interface TunnelMeta {
  swIfIndex: number;
  /** Next hop for routes through this tunnel. */
  routeGateway: string;
}

export interface TunnelPorts {
  vxlan: Pick<VxlanCalls, 'add' | 'remove' | 'list' | 'findL3DecapNext'>;
  interfaces: Pick<
    InterfaceCalls,
    'setTag' | 'setVrf' | 'setUnnumbered' | 'setMtu' | 'setUp' | 'list' | 'vrf'
  >;
  fib: Pick<FibCalls, 'setNeighbor'>;
  /**
   * Absent when the driver runs without cnat. A VRF 0 tunnel gets cnat's feature: the replies
   * of remote backends to a pod's Service connection come in through it, and cnat must find
   * their session on input to reverse them on the pod's interface (docs/adr/0018, fact 3).
   * It is also in the `k8s` policy's pod table: that policy source-NATs whatever goes from a
   * non-pod interface to a non-pod interface, and a node port's connection from the uplink to
   * a remote backend would leave masqueraded to 169.254.1.2 — an address the backend's node
   * keeps for itself, so the reply never came back.
   */
  cnat?: CnatMemberPort;
  /**
   * Absent when the driver runs without NAT44. A VRF 0 tunnel is a NAT44-ED inside interface:
   * a remote backend's reply to a Service client from the outside world comes in through it, to
   * the node's twice-NAT address, and NAT44-ED reverses it only on an inside interface.
   */
  nat?: Pick<NatCalls, 'enable' | 'setInterface'>;
}

const specOf = (v: Tunnel): VxlanSpec => ({ src: v.localIp, dst: v.remoteIp, port: v.port, vni: v.vni });

export function tunnelDescriptor(ports: TunnelPorts): Descriptor<Tunnel, TunnelMeta> {
  const { vxlan, interfaces, fib } = ports;
  return {
    name: 'tunnel',
    keyPrefix: PREFIX.tunnel,

    validate(key, v) {
      check(key, [
        !isVrf(v.vrf) && `vrf ${v.vrf} out of range`,
        !isIp4(v.remoteIp) && `remoteIp ${JSON.stringify(v.remoteIp)} is not an IPv4 address`,
        !isIp4(v.localIp) && `localIp ${JSON.stringify(v.localIp)} is not an IPv4 address`,
        !(Number.isInteger(v.peerId) && v.peerId > 0 && v.peerId <= MAX_OVERLAY_ID) &&
          `peerId ${v.peerId} out of range`,
        !(Number.isInteger(v.port) && v.port > 0 && v.port < 65536) && `port ${v.port} out of range`,
      ]);
    },

    dependencies: (_key, v) => tunnelDependencies(v),

    async create(key, v, ctx) {
      const overlay = ctx.metadata<OverlayMeta>(overlayKey(v.vni));
      const sw = await vxlan.add(specOf(v));
      try {
        await interfaces.setTag(sw, tagOf(key));
        if (v.vrf !== 0) await interfaces.setVrf(sw, v.vrf);
        if (overlay !== undefined) {
          await interfaces.setUnnumbered(sw, overlay.swIfIndex);
          if (overlay.mtu > 0) await interfaces.setMtu(sw, overlay.mtu);
        }
        await fib.setNeighbor(sw, overlayNextHop(v.peerId), overlayMac(v.vni, v.peerId));
        await joinCnat(ports, v, sw);
        if (v.vrf === 0 && ports.nat !== undefined) {
          await ports.nat.enable();
          await ports.nat.setInterface(sw, 'inside', true);
        }
        await interfaces.setUp(sw, true);
      } catch (err) {
        await vxlan.remove(specOf(v)).catch(() => undefined);
        throw err;
      }
      return { swIfIndex: sw, routeGateway: overlayNextHop(v.peerId) };
    },

    async delete(_key, v, meta) {
      await leaveCnat(ports, v, meta?.swIfIndex);
      await vxlan.remove(specOf(v));
    },

    async retrieve(ctx) {
      const byTag = keysByTag(ctx.desired.keys());
      const tunnels = new Map((await vxlan.list()).map((t) => [t.swIfIndex, t]));
      const decapNext = tunnels.size === 0 ? undefined : await vxlan.findL3DecapNext(false);
      const out: Retrieved<Tunnel, TunnelMeta>[] = [];
      for (const itf of await interfaces.list()) {
        const t = tunnels.get(itf.swIfIndex);
        if (t === undefined || !itf.tag.startsWith(PREFIX.tunnel)) continue;
        const key = byTag.get(itf.tag) ?? itf.tag;
        const want = ctx.desired.get(key);
        const ok =
          want !== undefined &&
          itf.up &&
          t.src === want.localIp &&
          t.dst === want.remoteIp &&
          t.vni === want.vni &&
          t.port === want.port &&
          t.encapVrf === UNDERLAY_VRF &&
          t.decapNext === decapNext &&
          (await interfaces.vrf(itf.swIfIndex)) === want.vrf;
        const peerId = want?.peerId ?? 0;
        // Not as desired: what VPP shows, with no peer name, so it never equals a desired value.
        const value: Tunnel = ok
          ? want
          : { vni: t.vni, vrf: 0, peer: '', peerId, remoteIp: t.dst, localIp: t.src, port: t.port };
        out.push({
          key,
          value,
          metadata: { swIfIndex: itf.swIfIndex, routeGateway: overlayNextHop(peerId) },
          origin: 'netloom',
        });
      }
      return out;
    },
  };
}
