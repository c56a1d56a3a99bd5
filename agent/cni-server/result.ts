// The CNI result of a wired attachment (pure): the host-side interface (sandbox "", so the
// bandwidth plugin finds the veth), the pod interface with its sandbox, each address pointing
// at the pod interface (index 1, as portmap needs), and the default route via the gateway the
// data plane really installed (its metadata's `gateway`, e.g. the Linux driver's link-local one).
import type { CniResult } from '../../proto/gen/netloom/cni/v1/CniResult.ts';
import type { Attachment } from './attachments.ts';
import { hostPrefix } from './render.ts';

/** What the CNI server reads from an applied pod interface's metadata (any driver). */
export interface PodInterfaceInfo {
  hostIfName?: string;
  hostMac?: string;
  mac?: string;
  mtu?: number;
  gateway?: string;
}

export function cniResult(a: Attachment, info: PodInterfaceInfo, dns?: CniResult['dns']): CniResult {
  const mtu = info.mtu ?? a.mtu;
  const v4 = a.ips.filter((ip) => !ip.includes(':'));
  const v6 = a.ips.filter((ip) => ip.includes(':'));
  const gw4 = info.gateway ?? a.gateway;
  return {
    interfaces: [
      { name: info.hostIfName ?? a.hostIfName, mac: info.hostMac ?? '', mtu, sandbox: '' },
      { name: a.ifname, mac: info.mac ?? '', mtu, sandbox: a.netns },
    ],
    ips: a.ips.map((ip) => ({ address: hostPrefix(ip), gateway: ip.includes(':') ? '' : gw4, interface: 1 })),
    routes: [...(v4.length > 0 ? [{ dst: '0.0.0.0/0', gw: gw4 }] : []), ...(v6.length > 0 ? [{ dst: '::/0' }] : [])],
    ...(dns ? { dns } : {}),
  };
}
