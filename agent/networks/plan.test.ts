import { describe, expect, it } from 'vitest';
import type { Network } from '../view/decode.ts';
import { isNetworkOnNode, networkOnNode, networkProblem } from './plan.ts';

const net = (over: Partial<Network> = {}): Network => ({
  name: 'team-a/blue',
  id: 3,
  subnets: ['10.20.0.0/16'],
  vni: 4099,
  nodePrefixLength: 24,
  gatewayOffset: 1,
  snat: false,
  ...over,
});

describe('networkOnNode', () => {
  it("cuts this node's block by node ID, with its gateway, as the default plan does", () => {
    const n = networkOnNode(net(), 2, 10);
    if (!isNetworkOnNode(n)) throw new Error(n.problem);
    expect(n.block.cidr).toBe('10.20.2.0/24');
    expect(n.block.gateway).toBe('10.20.2.1');
    expect([...n.block.reserved].sort((a, b) => a - b)).toEqual([0, 1, 255]);
    expect(n.blockOf(7)?.cidr).toBe('10.20.7.0/24');
    expect(n.blockOf(0)).toBeUndefined();
    expect(n.blockOf(256)).toBeUndefined();
    expect(n.blockOf(1.5)).toBeUndefined();
  });

  it('honours a small subnet cut into small blocks, and the gateway offset', () => {
    const n = networkOnNode(
      net({ subnets: ['10.30.0.0/24'], nodePrefixLength: 28, gatewayOffset: 14 }),
      15,
      10,
    );
    if (!isNetworkOnNode(n)) throw new Error(n.problem);
    expect(n.block.cidr).toBe('10.30.0.240/28');
    expect(n.block.gateway).toBe('10.30.0.254');
    // Node 16 has no block in a /24 cut into /28s.
    expect(networkOnNode(net({ subnets: ['10.30.0.0/24'], nodePrefixLength: 28 }), 16, 10)).toEqual({
      problem: expect.stringMatching(/node ID 16 outside 1\.\.15/) as unknown,
    });
  });

  it('defaults a missing gateway offset to 1', () => {
    const n = networkOnNode(net({ gatewayOffset: 0 }), 1, 10);
    expect(isNetworkOnNode(n) && n.block.gateway).toBe('10.20.1.1');
  });

  it.each<[string, Partial<Network>, RegExp]>([
    ['a name without namespace', { name: 'blue' }, /not <namespace>\/<name>/],
    ['a zero id', { id: 0 }, /id 0/],
    ['a fractional id', { id: 1.5 }, /id 1.5/],
    ['a zero VNI', { vni: 0 }, /vni 0 out of range/],
    ['a VNI over 24 bits', { vni: 2 ** 24 }, /out of range/],
    ["the default network's VNI", { vni: 10 }, /default network/],
    ['no subnet', { subnets: [] }, /no subnet/],
    ['a subnet that is not a CIDR', { subnets: ['10.20.0.0'] }, /not an IPv4 CIDR/],
    ['an IPv6 subnet', { subnets: ['fd00::/64'] }, /not an IPv4 CIDR/],
    ['host bits set', { subnets: ['10.20.1.0/16'] }, /host bits/],
    ['a block not longer than the subnet', { nodePrefixLength: 16 }, /nodePrefixLength/],
    ['no block length', { nodePrefixLength: 0 }, /nodePrefixLength/],
    ['a gateway outside the block', { gatewayOffset: 300 }, /gatewayOffset/],
  ])('refuses %s', (_what, over, why) => {
    expect(networkProblem(net(over), 2, 10)).toMatch(why);
    const n = networkOnNode(net(over), 2, 10);
    expect(isNetworkOnNode(n)).toBe(false);
    expect(!isNetworkOnNode(n) && n.problem).toMatch(/^network /);
  });
});
