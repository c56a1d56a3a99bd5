import { describe, expect, it } from 'vitest';
import type { InterfaceConfig__Output } from '../proto/gen/netloom/stn/v1/InterfaceConfig.ts';
import { stolenUplink } from './uplink.ts';

const route = (
  r: Partial<InterfaceConfig__Output['routes'][number]>,
): InterfaceConfig__Output['routes'][number] => ({
  dst: 'default',
  gateway: '',
  table: 254,
  metric: 0,
  scope: 'global',
  protocol: 'boot',
  src: '',
  family: 'inet',
  type: 'unicast',
  ...r,
});

// What the daemon records for the lab NIC (test/stn-lab.ts), as the agent receives it.
const LAB: InterfaceConfig__Output = {
  name: 'nic0',
  mac: '52:54:00:12:34:56',
  mtu: 1500,
  pciAddress: '0000:00:03.0',
  kernelDriver: 'virtio-pci',
  dhcp: false,
  addresses: [
    { address: '10.250.0.2/24', family: 'inet', scope: 'global' },
    { address: '10.250.1.2/24', family: 'inet', scope: 'global' },
    { address: 'fe80::5054:ff:fe12:3456/64', family: 'inet6', scope: 'link' },
    { address: 'fd00:250::2/64', family: 'inet6', scope: 'global' },
  ],
  routes: [
    route({ dst: '10.250.0.0/24', protocol: 'kernel', scope: 'link' }),
    route({ gateway: '10.250.0.1' }),
    route({ gateway: '10.250.9.1', metric: 200 }),
    route({ gateway: '10.250.1.1', table: 100, metric: 10 }),
    route({ dst: '10.9.0.0/16', gateway: '10.250.1.1', table: 100, protocol: 'static' }),
    route({ family: 'inet6', gateway: 'fd00:250::1', metric: 50 }),
  ],
};

describe('stolenUplink', () => {
  it('takes the primary IPv4, the lowest-metric main-table default gateways and names what the TAP cannot carry', () => {
    expect(stolenUplink(LAB)).toEqual({
      name: 'nic0',
      mac: '52:54:00:12:34:56',
      mtu: 1500,
      pciAddress: '0000:00:03.0',
      ip4: '10.250.0.2/24',
      gateway4: '10.250.0.1',
      ip6: 'fd00:250::2/64',
      gateway6: 'fd00:250::1',
      notCarried: [
        'address 10.250.1.2/24',
        'route default via 10.250.9.1 table 254',
        'route default via 10.250.1.1 table 100',
        'route 10.9.0.0/16 via 10.250.1.1 table 100',
      ],
    });
  });

  it('refuses a NIC without IPv4: the node address would have nowhere to go', () => {
    expect(() =>
      stolenUplink({ ...LAB, addresses: LAB.addresses.filter((a) => a.family !== 'inet') }),
    ).toThrow(/the stolen NIC nic0 had no IPv4 address/);
  });

  it('a NIC without a default route gives no gateway', () => {
    const u = stolenUplink({ ...LAB, routes: LAB.routes.filter((r) => r.dst !== 'default') });
    expect([u.gateway4, u.gateway6]).toEqual(['', '']);
  });
});
