// Source NAT for traffic leaving the cluster, with NAT44-ED: the plugin enabled, the node's
// uplink marked outside, and the translation address (`toAddress`, or the uplink's address to
// masquerade) in the pool. Pod TAPs are inside interfaces (pod-interface.ts); traffic to other
// nodes leaves through VXLAN tunnels, which are neither inside nor outside, so `except` (pod and
// service CIDRs) is honoured by the topology rather than by rules. VPP keeps no record of the
// source CIDR: retrieve confirms the pool address, the outside uplink and the VXLAN identity.
//
// An outside interface drops every arriving packet to a pool address that matches no session
// or static mapping (nat44-ed-out2in: "no translation"), and the uplink's address is in the
// pool when masquerading: the other nodes' VXLAN would die there. An identity mapping for the
// overlay's UDP port on that address lets it through untranslated (found on a real VPP; the
// fake models no packets). Delete leaves it, as it leaves the outside feature: the uplink
// stays outside, and VXLAN must keep passing it.
//
// The item also puts the node's Service masquerade address (serviceMasqueradeAddress: the last
// host of its block, `source`) in NAT44-ED's twice-NAT pool: Service mappings translate the
// outside world's clients to it, and a remote backend's reply comes back to this node through
// the tunnels (NAT44 inside interfaces, tunnel.ts), where NAT44-ED finds the session.
//
// And, where VPP has cnat's feature arc, cnat's session lookup on the uplink (no translation:
// CnatCalls.enableLookup says why). The uplink is this item's to configure; it is always
// rendered for VRF 0, and delete leaves the lookup as it leaves the outside feature.
import { PREFIX, snatKey } from '../../../items/keys.ts';
import { snatDependencies } from '../../../items/dependencies.ts';
import type { SourceNat } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import { DataPlaneError } from '../../../scheduler/errors.ts';
import type { InterfaceCalls } from '../calls/interfaces.ts';
import type { CnatCalls } from '../calls/cnat.ts';
import { NAT_IS_OUTSIDE, type NatCalls, type NatIdentity } from '../calls/nat.ts';
import { serviceMasqueradeAddress } from '../naming.ts';
import { check, isCidr, isIp4 } from '../validate.ts';

/** The node's uplink in VPP: the interface traffic leaves the cluster through. */
export interface Uplink {
  /** VPP interface name (GigabitEthernet0/8/0, host-eth0…). */
  interface: string;
  /** Its IPv4 address: the masquerade address and the node-port address. */
  address: string;
  /** With STN: the stolen NIC's MAC, which finds the interface when `interface` is ''. */
  mac?: string;
}

/** The uplink among VPP's interfaces: by name, or (STN, no name given) by the NIC's MAC. */
export function isUplink(i: { name: string; mac: string; swIfIndex: number }, uplink: Uplink): boolean {
  if (uplink.interface !== '') return i.name === uplink.interface;
  return uplink.mac !== undefined && i.swIfIndex !== 0 && i.mac === uplink.mac.toLowerCase();
}

export interface SnatMeta {
  address: string;
  uplinkSwIfIndex: number;
}

type Ports = {
  nat: Pick<
    NatCalls,
    | 'enable'
    | 'setInterface'
    | 'interfaces'
    | 'addAddress'
    | 'addresses'
    | 'addIdentity'
    | 'identities'
    | 'addTwiceNatAddress'
    | 'twiceNatAddresses'
  >;
  interfaces: Pick<InterfaceCalls, 'list'>;
  /** Absent when the driver runs without cnat. */
  cnat?: Pick<CnatCalls, 'available' | 'enableLookup' | 'lookupEnabled'>;
};

const UDP = 17;

export function snatDescriptor(
  ports: Ports,
  uplink: Uplink | undefined,
  vxlanPort = 4789,
): Descriptor<SourceNat, SnatMeta> {
  const { nat, interfaces, cnat } = ports;
  const withCnat = (): boolean => cnat?.available() === true;
  // The node's VXLAN, as it arrives on the uplink (VRF 0, the underlay's table).
  const vxlanIdentity = (): NatIdentity | undefined =>
    uplink === undefined || uplink.address === ''
      ? undefined
      : { ip: uplink.address, protocol: UDP, port: vxlanPort, vrf: 0 };
  const sameIdentity = (a: NatIdentity, b: NatIdentity): boolean =>
    a.ip === b.ip && a.protocol === b.protocol && a.port === b.port && a.vrf === b.vrf;
  // Create and update alike: the uplink outside, VXLAN let through, the address in the pool.
  const apply = async (v: SourceNat): Promise<SnatMeta> => {
    const sw = await uplinkIndex();
    await nat.enable();
    await nat.setInterface(sw, 'outside', true);
    const identity = vxlanIdentity();
    if (identity !== undefined) await nat.addIdentity(identity, true);
    await nat.addAddress(addressOf(v), true);
    await nat.addTwiceNatAddress(serviceMasqueradeAddress(v.source), true);
    if (withCnat() && !(await cnat!.lookupEnabled(sw))) await cnat!.enableLookup(sw);
    return { address: addressOf(v), uplinkSwIfIndex: sw };
  };
  const uplinkIndex = async (): Promise<number> => {
    if (uplink === undefined)
      throw new DataPlaneError('source NAT needs the driver option `uplink` (interface and address)');
    // The STN host TAP carries the NIC's MAC on its host end only; VPP's end has its own.
    const itf = (await interfaces.list()).find((i) => isUplink(i, uplink));
    if (itf === undefined)
      throw new DataPlaneError(
        `uplink interface ${uplink.interface || `with MAC ${uplink.mac}`} not found in VPP`,
        {
          retriable: true,
        },
      );
    return itf.swIfIndex;
  };
  const addressOf = (v: SourceNat): string => (v.toAddress !== '' ? v.toAddress : (uplink?.address ?? ''));

  return {
    name: 'snat',
    keyPrefix: PREFIX.snat,

    validate(key, v) {
      check(key, [
        v.vrf !== 0 &&
          "the vpp driver does source NAT in VRF 0 only: NAT44-ED cannot confine it to a custom network — its output feature cannot go on the uplink, already an in/out-feature outside interface for VRF 0 (VPP refuses both on one interface), and making the network's pods inside interfaces would masquerade them whether or not the network asks for it",
        !isCidr(v.source) && `source ${JSON.stringify(v.source)} is not a CIDR`,
        isCidr(v.source) &&
          !(isIp4(v.source.split('/')[0]!) && Number(v.source.split('/')[1]) <= 30) &&
          `source ${v.source}: an IPv4 block of at least 4 addresses is needed (its last host masquerades Service clients)`,
        ...v.except.map((c) => !isCidr(c) && `except ${JSON.stringify(c)} is not a CIDR`),
        v.toAddress !== '' &&
          !isIp4(v.toAddress) &&
          `toAddress ${JSON.stringify(v.toAddress)} is not an IPv4 address`,
        key !== snatKey(v.vrf, v.source) && 'key does not match the source',
      ]);
    },

    equivalent: (_key, a, b) => a.vrf === b.vrf && a.source === b.source && a.toAddress === b.toAddress,

    dependencies: (_key, v) => snatDependencies(v),

    create: (_key, v) => apply(v),

    async update(_key, old, v, meta) {
      if (addressOf(old) !== addressOf(v)) await nat.addAddress(meta?.address ?? addressOf(old), false);
      if (old.source !== v.source) await nat.addTwiceNatAddress(serviceMasqueradeAddress(old.source), false);
      return apply(v);
    },

    async delete(_key, v, meta) {
      await nat.addAddress(meta?.address ?? addressOf(v), false);
      await nat.addTwiceNatAddress(serviceMasqueradeAddress(v.source), false);
    },

    async retrieve(ctx) {
      if (ctx.desired.size === 0) return [];
      const pool = new Set(await nat.addresses());
      const twiceNat = new Set(await nat.twiceNatAddresses());
      const natIfs = await nat.interfaces();
      const sw =
        uplink === undefined
          ? undefined
          : (await interfaces.list()).find((i) => isUplink(i, uplink))?.swIfIndex;
      const identity = vxlanIdentity();
      const passes =
        identity === undefined || (await nat.identities()).some((i) => sameIdentity(i, identity));
      const outside =
        passes &&
        sw !== undefined &&
        ((natIfs.get(sw) ?? 0) & NAT_IS_OUTSIDE) !== 0 &&
        (!withCnat() || (await cnat!.lookupEnabled(sw)));
      const out: Retrieved<SourceNat, SnatMeta>[] = [];
      for (const [key, v] of ctx.desired) {
        if (outside && pool.has(addressOf(v)) && twiceNat.has(serviceMasqueradeAddress(v.source)))
          out.push({
            key,
            value: v,
            metadata: { address: addressOf(v), uplinkSwIfIndex: sw },
            origin: 'netloom',
          });
      }
      return out;
    },
  };
}
