import { describe, expect, it } from 'vitest';
import { KernelError } from './errors.ts';
import { parseAddresses, parseLink, parseRoutes } from './snapshot.ts';

// Captured from iproute2 6.1 on a veth in a test namespace.
const LINK = [
  {
    ifindex: 2,
    ifname: 'sa0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1500,
    link_type: 'ether',
    address: 'fe:dd:5a:3f:95:40',
    linkinfo: { info_kind: 'veth' },
    inet6_addr_gen_mode: 'eui64',
  },
];
const ADDRS = [
  {
    ifname: 'sa0',
    addr_info: [
      {
        family: 'inet',
        local: '10.250.0.2',
        prefixlen: 24,
        scope: 'global',
        label: 'sa0',
        valid_life_time: 4294967295,
      },
      {
        family: 'inet',
        local: '10.250.2.2',
        prefixlen: 24,
        broadcast: '10.250.2.255',
        scope: 'global',
        label: 'sa0:x',
        valid_life_time: 4294967295,
      },
      {
        family: 'inet6',
        local: 'fd00:251::2',
        prefixlen: 64,
        scope: 'global',
        nodad: true,
        noprefixroute: true,
        valid_life_time: 4294967295,
      },
      {
        family: 'inet6',
        local: 'fe80::fcdd:5aff:fe3f:9540',
        prefixlen: 64,
        scope: 'link',
        tentative: true,
        valid_life_time: 4294967295,
      },
      {
        family: 'inet',
        local: '10.0.0.1',
        address: '10.0.0.2',
        prefixlen: 32,
        scope: 'global',
        valid_life_time: 4294967295,
      },
      {
        family: 'inet6',
        local: '2001:db8::5',
        prefixlen: 64,
        scope: 'global',
        dynamic: true,
        mngtmpaddr: true,
        valid_life_time: 86400,
      },
    ],
  },
];
const ROUTES4 = [
  { dst: '10.9.0.0/16', gateway: '10.250.0.1', table: '100', flags: [] },
  { dst: '10.250.0.0/24', protocol: '2', scope: '253', prefsrc: '10.250.0.2', flags: [] },
  {
    type: '2',
    dst: '10.250.0.2',
    table: '255',
    protocol: '2',
    scope: '254',
    prefsrc: '10.250.0.2',
    flags: [],
  },
  { dst: 'default', gateway: '10.250.0.1', protocol: '4', metric: 100, flags: ['onlink'] },
  { dst: '10.7.0.0/16', protocol: '186', table: '1000', flags: [] },
];
const ROUTES6 = [
  { dst: 'fe80::/64', protocol: '2', metric: 256, flags: [], pref: 'medium' },
  { dst: 'default', gateway: 'fe80::1', protocol: '9', metric: 1024, flags: [], pref: 'high', expires: 1700 },
  { dst: 'default', gateway: 'fd00:250::1', metric: 50, flags: [], pref: 'low' },
];

describe('parseLink', () => {
  it('reads name, MAC, MTU, admin state and carrier', () => {
    expect(parseLink(LINK)).toEqual({
      name: 'sa0',
      mac: 'fe:dd:5a:3f:95:40',
      mtu: 1500,
      adminUp: true,
      carrier: true,
      loopback: false,
    });
  });

  it('finds the PCI parent and loopback', () => {
    const pci = parseLink([
      { ...LINK[0], parentbus: 'pci', parentdev: '0000:00:03.0', flags: ['BROADCAST'] },
    ]);
    expect(pci).toMatchObject({ parentPci: '0000:00:03.0', adminUp: false, carrier: false });
    expect(
      parseLink([{ ifname: 'lo', mtu: 65536, flags: ['LOOPBACK', 'UP'], link_type: 'loopback' }]).loopback,
    ).toBe(true);
  });

  it('rejects output it does not understand', () => {
    expect(() => parseLink([])).toThrow(KernelError);
    expect(() => parseLink([{ ifname: 3 }])).toThrow(KernelError);
  });
});

describe('parseAddresses', () => {
  const addrs = parseAddresses(ADDRS);

  it('keeps label, broadcast and the flags ip accepts back', () => {
    expect(addrs[0]).toEqual({
      address: '10.250.0.2/24',
      family: 'inet',
      scope: 'global',
      label: 'sa0',
      flags: [],
      dynamic: false,
    });
    expect(addrs[1]).toMatchObject({ broadcast: '10.250.2.255', label: 'sa0:x' });
    expect(addrs[2]).toMatchObject({ address: 'fd00:251::2/64', flags: ['nodad', 'noprefixroute'] });
    expect(addrs[3]).toMatchObject({ address: 'fe80::fcdd:5aff:fe3f:9540/64', scope: 'link', flags: [] });
  });

  it('reads point-to-point peers and dynamic (leased) addresses', () => {
    expect(addrs[4]).toMatchObject({ address: '10.0.0.1', peer: '10.0.0.2/32' });
    expect(addrs[5]).toMatchObject({ dynamic: true, flags: ['mngtmpaddr'] });
  });
});

describe('parseRoutes', () => {
  it('turns numeric table/protocol/scope/type into names and defaults what ip omits', () => {
    const r = parseRoutes(ROUTES4, 'inet');
    expect(r[0]).toEqual({
      family: 'inet',
      dst: '10.9.0.0/16',
      gateway: '10.250.0.1',
      table: 100,
      metric: 0,
      scope: 'global',
      protocol: 'boot',
      src: '',
      type: 'unicast',
      onlink: false,
    });
    expect(r[1]).toMatchObject({ table: 254, protocol: 'kernel', scope: 'link', src: '10.250.0.2' });
    expect(r[2]).toMatchObject({ table: 255, type: 'local', scope: 'host' });
    expect(r[3]).toMatchObject({ dst: 'default', protocol: 'static', metric: 100, onlink: true });
    expect(r[4]).toMatchObject({ protocol: '186', table: 1000 });
  });

  it('skips expiring routes and keeps a non-default IPv6 preference', () => {
    const r = parseRoutes(ROUTES6, 'inet6');
    expect(r).toHaveLength(2);
    expect(r[0]).not.toHaveProperty('pref');
    expect(r[1]).toMatchObject({ family: 'inet6', gateway: 'fd00:250::1', metric: 50, pref: 'low' });
  });

  it('accepts the named tables ip prints without -N', () => {
    expect(
      parseRoutes(
        [
          { dst: '10.0.0.0/8', table: 'local' },
          { dst: '10.0.0.0/8', table: 'default' },
        ],
        'inet',
      ).map((r) => r.table),
    ).toEqual([255, 253]);
    expect(() => parseRoutes([{ dst: '10.0.0.0/8', table: 'custom' }], 'inet')).toThrow(KernelError);
  });
});
