// Node addresses (the pod gateway 10.1.N.1/24) on the driver's gateway device: the node
// answers on them, and the subnet route they bring sends traffic for unallocated pod IPs of
// this node into that device, where it is dropped, instead of out of the default route.
import { PREFIX, addressKey } from '../../../items/keys.ts';
import { addressDependencies } from '../../../items/dependencies.ts';
import type { Address } from '../../../items/values.ts';
import type { Descriptor } from '../../../scheduler/descriptor.ts';
import type { AddressPort } from '../ports.ts';
import { check, isCidr, vrfProblem } from '../validate.ts';
import { addressOf } from '../../../../lib/cidr.ts';

export function addressDescriptor(ports: { addresses: AddressPort }): Descriptor<Address, undefined> {
  return {
    name: 'address',
    keyPrefix: PREFIX.address,

    validate(key, v) {
      check(key, [
        vrfProblem(v.vrf),
        !isCidr(v.address) && `address ${JSON.stringify(v.address)} is not a CIDR`,
        v.role !== 'pod-gateway' && `role ${JSON.stringify(v.role)} is not handled`,
        isCidr(v.address) &&
          key !== addressKey(v.vrf, addressOf(v.address)) &&
          'key does not match the address',
      ]);
    },

    dependencies: (_key, v) => addressDependencies(v),

    async create(_key, v) {
      await ports.addresses.add(v.address);
      return undefined;
    },

    async delete(_key, v) {
      await ports.addresses.remove(v.address);
    },

    async retrieve() {
      return (await ports.addresses.list()).map((cidr) => ({
        key: addressKey(0, addressOf(cidr)),
        value: { vrf: 0, address: cidr, role: 'pod-gateway' as const },
        origin: 'netloom' as const,
      }));
    },
  };
}
