// Node addresses (the pod gateway 10.1.N.1/24) on the driver's gateway device: the node
// answers on them, and the subnet route they bring sends traffic for unallocated pod IPs of
// this node into that device, where it is dropped, instead of out of the default route.
//
// A custom network's gateway (VRF N ≠ 0) goes on the same device with `noprefixroute`: a subnet
// route in main would mix networks (its VRF's table has what it needs). Its metric — unused
// without a prefix route — carries the VRF, so retrieve keys the address back under its VRF
// without relying on the desired state. An address whose flags disagree with its metric is
// reported with vrf -1 (drifted: never equal to a desired value), so the scheduler re-adds it.
import { PREFIX, addressKey } from '../../../items/keys.ts';
import { addressDependencies } from '../../../items/dependencies.ts';
import type { Address } from '../../../items/values.ts';
import type { Descriptor } from '../../../scheduler/descriptor.ts';
import { DEFAULT_NAMES, type LinuxNames } from '../naming.ts';
import type { AddressPort, GatewayAddress } from '../ports.ts';
import { check, isCidr, vrfRangeProblem } from '../validate.ts';
import { addressOf } from '../../../../lib/cidr.ts';

/** The gateway-device address for an Address value (pure). */
export const gatewayAddress = (v: Address): GatewayAddress => ({
  cidr: v.address,
  noprefixroute: v.vrf !== 0,
  metric: v.vrf,
});

export function addressDescriptor(
  ports: { addresses: AddressPort },
  names: LinuxNames = DEFAULT_NAMES,
): Descriptor<Address, undefined> {
  return {
    name: 'address',
    keyPrefix: PREFIX.address,

    validate(key, v) {
      check(key, [
        ...vrfRangeProblem(names, v.vrf, [v.address]),
        !isCidr(v.address) && `address ${JSON.stringify(v.address)} is not a CIDR`,
        v.role !== 'pod-gateway' && `role ${JSON.stringify(v.role)} is not handled`,
        isCidr(v.address) &&
          key !== addressKey(v.vrf, addressOf(v.address)) &&
          'key does not match the address',
      ]);
    },

    dependencies: (_key, v) => addressDependencies(v),

    async create(_key, v) {
      await ports.addresses.add(gatewayAddress(v));
      return undefined;
    },

    // In place (the pods whose gateway it is stay wired): the kernel keeps an address's flags on
    // `addr replace`, so a changed prefix or a flag repair is a delete and an add.
    async update(_key, old, v) {
      await ports.addresses.remove(old.address);
      await ports.addresses.add(gatewayAddress(v));
      return undefined;
    },

    async delete(_key, v) {
      await ports.addresses.remove(v.address);
    },

    async retrieve() {
      return (await ports.addresses.list()).map((a) => {
        const vrf = a.metric;
        const consistent = a.noprefixroute === (vrf !== 0);
        return {
          key: addressKey(vrf, addressOf(a.cidr)),
          value: { vrf: consistent ? vrf : -1, address: a.cidr, role: 'pod-gateway' as const },
          origin: 'netloom' as const,
        };
      });
    },
  };
}
