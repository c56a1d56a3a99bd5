// VPP's side of a pod interface, the same for both forms (a TAP, pod-interface.ts; a veth
// given to VPP with af_packet, pod-veth.ts): in the pod's VRF (bound before it borrows an
// address: VPP refuses a table change after), unnumbered to the gateway loopback or the VRF's
// anchor, the pod's MTU, proxy ARP, a static neighbour for the pod's address and MAC, NAT44
// inside when NAT is on and the pod is in VRF 0 (see pod-interface.ts for why not in a VRF),
// cnat's feature and the pod table of its source-NAT policy where VPP has them and the pod is
// in VRF 0 (how pods reach Services: descriptors/service.ts), then up. Also what both forms read from the applied gateway and VRF.
import { addressKey, vrfKey } from '../../../items/keys.ts';
import type { PodInterface, WiredPodInterface } from '../../../items/values.ts';
import type { ApplyContext } from '../../../scheduler/descriptor.ts';
import { DataPlaneError } from '../../../scheduler/errors.ts';
import type { FibCalls } from '../calls/fib.ts';
import type { InterfaceCalls } from '../calls/interfaces.ts';
import type { NatCalls } from '../calls/nat.ts';
import { podMac } from '../naming.ts';
import { joinCnat, type CnatMemberPort } from './cnat-member.ts';
import type { AddressMeta } from './address.ts';
import type { VrfMeta } from './vrf.ts';
import { addressOf } from '../../../../lib/cidr.ts';

/**
 * What an applied pod interface tells routes and policies (swIfIndex) and the CNI result (the
 * rest): the node-side end is VPP's interface (TAP or af_packet), by its VPP name and MAC.
 */
export interface PodInterfaceMeta extends WiredPodInterface {
  swIfIndex: number;
}

export interface VppSidePorts {
  interfaces: Pick<InterfaceCalls, 'setVrf' | 'setUnnumbered' | 'setMtu' | 'proxyArpOn' | 'setUp'>;
  fib: Pick<FibCalls, 'setNeighbor'>;
  /** Absent when the driver runs without NAT44. */
  nat?: Pick<NatCalls, 'enable' | 'setInterface'>;
  /** Absent when the driver runs without cnat. */
  cnat?: CnatMemberPort;
}

export { inCnat, joinCnat, leaveCnat } from './cnat-member.ts';

/** The pod side's MAC: the item's, else derived from its address (as the Linux driver). */
export const podMacOf = (v: PodInterface): string =>
  v.mac !== '' ? v.mac.toLowerCase() : podMac(v.addresses[0] ?? '');

export function gatewayOf(v: PodInterface, ctx: Pick<ApplyContext, 'metadata'>): AddressMeta | undefined {
  return v.gateway === '' ? undefined : ctx.metadata<AddressMeta>(addressKey(v.vrf, v.gateway));
}

/**
 * The interface whose address VPP's side borrows: the gateway loopback, or the VRF's anchor.
 * Throws a retriable error when it is not there yet.
 */
export function addressOwner(key: string, v: PodInterface, ctx: Pick<ApplyContext, 'metadata'>): number {
  const owner =
    v.gateway !== '' ? gatewayOf(v, ctx)?.swIfIndex : ctx.metadata<VrfMeta>(vrfKey(v.vrf))?.anchorSwIfIndex;
  if (owner === undefined)
    throw new DataPlaneError(
      `${key}: ${v.gateway === '' ? `VRF ${v.vrf} has no anchor loopback (a table netloom did not make?)` : `gateway ${v.gateway} has no loopback yet`}`,
      { retriable: true },
    );
  return owner;
}

/** Configures VPP's side of a pod interface `sw` that borrows `owner`'s address, and raises it. */
export async function configureVppSide(
  ports: VppSidePorts,
  sw: number,
  owner: number,
  v: PodInterface,
): Promise<void> {
  const { interfaces, fib, nat } = ports;
  // The table before the address it borrows: VPP refuses either order's second step.
  if (v.vrf !== 0) await interfaces.setVrf(sw, v.vrf);
  await interfaces.setUnnumbered(sw, owner);
  await interfaces.setMtu(sw, v.mtu);
  await interfaces.proxyArpOn(sw);
  await fib.setNeighbor(sw, addressOf(v.addresses[0]!), podMacOf(v));
  if (nat !== undefined && v.vrf === 0) {
    await nat.enable();
    await nat.setInterface(sw, 'inside', true);
  }
  await joinCnat(ports, v, sw);
  await interfaces.setUp(sw, true);
}
