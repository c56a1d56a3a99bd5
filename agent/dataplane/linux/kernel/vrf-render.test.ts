import { describe, expect, it } from 'vitest';
import { overlayRules } from '../descriptors/overlay.ts';
import { vrfOfRule, vrfRules } from '../descriptors/vrf.ts';
import { DEFAULT_NAMES, vrfInRange, vrfOfTable, vrfTable } from '../naming.ts';
import { addressLine } from './addresses.ts';
import { hostWiringLines } from './pod-links.ts';
import { parseRoute, replaceLine } from './routes.ts';
import { parseRule, ruleLine } from './rules.ts';

const blue = { id: 5, network: 'default/blue', subnets: ['10.2.0.0/16', '10.20.0.0/24'] };

describe('custom-network VRFs as iproute2 text', () => {
  it('maps VRF N to table base + N, and only netloom range back', () => {
    expect(vrfTable(DEFAULT_NAMES, 0)).toBe('main');
    expect(vrfTable(DEFAULT_NAMES, 5)).toBe(1005);
    expect(vrfOfTable(DEFAULT_NAMES, 1005)).toBe(5);
    expect(vrfOfTable(DEFAULT_NAMES, 1000)).toBeUndefined();
    expect(vrfOfTable(DEFAULT_NAMES, 254)).toBeUndefined();
    expect(vrfInRange(DEFAULT_NAMES, 2 ** 32 - 1001)).toBe(true);
    expect(vrfInRange(DEFAULT_NAMES, 2 ** 32 - 1000)).toBe(false);
    expect(vrfInRange({ ...DEFAULT_NAMES, vrfTableBase: 250 }, 4)).toBe(false); // 254 is main
    expect(vrfInRange(DEFAULT_NAMES, -1)).toBe(false);
    expect(vrfInRange(DEFAULT_NAMES, 1.5)).toBe(false);
  });

  it("renders a VRF's rules: select by source, the node's own traffic, the unreachable guard", () => {
    expect(vrfRules(DEFAULT_NAMES, blue).map((r) => ruleLine('add', r, 78))).toEqual([
      'rule add from 10.2.0.0/16 lookup 1005 pref 1000 protocol 78',
      'rule add from 10.20.0.0/24 lookup 1005 pref 1000 protocol 78',
      'rule add to 10.2.0.0/16 iif lo lookup 1005 pref 1000 protocol 78',
      'rule add to 10.20.0.0/24 iif lo lookup 1005 pref 1000 protocol 78',
      'rule add from 10.2.0.0/16 table 1005 unreachable pref 1001 protocol 78',
      'rule add from 10.20.0.0/24 table 1005 unreachable pref 1001 protocol 78',
    ]);
    expect(ruleLine('del', vrfRules(DEFAULT_NAMES, blue)[4]!, 78)).toBe(
      'rule del from 10.2.0.0/16 table 1005 unreachable pref 1001 protocol 78',
    );
    expect(overlayRules(DEFAULT_NAMES, 'nlvx20', 5).map((r) => ruleLine('add', r, 78))).toEqual([
      'rule add iif nlvx20 lookup 1005 pref 1000 protocol 78',
    ]);
    expect(overlayRules(DEFAULT_NAMES, 'nlvx10', 0)).toEqual([]);
  });

  it('reads `ip -j rule show` back (as iproute2 6.1 prints it), netloom protocol only', () => {
    // Listed by iproute2 6.1 for the rules above and others'.
    const listed = [
      { priority: 0, src: 'all', table: 'local' },
      { priority: 1000, src: '10.2.0.0', srclen: 16, table: '1005', protocol: '78' },
      { priority: 1000, src: 'all', dst: '10.2.0.0', dstlen: 16, iif: 'lo', table: '1005', protocol: '78' },
      { priority: 1000, src: 'all', iif: 'nlvx20', iif_detached: null, table: '1005', protocol: '78' },
      { priority: 1001, src: '10.2.0.0', srclen: 16, table: '1005', action: 'unreachable', protocol: '78' },
      { priority: 1000, src: '10.2.0.0', srclen: 16, table: '1005' }, // someone else's: no protocol
      { priority: 1000, src: '10.9.1.1', table: '1005', protocol: '78' }, // a host: no srclen
      { priority: 32766, src: 'all', table: 'main' },
    ];
    const rules = listed.flatMap((r) => parseRule(r, 78) ?? []);
    expect(rules).toEqual([
      { pref: 1000, action: 'lookup', table: 1005, from: '10.2.0.0/16' },
      { pref: 1000, action: 'lookup', table: 1005, to: '10.2.0.0/16', iif: 'lo' },
      { pref: 1000, action: 'lookup', table: 1005, iif: 'nlvx20' },
      { pref: 1001, action: 'unreachable', table: 1005, from: '10.2.0.0/16' },
      { pref: 1000, action: 'lookup', table: 1005, from: '10.9.1.1/32' },
    ]);
    // The VRF's shapes belong to VRF 5; the overlay's iif rule does not (overlay.ts reads it).
    expect(rules.map((r) => vrfOfRule(DEFAULT_NAMES, r))).toEqual([5, 5, undefined, 5, 5]);
    expect(vrfOfRule(DEFAULT_NAMES, { pref: 999, action: 'lookup', table: 1005, from: '10.2.0.0/16' })).toBe(
      undefined,
    );
    expect(vrfOfRule(DEFAULT_NAMES, { pref: 1000, action: 'lookup', table: 900, from: '10.2.0.0/16' })).toBe(
      undefined,
    );
  });

  it("routes a pod of VRF N in the VRF's table; drops as unreachable; reads tables back", () => {
    const w = {
      key: 'pod-interface/default/web/eth0',
      hostIfName: 'nl1a2b3c',
      netns: '/proc/42/ns/net',
      ifname: 'eth0',
      mtu: 1450,
      mac: '0a:58:0a:02:01:05',
      addresses: ['10.2.1.5/32'],
      defaultRoute: true,
      hostRoutes: ['10.2.1.5/32'],
      hostTable: 1005,
    };
    expect(hostWiringLines(w, DEFAULT_NAMES).at(-1)?.cmd).toBe(
      'route replace 10.2.1.5/32 dev nl1a2b3c scope link table 1005 proto 78',
    );
    expect(
      replaceLine(
        {
          dst: '10.2.2.0/24',
          type: 'unicast',
          table: 1005,
          dev: 'nlvx20',
          gateway: '169.254.128.2',
          onlink: true,
        },
        78,
      ),
    ).toBe('route replace 10.2.2.0/24 via 169.254.128.2 dev nlvx20 onlink table 1005 proto 78');
    expect(replaceLine({ dst: '10.2.0.0/16', type: 'unreachable', table: 'main' }, 78)).toBe(
      'route replace unreachable 10.2.0.0/16 table main proto 78',
    );
    // As `ip -j route show table all proto 78` prints them (iproute2 6.1).
    expect(parseRoute({ dst: '10.2.1.5', dev: 'nl1', table: '1005' }, false)).toEqual({
      dst: '10.2.1.5/32',
      type: 'unicast',
      table: 1005,
      dev: 'nl1',
    });
    expect(parseRoute({ type: 'unreachable', dst: '10.3.0.0/16' }, false)).toEqual({
      dst: '10.3.0.0/16',
      type: 'unreachable',
      table: 'main',
    });
    expect(parseRoute({ type: 'blackhole', dst: '10.4.0.0/16' }, false)?.type).toBe('blackhole');
    expect(parseRoute({ dst: '10.5.0.0/16', dev: 'x', table: 'custom' }, false)).toBeUndefined();
  });

  it("puts a custom network's gateway on the device without a prefix route, its VRF as metric", () => {
    expect(addressLine('netloom0', { cidr: '10.1.3.1/24', noprefixroute: false, metric: 0 })).toBe(
      'addr replace 10.1.3.1/24 dev netloom0',
    );
    expect(addressLine('netloom0', { cidr: '10.2.3.1/24', noprefixroute: true, metric: 5 })).toBe(
      'addr replace 10.2.3.1/24 dev netloom0 noprefixroute metric 5',
    );
  });
});
