// The CNI result of a wired attachment (pure): the node-side interface (sandbox "", so the
// bandwidth plugin finds the host veth), the pod interface with its sandbox, each address
// pointing at the pod interface (index 1, as portmap needs), and the default route via the
// gateway the data plane really installed (e.g. the Linux driver's link-local one). Built from
// the driver-neutral WiredPodInterface, so every data plane answers the same way.
import type { CniResult } from '../../proto/gen/netloom/cni/v1/CniResult.ts';
import type { PodInterface, WiredPodInterface } from '../items/values.ts';

/** The result for a wired pod interface: its item value and what the driver reported. */
export function cniResult(v: PodInterface, wired: WiredPodInterface, dns?: CniResult['dns']): CniResult {
  const v4 = v.addresses.filter((a) => !a.includes(':'));
  const v6 = v.addresses.filter((a) => a.includes(':'));
  const gw4 = wired.gateway;
  return {
    interfaces: [
      { name: wired.hostIfName, mac: wired.hostMac, mtu: wired.mtu, sandbox: '' },
      { name: v.ifname, mac: wired.mac, mtu: wired.mtu, sandbox: v.netns },
    ],
    ips: [
      ...v4.map((address) => ({ address, gateway: gw4, interface: 1 })),
      ...v6.map((address) => ({ address, gateway: '', interface: 1 })),
    ],
    routes: [
      ...(v4.length > 0 && gw4 !== '' ? [{ dst: '0.0.0.0/0', gw: gw4 }] : []),
      // Without the default route (another interface has it): the prefixes routed through it.
      ...(v.routes ?? []).map((dst) => ({ dst })),
      ...(v6.length > 0 ? [{ dst: '::/0' }] : []),
    ],
    ...(dns ? { dns } : {}),
  };
}

/** Whether a driver's metadata for a pod interface carries what a CNI result needs. */
export function isWired(meta: unknown): meta is WiredPodInterface {
  if (typeof meta !== 'object' || meta === null) return false;
  const m = meta as Record<string, unknown>;
  return (
    typeof m['hostIfName'] === 'string' &&
    typeof m['hostMac'] === 'string' &&
    typeof m['mac'] === 'string' &&
    typeof m['mtu'] === 'number' &&
    typeof m['gateway'] === 'string'
  );
}
