// VXLAN devices with iproute2: one per VNI, learning off (peers are programmed, never learned).
import type { LinuxNames } from '../naming.ts';
import type { VxlanPort, VxlanSpec } from '../ports.ts';
import type { BatchLine, KernelTools } from '../tools.ts';

interface IpLink {
  ifname: string;
  mtu: number;
  address?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } };
}

/** The batch that (re)creates a VXLAN device (pure, for golden tests). */
export function vxlanLines(s: VxlanSpec): BatchLine[] {
  return [
    // Create is only called when the device is not believed applied: anything by this name is stale.
    { cmd: `link del ${s.device}`, ok: ['missing'] },
    {
      cmd:
        `link add ${s.device} address ${s.mac} mtu ${s.mtu} type vxlan id ${s.vni} ` +
        `local ${s.localIp} dstport ${s.port} nolearning`,
    },
    { cmd: `link set ${s.device} up` },
  ];
}

export class KernelVxlan implements VxlanPort {
  private readonly tools: KernelTools;
  private readonly hostNetns: string | undefined;
  private readonly prefix: string;

  constructor(tools: KernelTools, hostNetns: string | undefined, names: LinuxNames) {
    this.tools = tools;
    this.hostNetns = hostNetns;
    this.prefix = names.vxlanPrefix;
  }

  async create(spec: VxlanSpec): Promise<void> {
    await this.tools.batch(this.hostNetns, vxlanLines(spec));
  }

  async remove(device: string): Promise<void> {
    await this.tools.batch(this.hostNetns, [{ cmd: `link del ${device}`, ok: ['missing'] }]);
  }

  async list(): Promise<VxlanSpec[]> {
    const links = await this.tools.json<IpLink>(this.hostNetns, ['-d', 'link', 'show', 'type', 'vxlan']);
    return links
      .filter((l) => l.ifname.startsWith(this.prefix))
      .map((l) => {
        const d = l.linkinfo?.info_data ?? {};
        return {
          device: l.ifname,
          vni: d.id ?? -1,
          localIp: d.local ?? '',
          port: d.port ?? 0,
          mtu: l.mtu,
          mac: l.address ?? '',
        };
      });
  }
}
