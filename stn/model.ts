// What the daemon records about an interface before it takes it, and the state file's shape.
// The recorded form keeps more than the proto (label, broadcast, flags, onlink, pref) because
// "restore exactly" needs them; toInterfaceConfig() gives the agent the proto view.
import type { InterfaceConfig } from '../proto/gen/netloom/stn/v1/InterfaceConfig.ts';

export type Family = 'inet' | 'inet6';

export interface RecordedAddress {
  /** CIDR of the local address, e.g. 10.0.0.2/24. */
  address: string;
  family: Family;
  scope: string;
  /** Point-to-point peer (CIDR) when the address has one. */
  peer?: string;
  broadcast?: string;
  /** IPv4 label when it is not the interface name (aliases like eth0:1). */
  label?: string;
  /** Address flags ip accepts back: nodad, noprefixroute, home, mngtmpaddr. */
  flags: string[];
  /** Learned with a lifetime (DHCP lease, SLAAC) rather than configured forever. */
  dynamic: boolean;
}

export interface RecordedRoute {
  family: Family;
  /** "default" or a CIDR / host address. */
  dst: string;
  gateway: string;
  table: number;
  metric: number;
  scope: string;
  protocol: string;
  src: string;
  type: string;
  onlink: boolean;
  /** IPv6 router preference when not medium. */
  pref?: string;
}

export interface LinkFacts {
  name: string;
  mac: string;
  mtu: number;
  adminUp: boolean;
  /** LOWER_UP: the other end (cable, TAP reader, veth peer) is there. */
  carrier: boolean;
  loopback: boolean;
  /** PCI address the kernel reports as the link's parent device, if any. */
  parentPci?: string;
}

/** The live view of one interface read from the kernel. */
export interface Snapshot {
  link: LinkFacts;
  addresses: RecordedAddress[];
  routes: RecordedRoute[];
}

/** Everything needed to give the interface back as it was. */
export interface Recorded {
  name: string;
  mac: string;
  mtu: number;
  adminUp: boolean;
  pciAddress: string;
  kernelDriver: string;
  addresses: RecordedAddress[];
  routes: RecordedRoute[];
  dhcp: boolean;
  /** The steal unbound the kernel driver and bound vfio-pci. */
  unbind: boolean;
}

/**
 * stealing: recorded, kernel changes under way (a crash here restores);
 * stolen: the data plane owns the NIC (a crash here resumes);
 * releasing: giving it back (a crash here finishes the release).
 */
export type Phase = 'stealing' | 'stolen' | 'releasing';

export interface StateRecord {
  version: 1;
  phase: Phase;
  /** RFC 3339 time the steal began. */
  since: string;
  interface: Recorded;
}

export function toInterfaceConfig(rec: Recorded): InterfaceConfig {
  return {
    name: rec.name,
    mac: rec.mac,
    mtu: rec.mtu,
    pciAddress: rec.pciAddress,
    kernelDriver: rec.kernelDriver,
    dhcp: rec.dhcp,
    addresses: rec.addresses.map((a) => ({ address: a.address, family: a.family, scope: a.scope })),
    routes: rec.routes.map((r) => ({
      dst: r.dst,
      gateway: r.gateway,
      table: r.table,
      metric: r.metric,
      scope: r.scope,
      protocol: r.protocol,
      src: r.src,
      family: r.family,
      type: r.type,
    })),
  };
}
