// The node's pod-gateway addresses, on a device of their own: a dummy where the kernel has
// the module, else a port-less bridge (which behaves the same for this use: an up device that
// owns addresses and drops what is routed to it). Created on first use; never deleted, since
// it holds nothing but netloom's addresses.
import { isCondition } from '../errors.ts';
import type { LinuxNames } from '../naming.ts';
import type { AddressPort, GatewayAddress } from '../ports.ts';
import type { KernelTools } from '../tools.ts';

interface IpAddr {
  addr_info?: {
    family: string;
    local: string;
    prefixlen: number;
    scope: string;
    metric?: number;
    noprefixroute?: boolean;
  }[];
}

/** The `ip addr replace …` line for a gateway address (pure, for golden tests). */
export function addressLine(device: string, a: GatewayAddress): string {
  const extra = `${a.noprefixroute ? ' noprefixroute' : ''}${a.metric !== 0 ? ` metric ${a.metric}` : ''}`;
  return `addr replace ${a.cidr} dev ${device}${extra}`;
}

export class KernelAddresses implements AddressPort {
  private readonly tools: KernelTools;
  private readonly hostNetns: string | undefined;
  private readonly device: string;
  private kind: 'dummy' | 'bridge' = 'dummy';

  constructor(tools: KernelTools, hostNetns: string | undefined, names: LinuxNames) {
    this.tools = tools;
    this.hostNetns = hostNetns;
    this.device = names.gatewayDevice;
  }

  async add(a: GatewayAddress): Promise<void> {
    try {
      await this.tools.batch(this.hostNetns, this.addLines(a));
    } catch (err) {
      if (this.kind !== 'dummy' || !isCondition(err, 'invalid')) throw err;
      this.kind = 'bridge'; // no dummy module in this kernel
      await this.tools.batch(this.hostNetns, this.addLines(a));
    }
  }

  async remove(cidr: string): Promise<void> {
    await this.tools.batch(this.hostNetns, [{ cmd: `addr del ${cidr} dev ${this.device}`, ok: ['missing'] }]);
  }

  async list(): Promise<GatewayAddress[]> {
    let found: IpAddr[];
    try {
      found = await this.tools.json<IpAddr>(this.hostNetns, ['addr', 'show', 'dev', this.device]);
    } catch (err) {
      if (isCondition(err, 'missing')) return [];
      throw err;
    }
    return (found[0]?.addr_info ?? [])
      .filter((a) => a.scope !== 'link')
      .map((a) => ({
        cidr: `${a.local}/${a.prefixlen}`,
        noprefixroute: a.noprefixroute === true,
        metric: a.metric ?? 0,
      }));
  }

  private addLines(a: GatewayAddress): { cmd: string; ok?: ('exists' | 'missing')[] }[] {
    return [
      { cmd: `link add ${this.device} type ${this.kind}`, ok: ['exists'] },
      { cmd: `link set ${this.device} up` },
      { cmd: addressLine(this.device, a) },
    ];
  }
}
