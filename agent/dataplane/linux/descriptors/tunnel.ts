// A tunnel to one peer node on one VNI: a permanent neighbour (the peer's derived next hop →
// its derived overlay MAC) and a permanent FDB entry (that MAC → the peer's underlay IP) on the
// VNI's VXLAN device. Routes to the peer's pod subnet go `via <next hop> dev <vxlan> onlink`.
import { PREFIX, tunnelKey } from '../../../items/keys.ts';
import { tunnelDependencies } from '../../../items/dependencies.ts';
import type { Tunnel } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import {
  MAX_OVERLAY_ID,
  overlayMac,
  overlayNextHop,
  parseOverlayMac,
  vxlanDevice,
  type LinuxNames,
} from '../naming.ts';
import type { OverlayPeer, PeerPort, VxlanPort } from '../ports.ts';
import { check, isIp, vrfRangeProblem } from '../validate.ts';

export interface TunnelMeta {
  device: string;
  routeDevice: string;
  routeGateway: string;
}

export interface TunnelPorts {
  peers: PeerPort;
  vxlan: Pick<VxlanPort, 'list'>;
}

export function tunnelDescriptor(ports: TunnelPorts, names: LinuxNames): Descriptor<Tunnel, TunnelMeta> {
  const peerOf = (v: Tunnel): OverlayPeer => ({
    device: vxlanDevice(names, v.vni),
    nextHop: overlayNextHop(v.peerId),
    mac: overlayMac(v.vni, v.peerId),
    remoteIp: v.remoteIp,
  });
  const metaOf = (v: Tunnel): TunnelMeta => {
    const p = peerOf(v);
    return { device: p.device, routeDevice: p.device, routeGateway: p.nextHop };
  };

  return {
    name: 'tunnel',
    keyPrefix: PREFIX.tunnel,
    retrieveAfter: ['overlay'],

    validate(key, v) {
      check(key, [
        ...vrfRangeProblem(names, v.vrf),
        !isIp(v.remoteIp) && `remoteIp ${JSON.stringify(v.remoteIp)} is not an IP`,
        !(Number.isInteger(v.peerId) && v.peerId > 0 && v.peerId <= MAX_OVERLAY_ID) &&
          `peerId ${v.peerId} out of range`,
      ]);
    },

    dependencies: (_key, v) => tunnelDependencies(v),

    async create(_key, v) {
      await ports.peers.set(peerOf(v));
      return metaOf(v);
    },

    async update(_key, old, v) {
      if (old.peerId !== v.peerId || old.vni !== v.vni) await ports.peers.remove(peerOf(old));
      await ports.peers.set(peerOf(v));
      return metaOf(v);
    },

    async delete(_key, v) {
      await ports.peers.remove(peerOf(v));
    },

    async retrieve(ctx) {
      const devices = (await ports.vxlan.list()).map((s) => s.device);
      const state = await ports.peers.list(devices);
      const wanted = new Map<string, [string, Tunnel]>();
      for (const [key, v] of ctx.desired) wanted.set(`${vxlanDevice(names, v.vni)}|${v.peerId}`, [key, v]);
      const out: Retrieved<Tunnel, TunnelMeta>[] = [];
      for (const f of state.fdb) {
        const id = parseOverlayMac(f.mac);
        if (!id) continue;
        const neighbour = state.neighbours.some(
          (n) => n.device === f.device && n.mac === f.mac && n.ip === overlayNextHop(id.id),
        );
        const [key, want] = wanted.get(`${f.device}|${id.id}`) ?? [];
        if (key !== undefined && want !== undefined && neighbour && f.dst === want.remoteIp) {
          out.push({ key, value: want, metadata: metaOf(want), origin: 'netloom' });
          continue;
        }
        // Found but not as wanted (or not wanted): report what the kernel shows, so it differs.
        const value: Tunnel = {
          vni: id.vni,
          vrf: 0,
          peer: want?.peer ?? `node-${id.id}`,
          peerId: id.id,
          remoteIp: f.dst,
          localIp: '',
          port: 0,
        };
        out.push({ key: key ?? tunnelKey(id.vni, value.peer), value, origin: 'netloom' });
      }
      return out;
    },
  };
}
