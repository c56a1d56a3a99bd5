import { describe, expect, it } from 'vitest';
import type { Recorded, RecordedAddress, RecordedRoute, Snapshot } from './model.ts';
import {
  addressAddLine,
  addressRestoreLines,
  isReleased,
  isStolen,
  linkRestoreLines,
  releaseDiff,
  routeAddLine,
  routeDelLine,
  routeRestoreLines,
  stealAddressLines,
  stealLinkLines,
  stealRouteLines,
} from './plan.ts';

const route = (r: Partial<RecordedRoute>): RecordedRoute => ({
  family: 'inet',
  dst: '10.0.0.0/24',
  gateway: '',
  table: 254,
  metric: 0,
  scope: 'global',
  protocol: 'boot',
  src: '',
  type: 'unicast',
  onlink: false,
  ...r,
});
const addr = (a: Partial<RecordedAddress>): RecordedAddress => ({
  address: '10.0.0.2/24',
  family: 'inet',
  scope: 'global',
  flags: [],
  dynamic: false,
  ...a,
});

const ADDRS = [
  addr({ label: 'eth0' }),
  addr({ address: 'fd00::2/64', family: 'inet6', flags: ['noprefixroute'] }),
  addr({ address: '2001:db8::5/64', family: 'inet6', dynamic: true }),
];
const ROUTES = [
  route({ dst: '10.0.0.0/24', protocol: 'kernel', scope: 'link', src: '10.0.0.2' }),
  route({ dst: 'default', gateway: '10.0.0.1' }),
  route({ dst: '10.9.0.0/16', gateway: '10.0.0.1', table: 100, protocol: 'static' }),
  route({ dst: '10.8.0.0/16', table: 100, scope: 'link', src: '10.0.0.2' }),
  route({ family: 'inet6', dst: 'default', gateway: 'fd00::1', metric: 1024 }),
  route({ family: 'inet6', dst: 'default', gateway: 'fe80::1', metric: 1024, protocol: 'ra' }),
];
const REC: Recorded = {
  name: 'eth0',
  mac: 'aa:bb:cc:dd:ee:ff',
  mtu: 1500,
  adminUp: true,
  pciAddress: '',
  kernelDriver: '',
  addresses: ADDRS,
  routes: ROUTES,
  dhcp: false,
  unbind: false,
};
const link = {
  name: 'eth0',
  mac: 'aa:bb:cc:dd:ee:ff',
  mtu: 1500,
  adminUp: true,
  carrier: true,
  loopback: false,
};
const full: Snapshot = { link, addresses: ADDRS, routes: ROUTES };
const empty: Snapshot = { link: { ...link, adminUp: false }, addresses: [], routes: [] };

describe('rendering ip batch lines', () => {
  it('renders a route with every attribute needed to recreate it exactly', () => {
    expect(routeAddLine(ROUTES[2]!, 'eth0')).toBe(
      'route replace 10.9.0.0/16 via 10.0.0.1 dev eth0 table 100 proto static scope global',
    );
    expect(routeAddLine(ROUTES[3]!, 'eth0')).toBe(
      'route replace 10.8.0.0/16 dev eth0 table 100 proto boot scope link src 10.0.0.2',
    );
    expect(
      routeAddLine(
        route({ family: 'inet6', dst: 'default', gateway: 'fe80::1', metric: 5, onlink: true, pref: 'high' }),
        'eth0',
      ),
    ).toBe('route replace ::/0 via fe80::1 dev eth0 table 254 metric 5 proto boot onlink pref high');
  });

  it('spells the default route per family, since a batch line has no -4/-6', () => {
    expect(routeDelLine(ROUTES[1]!, 'eth0')).toBe('route del 0.0.0.0/0 via 10.0.0.1 dev eth0 table 254');
    expect(routeDelLine(ROUTES[4]!, 'eth0')).toBe(
      'route del ::/0 via fd00::1 dev eth0 table 254 metric 1024',
    );
  });

  it('renders addresses with their flags, label aliases and peers', () => {
    expect(addressAddLine(ADDRS[0]!, 'eth0')).toBe('address replace 10.0.0.2/24 dev eth0');
    expect(addressAddLine(ADDRS[1]!, 'eth0')).toBe('address replace fd00::2/64 dev eth0 noprefixroute');
    expect(addressAddLine(addr({ label: 'eth0:1', broadcast: '10.0.0.255', scope: 'link' }), 'eth0')).toBe(
      'address replace 10.0.0.2/24 dev eth0 scope link broadcast 10.0.0.255 label eth0:1',
    );
    expect(addressAddLine(addr({ address: '10.0.0.1', peer: '10.0.0.9/32' }), 'eth0')).toBe(
      'address replace 10.0.0.1 peer 10.0.0.9/32 dev eth0',
    );
  });
});

describe('steal plan', () => {
  it('deletes the routes the kernel would not remove itself, then addresses, then the link', () => {
    const lines = stealRouteLines(full);
    expect(lines).toHaveLength(5);
    expect(lines.some((l) => l.includes('10.0.0.0/24'))).toBe(false);
    expect(stealAddressLines(full)).toEqual(['address flush dev eth0']);
    expect(stealLinkLines(full)).toEqual(['link set dev eth0 down']);
  });

  it('has nothing left to do on a stolen interface', () => {
    expect([...stealRouteLines(empty), ...stealAddressLines(empty), ...stealLinkLines(empty)]).toEqual([]);
    expect(isStolen(empty)).toBe(true);
    expect(isStolen(full)).toBe(false);
    expect(isStolen({ ...empty, link: { ...link, adminUp: true } })).toBe(false);
  });
});

describe('release plan', () => {
  it('from a fully stolen interface restores link, addresses, then routes (link routes before gateway routes)', () => {
    expect(linkRestoreLines(REC, empty)).toEqual(['link set dev eth0 up']);
    expect(addressRestoreLines(REC, empty)).toEqual([
      'address replace 10.0.0.2/24 dev eth0',
      'address replace fd00::2/64 dev eth0 noprefixroute',
    ]);
    // The kernel lists IPv4 addresses oldest first and IPv6 newest first: replay accordingly.
    const order = {
      ...REC,
      addresses: [
        addr({ address: '10.0.0.2/24' }),
        addr({ address: '10.0.0.3/24' }),
        addr({ address: 'fd00::3/64', family: 'inet6' }),
        addr({ address: 'fd00::2/64', family: 'inet6' }),
      ],
    };
    expect(addressRestoreLines(order, empty).map((l) => l.split(' ')[2])).toEqual([
      '10.0.0.2/24',
      '10.0.0.3/24',
      'fd00::2/64',
      'fd00::3/64',
    ]);
    const routes = routeRestoreLines(REC, empty);
    expect(routes).toHaveLength(4);
    expect(routes[0]).toContain('10.8.0.0/16');
    expect(routes.some((l) => l.includes('fe80::1'))).toBe(false);
  });

  it('restores MAC and MTU a data plane changed, the MAC while the link is down', () => {
    const changed: Snapshot = { ...full, link: { ...link, mac: '02:00:00:00:00:01', mtu: 9000 } };
    expect(linkRestoreLines(REC, changed)).toEqual([
      'link set dev eth0 down',
      'link set dev eth0 address aa:bb:cc:dd:ee:ff',
      'link set dev eth0 mtu 1500',
      'link set dev eth0 up',
    ]);
    expect(isReleased(REC, changed)).toBe(false);
  });

  it('is idempotent: nothing to do once the kernel shows everything', () => {
    expect([
      ...linkRestoreLines(REC, full),
      ...addressRestoreLines(REC, full),
      ...routeRestoreLines(REC, full),
    ]).toEqual([]);
    expect(isReleased(REC, full)).toBe(true);
  });

  it('counts kernel routes as missing until the kernel recreates them, but never adds them', () => {
    const noKernel: Snapshot = { ...full, routes: ROUTES.filter((r) => r.protocol !== 'kernel') };
    expect(releaseDiff(REC, noKernel).routes.map((r) => r.dst)).toEqual(['10.0.0.0/24']);
    expect(routeRestoreLines(REC, noKernel)).toEqual([]);
    expect(isReleased(REC, noKernel)).toBe(false);
  });

  it('does not wait for what the kernel relearns (RA routes, SLAAC addresses)', () => {
    const learnedGone: Snapshot = {
      ...full,
      addresses: ADDRS.filter((a) => !a.dynamic),
      routes: ROUTES.filter((r) => r.protocol !== 'ra'),
    };
    expect(isReleased(REC, learnedGone)).toBe(true);
  });
});
