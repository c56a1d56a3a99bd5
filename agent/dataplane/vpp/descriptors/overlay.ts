// This node's overlay end for a VNI: a loopback in the overlay's VRF with the node's derived
// overlay MAC and link address (169.254.128.0/17 by node ID). Tunnels to peers borrow its
// address (unnumbered), so routes to peers can point at derived next hops, the same scheme the
// Linux driver uses. VPP keeps no underlay address here (tunnels carry it); retrieve checks
// what VPP can show: the loopback, its MAC, address and VRF.
import { PREFIX, overlayKey } from '../../../items/keys.ts';
import { overlayDependencies } from '../../../items/dependencies.ts';
import type { Overlay } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import type { InterfaceCalls } from '../calls/interfaces.ts';
import { keysByTag, MAX_OVERLAY_ID, overlayMac, overlayNextHop, tagOf } from '../naming.ts';
import { check, isIp4, isVrf } from '../validate.ts';

export interface OverlayMeta {
  swIfIndex: number;
  mtu: number;
}

type Ports = {
  interfaces: Pick<
    InterfaceCalls,
    | 'createLoopback'
    | 'deleteLoopback'
    | 'setTag'
    | 'setVrf'
    | 'addAddress'
    | 'setUp'
    | 'list'
    | 'addresses'
    | 'vrf'
  >;
};

export function overlayDescriptor(ports: Ports): Descriptor<Overlay, OverlayMeta> {
  const { interfaces } = ports;
  return {
    name: 'overlay',
    keyPrefix: PREFIX.overlay,

    validate(key, v) {
      check(key, [
        !isVrf(v.vrf) && `vrf ${v.vrf} out of range`,
        !(Number.isInteger(v.vni) && v.vni > 0 && v.vni < 2 ** 24) && `vni ${v.vni} out of range`,
        !isIp4(v.localIp) && `localIp ${JSON.stringify(v.localIp)} is not an IPv4 address`,
        !(Number.isInteger(v.localId) && v.localId > 0 && v.localId <= MAX_OVERLAY_ID) &&
          `localId ${v.localId} out of range`,
        !(Number.isInteger(v.port) && v.port > 0 && v.port < 65536) && `port ${v.port} out of range`,
        !(Number.isInteger(v.mtu) && v.mtu >= 68 && v.mtu <= 9000) && `mtu ${v.mtu} out of range`,
        key !== overlayKey(v.vni) && 'key does not match the vni',
      ]);
    },

    dependencies: (_key, v) => overlayDependencies(v),

    async create(key, v) {
      const sw = await interfaces.createLoopback(overlayMac(v.vni, v.localId));
      try {
        await interfaces.setTag(sw, tagOf(key));
        if (v.vrf !== 0) await interfaces.setVrf(sw, v.vrf);
        await interfaces.addAddress(sw, `${overlayNextHop(v.localId)}/32`);
        await interfaces.setUp(sw, true);
      } catch (err) {
        await interfaces.deleteLoopback(sw).catch(() => undefined);
        throw err;
      }
      return { swIfIndex: sw, mtu: v.mtu };
    },

    async delete(key, _v, meta) {
      const sw = meta?.swIfIndex ?? (await interfaces.list()).find((i) => i.tag === tagOf(key))?.swIfIndex;
      if (sw !== undefined) await interfaces.deleteLoopback(sw);
    },

    async retrieve(ctx) {
      const byTag = keysByTag(ctx.desired.keys());
      const out: Retrieved<Overlay, OverlayMeta>[] = [];
      for (const itf of await interfaces.list()) {
        if (!itf.tag.startsWith(PREFIX.overlay)) continue;
        const key = byTag.get(itf.tag) ?? itf.tag;
        const want = ctx.desired.get(key);
        const addresses = await interfaces.addresses(itf.swIfIndex);
        const vrf = await interfaces.vrf(itf.swIfIndex);
        const ok =
          want !== undefined &&
          itf.up &&
          itf.mac === overlayMac(want.vni, want.localId) &&
          addresses.includes(`${overlayNextHop(want.localId)}/32`) &&
          vrf === want.vrf;
        const value: Overlay = ok
          ? want
          : {
              vni: Number(key.slice(PREFIX.overlay.length)) || 0,
              vrf,
              localIp: '',
              localId: 0,
              port: 0,
              mtu: 0,
            };
        out.push({
          key,
          value,
          metadata: { swIfIndex: itf.swIfIndex, mtu: want?.mtu ?? 0 },
          origin: 'netloom',
        });
      }
      return out;
    },
  };
}
