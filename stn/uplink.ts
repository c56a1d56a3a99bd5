// What the agent hands its data plane from a Steal reply: the stolen NIC (found in VPP by its
// MAC: VPP names a DPDK NIC after its PCI address and link speed, not the kernel's name) and
// the host-facing interface that takes the NIC's place in the node (Contiv's STN flow: the
// data plane owns the NIC and gives the host a TAP with the NIC's MAC, primary addresses and
// default gateways, and forwards to it what is not its own). Pure: tested beside it.
import { NetloomError } from '../lib/errors.ts';
import type { InterfaceConfig__Output } from '../proto/gen/netloom/stn/v1/InterfaceConfig.ts';

const MAIN_TABLE = 254;

export interface StolenUplink {
  /** The kernel name the NIC had (the daemon's key for Release). */
  name: string;
  mac: string;
  mtu: number;
  pciAddress: string;
  /** Primary IPv4 with its prefix length (CIDR); the node's address. */
  ip4: string;
  /** The main table's IPv4 default gateway, '' for none. */
  gateway4: string;
  /** First global IPv6 address (CIDR), '' for none. */
  ip6: string;
  gateway6: string;
  /**
   * Recorded addresses and routes the host-facing interface does not get (tap_create_v3
   * carries one address and one gateway per family): named so the agent can log them.
   */
  notCarried: string[];
}

/** The lowest-metric default route of the main table for one family. */
function defaultGateway(config: InterfaceConfig__Output, family: string): string {
  const defaults = config.routes
    .filter((r) => r.family === family && r.dst === 'default' && r.table === MAIN_TABLE && r.gateway !== '')
    .sort((a, b) => a.metric - b.metric);
  return defaults[0]?.gateway ?? '';
}

export function stolenUplink(config: InterfaceConfig__Output): StolenUplink {
  const ip4 = config.addresses.find((a) => a.family === 'inet')?.address ?? '';
  if (ip4 === '')
    throw new NetloomError(
      `the stolen NIC ${config.name} had no IPv4 address: the node's address cannot move to the data plane`,
    );
  const ip6 = config.addresses.find((a) => a.family === 'inet6' && a.scope === 'global')?.address ?? '';
  const gateway4 = defaultGateway(config, 'inet');
  const gateway6 = ip6 === '' ? '' : defaultGateway(config, 'inet6');
  const carried = new Set([ip4, ip6]);
  const notCarried = [
    ...config.addresses
      .filter((a) => !carried.has(a.address) && a.scope !== 'link')
      .map((a) => `address ${a.address}`),
    ...config.routes
      .filter(
        (r) =>
          // Kernel routes (prefix routes of the carried addresses) come back with the addresses.
          r.protocol !== 'kernel' &&
          !(
            r.dst === 'default' &&
            r.table === MAIN_TABLE &&
            r.gateway !== '' &&
            r.gateway === (r.family === 'inet' ? gateway4 : gateway6)
          ),
      )
      .map((r) => `route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} table ${r.table}`),
  ];
  return {
    name: config.name,
    mac: config.mac,
    mtu: config.mtu,
    pciAddress: config.pciAddress,
    ip4,
    gateway4,
    ip6,
    gateway6,
    notCarried,
  };
}
