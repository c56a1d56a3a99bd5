import { describe, expect, it } from 'vitest';
import { DEFAULT_NAMES } from '../naming.ts';
import { parseRule, ruleText, setupScript } from './nat.ts';
import { hostWiringLines, podWiringLines } from './pod-links.ts';
import { parseRoute, replaceLine } from './routes.ts';
import { vxlanLines } from './vxlan.ts';

const wiring = {
  key: 'pod-interface/default/web/eth0',
  hostIfName: 'nl1a2b3c',
  netns: '/proc/42/ns/net',
  ifname: 'eth0',
  mtu: 1450,
  mac: '0a:58:0a:01:03:05',
  addresses: ['10.1.3.5/32'],
  defaultRoute: true,
  hostRoutes: ['10.1.3.5/32'],
};

describe('iproute2 and nft text', () => {
  it('wires a pod in two batches: host side, then inside the pod', () => {
    expect(hostWiringLines(wiring, DEFAULT_NAMES).map((l) => l.cmd)).toEqual([
      'link del nl1a2b3c',
      'link add nl1a2b3c address ee:ee:ee:ee:ee:ee mtu 1450 type veth peer name eth0 address 0a:58:0a:01:03:05 mtu 1450 netns /proc/42/ns/net',
      'link set nl1a2b3c alias netloom:pod-interface/default/web/eth0',
      'link set nl1a2b3c up',
      'route replace 10.1.3.5/32 dev nl1a2b3c scope link table main proto 78',
    ]);
    expect(podWiringLines(wiring).map((l) => l.cmd)).toEqual([
      'addr add 10.1.3.5/32 dev eth0',
      'link set eth0 up',
      'neigh replace 169.254.1.1 lladdr ee:ee:ee:ee:ee:ee dev eth0 nud permanent',
      'route replace 169.254.1.1 dev eth0 scope link',
      'route replace default via 169.254.1.1 dev eth0',
    ]);
    const named = { ...wiring, netns: 'pod-a', addresses: ['10.1.3.5/32', 'fd00::5/128'] };
    expect(hostWiringLines(named, DEFAULT_NAMES)[1]?.cmd).toContain('netns /run/netns/pod-a');
    expect(podWiringLines(named).map((l) => l.cmd)).toContain(
      'route replace ::/0 via fe80::ecee:eeff:feee:eeee dev eth0',
    );
  });

  it('gives the host veth and the gateway neighbour other MACs when asked (the vpp veth form)', () => {
    const vpp = {
      ...wiring,
      hostRoutes: [],
      hostMac: '06:6e:6c:12:34:56',
      gatewayMac: '02:6e:6c:00:00:01',
      addresses: ['10.1.3.5/32', 'fd00::5/128'],
    };
    expect(hostWiringLines(vpp, DEFAULT_NAMES).map((l) => l.cmd)).toEqual([
      'link del nl1a2b3c',
      'link add nl1a2b3c address 06:6e:6c:12:34:56 mtu 1450 type veth peer name eth0 address 0a:58:0a:01:03:05 mtu 1450 netns /proc/42/ns/net',
      'link set nl1a2b3c alias netloom:pod-interface/default/web/eth0',
      'link set nl1a2b3c up',
    ]);
    expect(podWiringLines(vpp).map((l) => l.cmd)).toEqual([
      'addr add 10.1.3.5/32 dev eth0',
      'addr add fd00::5/128 dev eth0 nodad',
      'link set eth0 up',
      'neigh replace 169.254.1.1 lladdr 02:6e:6c:00:00:01 dev eth0 nud permanent',
      'route replace 169.254.1.1 dev eth0 scope link',
      'route replace default via 169.254.1.1 dev eth0',
      'neigh replace fe80::ecee:eeff:feee:eeee lladdr 02:6e:6c:00:00:01 dev eth0 nud permanent',
      'route replace ::/0 via fe80::ecee:eeff:feee:eeee dev eth0',
    ]);
  });

  it("routes an extra interface's prefixes onlink, without taking eth0's gateway route", () => {
    const net1 = {
      ...wiring,
      key: 'pod-interface/default/web/net1',
      hostIfName: 'nl1a2b3d',
      ifname: 'net1',
      addresses: ['10.2.1.5/32'],
      defaultRoute: false,
      routes: ['10.2.0.0/16', '10.20.0.0/16'],
    };
    expect(podWiringLines(net1).map((l) => l.cmd)).toEqual([
      'addr add 10.2.1.5/32 dev net1',
      'link set net1 up',
      'neigh replace 169.254.1.1 lladdr ee:ee:ee:ee:ee:ee dev net1 nud permanent',
      'route replace 10.2.0.0/16 via 169.254.1.1 dev net1 onlink',
      'route replace 10.20.0.0/16 via 169.254.1.1 dev net1 onlink',
    ]);
    // A default route and routes: one neighbour, the gateway's host route, then both.
    expect(podWiringLines({ ...wiring, routes: ['10.20.0.0/16'] }).map((l) => l.cmd)).toEqual([
      'addr add 10.1.3.5/32 dev eth0',
      'link set eth0 up',
      'neigh replace 169.254.1.1 lladdr ee:ee:ee:ee:ee:ee dev eth0 nud permanent',
      'route replace 169.254.1.1 dev eth0 scope link',
      'route replace default via 169.254.1.1 dev eth0',
      'route replace 10.20.0.0/16 via 169.254.1.1 dev eth0 onlink',
    ]);
    // Neither a default route nor routes: no neighbour either; an empty list is no list.
    const bare = ['addr add 10.2.1.5/32 dev net1', 'link set net1 up'];
    expect(podWiringLines({ ...net1, routes: [] }).map((l) => l.cmd)).toEqual(bare);
    // IPv4 routes need an IPv4 address to leave from (validate refuses the item before this).
    expect(podWiringLines({ ...net1, addresses: ['fd00::5/128'] }).map((l) => l.cmd)).toEqual([
      'addr add fd00::5/128 dev net1 nodad',
      'link set net1 up',
    ]);
  });

  it('renders routes with netloom protocol and reads them back', () => {
    expect(replaceLine({ dst: '10.1.3.5/32', type: 'unicast', table: 'main', dev: 'nl1' }, 78)).toBe(
      'route replace 10.1.3.5/32 dev nl1 scope link table main proto 78',
    );
    expect(
      replaceLine(
        {
          dst: '10.1.2.0/24',
          type: 'unicast',
          table: 'main',
          dev: 'nlvx10',
          gateway: '169.254.128.2',
          onlink: true,
        },
        78,
      ),
    ).toBe('route replace 10.1.2.0/24 via 169.254.128.2 dev nlvx10 onlink table main proto 78');
    expect(replaceLine({ dst: '10.9.0.0/16', type: 'blackhole', table: 'main' }, 78)).toBe(
      'route replace blackhole 10.9.0.0/16 table main proto 78',
    );
    expect(parseRoute({ dst: '10.1.3.5', dev: 'nl1' }, false)).toEqual({
      dst: '10.1.3.5/32',
      type: 'unicast',
      table: 'main',
      dev: 'nl1',
    });
    expect(
      parseRoute({ dst: '10.1.2.0/24', dev: 'nlvx10', gateway: '169.254.128.2', flags: ['onlink'] }, false),
    ).toEqual({
      dst: '10.1.2.0/24',
      type: 'unicast',
      table: 'main',
      dev: 'nlvx10',
      gateway: '169.254.128.2',
      onlink: true,
    });
    expect(parseRoute({ type: 'local', dst: '10.7.0.0/24', dev: 'lo', table: 'local' }, false)).toEqual({
      dst: '10.7.0.0/24',
      type: 'local',
      table: 'local',
      dev: 'lo',
    });
  });

  it('creates VXLAN devices without learning', () => {
    expect(
      vxlanLines({
        device: 'nlvx10',
        vni: 10,
        localIp: '192.168.0.1',
        port: 4789,
        mtu: 1450,
        mac: '02:00:00:0a:00:01',
      }).map((l) => l.cmd),
    ).toEqual([
      'link del nlvx10',
      'link add nlvx10 address 02:00:00:0a:00:01 mtu 1450 type vxlan id 10 local 192.168.0.1 dstport 4789 nolearning',
      'link set nlvx10 up',
    ]);
  });

  it('renders NAT rules and parses nft -j back into the same rule', () => {
    const rule = {
      source: '10.1.3.0/24',
      except: ['10.1.0.0/16', '10.96.0.0/12', 'fd00::/48'],
      toAddress: '',
      comment: 'snat/0/10.1.3.0/24',
    };
    expect(ruleText(rule)).toBe(
      'ip saddr 10.1.3.0/24 ip daddr != { 10.1.0.0/16, 10.96.0.0/12 } counter masquerade comment "snat/0/10.1.3.0/24"',
    );
    expect(ruleText({ ...rule, except: ['10.1.0.0/16'], toAddress: '1.2.3.4' })).toBe(
      'ip saddr 10.1.3.0/24 ip daddr != 10.1.0.0/16 counter snat ip to 1.2.3.4 comment "snat/0/10.1.3.0/24"',
    );
    expect(setupScript('netloom')).toContain('type nat hook postrouting priority srcnat');
    // As nft 1.0.6 prints them.
    const listed = {
      handle: 3,
      comment: 'snat/0/10.1.3.0/24',
      expr: [
        {
          match: {
            op: '==',
            left: { payload: { protocol: 'ip', field: 'saddr' } },
            right: { prefix: { addr: '10.1.3.0', len: 24 } },
          },
        },
        {
          match: {
            op: '!=',
            left: { payload: { protocol: 'ip', field: 'daddr' } },
            right: {
              set: [{ prefix: { addr: '10.1.0.0', len: 16 } }, { prefix: { addr: '10.96.0.0', len: 12 } }],
            },
          },
        },
        { counter: { packets: 0, bytes: 0 } },
        { masquerade: null },
      ],
    };
    expect(parseRule(listed)).toEqual({
      handle: 3,
      source: '10.1.3.0/24',
      except: ['10.1.0.0/16', '10.96.0.0/12'],
      toAddress: '',
      comment: 'snat/0/10.1.3.0/24',
    });
    const single = {
      handle: 4,
      comment: 'x',
      expr: [
        { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '10.1.4.7' } },
        {
          match: {
            op: '!=',
            left: { payload: { protocol: 'ip', field: 'daddr' } },
            right: { prefix: { addr: '10.1.0.0', len: 16 } },
          },
        },
        { snat: { family: 'ip', addr: '1.2.3.4' } },
      ],
    };
    expect(parseRule(single)).toEqual({
      handle: 4,
      source: '10.1.4.7/32',
      except: ['10.1.0.0/16'],
      toAddress: '1.2.3.4',
      comment: 'x',
    });
    expect(parseRule({ handle: 5, expr: [{ accept: null }] })).toBeUndefined();
  });
});
