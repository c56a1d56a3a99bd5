// The CNI result of a wired attachment (pure): the host-side interface (sandbox "", so the
// bandwidth plugin finds the veth), the pod interface with its sandbox, each address pointing
// at the pod interface (index 1, as portmap needs), and the default route via the gateway the
// data plane really installed (its metadata's `gateway`, e.g. the Linux driver's link-local one).
import type { CniResult } from '../../proto/gen/netloom/cni/v1/CniResult.ts';
import type { PodInterface } from '../items/values.ts';

/** What the CNI server reads from an applied pod interface's metadata (any driver). */
export interface PodInterfaceInfo {
  hostIfName?: string;
  hostMac?: string;
  mac?: string;
  mtu?: number;
  gateway?: string;
}

/** The result for a wired pod interface: its item value and the driver's metadata. */
export function cniResult(v: PodInterface, info: PodInterfaceInfo, dns?: CniResult['dns']): CniResult {
  const mtu = info.mtu ?? v.mtu;
  const gw4 = info.gateway ?? v.gateway;
  const v4 = v.addresses.filter((a) => !a.includes(':'));
  const v6 = v.addresses.filter((a) => a.includes(':'));
  return {
    interfaces: [
      { name: info.hostIfName ?? v.hostIfName, mac: info.hostMac ?? '', mtu, sandbox: '' },
      { name: v.ifname, mac: info.mac ?? '', mtu, sandbox: v.netns },
    ],
    ips: [
      ...v4.map((address) => ({ address, gateway: gw4, interface: 1 })),
      ...v6.map((address) => ({ address, gateway: '', interface: 1 })),
    ],
    routes: [
      ...(v4.length > 0 ? [{ dst: '0.0.0.0/0', gw: gw4 }] : []),
      ...(v6.length > 0 ? [{ dst: '::/0' }] : []),
    ],
    ...(dns ? { dns } : {}),
  };
}
