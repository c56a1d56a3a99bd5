// The node's overlay end for a VNI: a VXLAN device (learning off) whose MAC encodes VNI and
// node ID, so every peer derives it. No address: peers' subnets are routed onlink via derived
// next hops (see tunnel.ts), which keeps the device independent of the pod CIDR.
import { PREFIX, overlayKey } from '../../../items/keys.ts';
import { overlayDependencies } from '../../../items/dependencies.ts';
import type { Overlay } from '../../../items/values.ts';
import type { Descriptor } from '../../../scheduler/descriptor.ts';
import { MAX_OVERLAY_ID, overlayMac, parseOverlayMac, vxlanDevice, type LinuxNames } from '../naming.ts';
import type { NodePort, VxlanPort } from '../ports.ts';
import { check, isIfName, isIp, vrfProblem } from '../validate.ts';

export interface OverlayMeta {
  device: string;
  routeDevice: string;
}

export function overlayDescriptor(
  ports: { vxlan: VxlanPort; node: NodePort },
  names: LinuxNames,
): Descriptor<Overlay, OverlayMeta> {
  return {
    name: 'overlay',
    keyPrefix: PREFIX.overlay,

    validate(key, v) {
      check(key, [
        vrfProblem(v.vrf),
        !(Number.isInteger(v.vni) && v.vni > 0 && v.vni < 2 ** 24) && `vni ${v.vni} out of range`,
        !isIp(v.localIp) && `localIp ${JSON.stringify(v.localIp)} is not an IP`,
        !(Number.isInteger(v.localId) && v.localId > 0 && v.localId <= MAX_OVERLAY_ID) &&
          `localId ${v.localId} out of range`,
        !(Number.isInteger(v.port) && v.port > 0 && v.port < 65536) && `port ${v.port} out of range`,
        !(Number.isInteger(v.mtu) && v.mtu >= 68) && `mtu ${v.mtu} out of range`,
        !isIfName(vxlanDevice(names, v.vni)) && `device name ${vxlanDevice(names, v.vni)} too long`,
      ]);
    },

    dependencies: (_key, v) => overlayDependencies(v),

    async create(_key, v) {
      await ports.node.ensureForwarding();
      const device = vxlanDevice(names, v.vni);
      await ports.vxlan.create({
        device,
        vni: v.vni,
        localIp: v.localIp,
        port: v.port,
        mtu: v.mtu,
        mac: overlayMac(v.vni, v.localId),
      });
      return { device, routeDevice: device };
    },

    async delete(_key, v, meta) {
      await ports.vxlan.remove(meta?.device ?? vxlanDevice(names, v.vni));
    },

    async retrieve() {
      return (await ports.vxlan.list()).map((s) => ({
        key: overlayKey(s.vni),
        value: {
          vni: s.vni,
          vrf: 0,
          localIp: s.localIp,
          localId: parseOverlayMac(s.mac)?.id ?? -1,
          port: s.port,
          mtu: s.mtu,
        },
        metadata: { device: s.device, routeDevice: s.device },
        origin: 'netloom' as const,
      }));
    },
  };
}
