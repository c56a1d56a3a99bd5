// An interface in cnat, as pod interfaces (pod-vpp-side.ts) and tunnels (tunnel.ts) join it:
// VRF 0 only (cnat knows no other table), on a VPP with cnat's feature arc, in the `k8s` policy's
// pod table (made by the source-NAT address, so that is set first) and with the feature on. VPP's
// API reads neither back, so retrieve cannot see them: an interface made by an agent older than
// this joins when it is made again. How Services use it: service.ts, docs/adr/0018.
import type { CnatCalls } from '../calls/cnat.ts';
import { HAIRPIN_SNAT_ADDRESS } from '../naming.ts';

export type CnatMemberPort = Pick<
  CnatCalls,
  'available' | 'enableInterface' | 'setPodInterface' | 'ensureSnat'
>;

/** Whether an interface of this VRF takes part in cnat here. */
export const inCnat = (ports: { cnat?: CnatMemberPort }, v: { vrf: number }): boolean =>
  ports.cnat !== undefined && v.vrf === 0 && ports.cnat.available();

/** Puts an interface in cnat's pod table and feature arc (see the header). */
export async function joinCnat(
  ports: { cnat?: CnatMemberPort },
  v: { vrf: number },
  sw: number,
): Promise<void> {
  if (!inCnat(ports, v)) return;
  const cnat = ports.cnat!;
  await cnat.ensureSnat(HAIRPIN_SNAT_ADDRESS);
  await cnat.setPodInterface(sw, true);
  await cnat.enableInterface(sw);
}

/** Takes an interface out of cnat's pod table before it goes (VPP hands the index out again). */
export async function leaveCnat(
  ports: { cnat?: CnatMemberPort },
  v: { vrf: number },
  sw: number | undefined,
): Promise<void> {
  if (sw !== undefined && inCnat(ports, v)) await ports.cnat!.setPodInterface(sw, false);
}
