import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/errors.ts';
import { formatPrefix, parseIp, parsePrefix } from '../../lib/cidr.ts';
import { AddressPlan } from './plan.ts';

describe('AddressPlan', () => {
  const plan = new AddressPlan({ podCidr: '10.1.0.0/16', nodePrefixLength: 24, gatewayOffset: 1 });

  it.each([
    [1, '10.1.1.0/24', '10.1.1.1'],
    [3, '10.1.3.0/24', '10.1.3.1'],
    [255, '10.1.255.0/24', '10.1.255.1'],
  ])('node %i → %s, gateway %s', (id, cidr, gw) => {
    const s = plan.forNode(id);
    expect(s.cidr).toBe(cidr);
    expect(s.gateway).toBe(gw);
    expect([...s.reserved].sort((a, b) => a - b)).toEqual([0, 1, 255]);
  });

  it('limits node IDs to the subnets the pod CIDR holds', () => {
    expect(plan.maxNodeId).toBe(255);
    expect(() => plan.forNode(0)).toThrow(RangeError);
    expect(() => plan.forNode(256)).toThrow('outside 1..255');
  });

  it('supports other splits and reserved offsets', () => {
    const p = new AddressPlan({
      podCidr: '172.16.0.0/12',
      nodePrefixLength: 26,
      gatewayOffset: 62,
      reservedOffsets: [2, 3, 999],
    });
    expect(p.maxNodeId).toBe(2 ** 14 - 1);
    const s = p.forNode(5);
    expect(s.cidr).toBe('172.16.1.64/26');
    expect(s.gateway).toBe('172.16.1.126');
    expect([...s.reserved].sort((a, b) => a - b)).toEqual([0, 2, 3, 62, 63]);
  });

  it.each([
    [{ podCidr: '10.1.0.0', nodePrefixLength: 24, gatewayOffset: 1 }, 'podCidr'],
    [{ podCidr: '10.1.0.1/16', nodePrefixLength: 24, gatewayOffset: 1 }, 'podCidr'],
    [{ podCidr: '10.1.0.0/16', nodePrefixLength: 16, gatewayOffset: 1 }, 'nodePrefixLength'],
    [{ podCidr: '10.1.0.0/16', nodePrefixLength: 24, gatewayOffset: 255 }, 'gatewayOffset'],
  ])('rejects %o naming %s', (cfg, field) => {
    expect(() => new AddressPlan(cfg)).toThrow(ConfigError);
    try {
      new AddressPlan(cfg);
    } catch (err) {
      expect((err as ConfigError).field).toBe(field);
    }
  });
});

describe('cidr', () => {
  it.each(['1.2.3', '256.1.1.1', '1.2.3.4.5', 'a.b.c.d', ''])('rejects ip %s', (t) =>
    expect(parseIp(t)).toBeUndefined(),
  );
  it('round-trips prefixes', () => {
    expect(formatPrefix(parsePrefix('192.168.128.0/17', 'x'))).toBe('192.168.128.0/17');
    expect(parseIp('255.255.255.255')).toBe(2 ** 32 - 1);
  });
  it('suggests the network address when host bits are set', () => {
    expect(() => parsePrefix('10.1.2.3/16', 'podCidr')).toThrow('did you mean 10.1.0.0/16?');
  });
});
