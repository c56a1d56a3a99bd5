// Pod gateways (10.1.N.1/24 in a VRF) as VPP loopbacks: the loopback owns the address, pod
// TAPs borrow it (unnumbered), and proxy ARP over the subnet's hosts lets pods, whose side of
// the TAP holds the whole /24, reach the gateway and each other through VPP. The loopback's tag
// is the item key, which is how retrieve finds it again.
import { PREFIX, addressKey } from '../../../items/keys.ts';
import { addressDependencies } from '../../../items/dependencies.ts';
import type { Address } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import type { InterfaceCalls } from '../calls/interfaces.ts';
import { keysByTag, tagOf } from '../naming.ts';
import { check, hostRange4, isCidr, isIp4, isVrf } from '../validate.ts';
import { addressOf, splitCidr } from '../../../../lib/cidr.ts';

/** What routes and pod interfaces read from an applied gateway. */
export interface AddressMeta {
  swIfIndex: number;
  prefixLen: number;
}

type Ports = {
  interfaces: Pick<
    InterfaceCalls,
    | 'createLoopback'
    | 'deleteLoopback'
    | 'setTag'
    | 'setVrf'
    | 'addAddress'
    | 'setUp'
    | 'proxyArpRange'
    | 'list'
    | 'addresses'
    | 'vrf'
    | 'proxyArpRanges'
  >;
};

/** The gateway loopback's MAC: locally administered, the address in the low bytes. */
const gatewayMac = (cidr: string): string =>
  [
    '02',
    'fe',
    ...addressOf(cidr)
      .split('.')
      .map((x) => Number(x).toString(16).padStart(2, '0')),
  ].join(':');

export function addressDescriptor(ports: Ports): Descriptor<Address, AddressMeta> {
  const { interfaces } = ports;
  return {
    name: 'address',
    keyPrefix: PREFIX.address,

    validate(key, v) {
      check(key, [
        !isVrf(v.vrf) && `vrf ${v.vrf} out of range`,
        !isCidr(v.address) && `address ${JSON.stringify(v.address)} is not a CIDR`,
        isCidr(v.address) && !isIp4(addressOf(v.address)) && 'the vpp driver serves IPv4 pod gateways only',
        v.role !== 'pod-gateway' && `role ${JSON.stringify(v.role)} is not handled`,
        isCidr(v.address) &&
          key !== addressKey(v.vrf, addressOf(v.address)) &&
          'key does not match the address',
      ]);
    },

    dependencies: (_key, v) => addressDependencies(v),

    async create(key, v) {
      const sw = await interfaces.createLoopback(gatewayMac(v.address));
      try {
        await interfaces.setTag(sw, tagOf(key));
        if (v.vrf !== 0) await interfaces.setVrf(sw, v.vrf);
        await interfaces.addAddress(sw, v.address);
        await interfaces.setUp(sw, true);
        const { low, hi } = hostRange4(v.address);
        await interfaces.proxyArpRange(v.vrf, low, hi, true);
      } catch (err) {
        await interfaces.deleteLoopback(sw).catch(() => undefined);
        throw err;
      }
      return { swIfIndex: sw, prefixLen: splitCidr(v.address)!.length };
    },

    async delete(key, v, meta) {
      const sw = meta?.swIfIndex ?? (await interfaces.list()).find((i) => i.tag === tagOf(key))?.swIfIndex;
      if (sw !== undefined) await interfaces.deleteLoopback(sw);
      const { low, hi } = hostRange4(v.address);
      await interfaces.proxyArpRange(v.vrf, low, hi, false);
    },

    async retrieve(ctx) {
      const byTag = keysByTag(ctx.desired.keys());
      const ranges = new Set((await interfaces.proxyArpRanges()).map((r) => `${r.vrf}/${r.low}-${r.hi}`));
      const out: Retrieved<Address, AddressMeta>[] = [];
      for (const itf of await interfaces.list()) {
        if (!itf.tag.startsWith(PREFIX.address)) continue;
        const key = byTag.get(itf.tag) ?? itf.tag;
        const want = ctx.desired.get(key);
        const [address = ''] = (await interfaces.addresses(itf.swIfIndex)).filter((a) => isIp4(addressOf(a)));
        const vrf = await interfaces.vrf(itf.swIfIndex);
        const range = address === '' ? undefined : hostRange4(address);
        const complete = itf.up && range !== undefined && ranges.has(`${vrf}/${range.low}-${range.hi}`);
        const value: Address =
          want !== undefined && complete && want.address === address && want.vrf === vrf
            ? want
            : { vrf, address: complete ? address : '', role: 'pod-gateway' };
        out.push({
          key,
          value,
          metadata: { swIfIndex: itf.swIfIndex, prefixLen: splitCidr(address)?.length ?? 32 },
          origin: 'netloom',
        });
      }
      return out;
    },
  };
}
