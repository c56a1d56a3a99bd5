// The node's overlay end for a VNI: a VXLAN device (learning off) whose MAC encodes VNI and
// node ID, so every peer derives it. No address: peers' subnets are routed onlink via derived
// next hops (see tunnel.ts), which keeps the device independent of the pod CIDR.
//
// A custom network's VNI (VRF N ≠ 0) gets one more thing: a rule `iif <device> lookup <VRF's
// table>`, so what arrives decapsulated is routed in the VRF, whatever its source. Retrieve reads
// the VRF back from that rule; a rule for a device of netloom's that is gone is reported as its
// overlay, so it is deleted (or the overlay re-created) rather than left behind.
import { PREFIX, overlayKey } from '../../../items/keys.ts';
import { overlayDependencies } from '../../../items/dependencies.ts';
import type { Overlay } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import {
  MAX_OVERLAY_ID,
  overlayMac,
  parseOverlayMac,
  vrfOfTable,
  vrfTable,
  vxlanDevice,
  type LinuxNames,
} from '../naming.ts';
import type { KernelRule, NodePort, RulePort, VxlanPort } from '../ports.ts';
import { check, isIfName, isIp, vrfRangeProblem } from '../validate.ts';

export interface OverlayMeta {
  device: string;
  routeDevice: string;
}

/** The rule steering a custom network's decapsulated traffic into its table; none for VRF 0. */
export function overlayRules(names: LinuxNames, device: string, vrf: number): KernelRule[] {
  const table = vrfTable(names, vrf);
  return table === 'main' ? [] : [{ pref: names.vrfRulePref, action: 'lookup', table, iif: device }];
}

export function overlayDescriptor(
  ports: { vxlan: VxlanPort; node: NodePort; rules: RulePort },
  names: LinuxNames,
): Descriptor<Overlay, OverlayMeta> {
  return {
    name: 'overlay',
    keyPrefix: PREFIX.overlay,

    validate(key, v) {
      check(key, [
        ...vrfRangeProblem(names, v.vrf),
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
      try {
        await ports.rules.add(overlayRules(names, device, v.vrf));
      } catch (err) {
        // Leave nothing half-made: a device without its rule would route in main.
        await ports.vxlan.remove(device).catch(() => undefined);
        throw err;
      }
      return { device, routeDevice: device };
    },

    async delete(_key, v, meta) {
      const device = meta?.device ?? vxlanDevice(names, v.vni);
      await ports.rules.remove(overlayRules(names, device, v.vrf));
      await ports.vxlan.remove(device);
    },

    async retrieve() {
      // The VRF of each device, from netloom's iif rules (a device without one is in VRF 0).
      const vrfs = new Map<string, number>();
      for (const r of await ports.rules.list()) {
        const vrf = vrfOfTable(names, r.table);
        if (r.iif?.startsWith(names.vxlanPrefix) && r.pref === names.vrfRulePref && vrf !== undefined)
          vrfs.set(r.iif, vrf);
      }
      const out: Retrieved<Overlay, OverlayMeta>[] = [];
      for (const s of await ports.vxlan.list()) {
        out.push({
          key: overlayKey(s.vni),
          value: {
            vni: s.vni,
            vrf: vrfs.get(s.device) ?? 0,
            localIp: s.localIp,
            localId: parseOverlayMac(s.mac)?.id ?? -1,
            port: s.port,
            mtu: s.mtu,
          },
          metadata: { device: s.device, routeDevice: s.device },
          origin: 'netloom',
        });
        vrfs.delete(s.device);
      }
      // Rules whose device is gone: an overlay that cannot equal any desired one (no local IP).
      for (const [device, vrf] of vrfs) {
        const vni = Number(device.slice(names.vxlanPrefix.length));
        if (!Number.isInteger(vni) || vni <= 0) continue;
        out.push({
          key: overlayKey(vni),
          value: { vni, vrf, localIp: '', localId: -1, port: 0, mtu: 0 },
          metadata: { device, routeDevice: device },
          origin: 'netloom',
        });
      }
      return out;
    },
  };
}
