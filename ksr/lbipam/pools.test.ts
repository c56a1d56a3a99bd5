import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';
import { ksrConfigSchema } from '../config.ts';
import { LbPools, canonicalIp, parsePools } from './pools.ts';

const names = (spec: Parameters<typeof parsePools>[0]): [string, string[]][] =>
  parsePools(spec).map((p) => [p.name, p.ranges.map((r) => r.text)]);

describe('parsePools', () => {
  it('reads the flag form: pools by ;, entries by ,', () => {
    expect(names('default=192.0.2.0/28,203.0.113.8-203.0.113.15; dmz = 198.51.100.0/30')).toEqual([
      ['default', ['192.0.2.0/28', '203.0.113.8-203.0.113.15']],
      ['dmz', ['198.51.100.0/30']],
    ]);
    expect(parsePools('')).toEqual([]);
  });

  it('reads the file form: name → list or comma text', () => {
    expect(names({ default: ['192.0.2.0/28'], v6: '2001:db8::/126,2001:db8:1::5-2001:db8:1::6' })).toEqual([
      ['default', ['192.0.2.0/28']],
      ['v6', ['2001:db8::/126', '2001:db8:1::5-2001:db8:1::6']],
    ]);
  });

  it.each([
    ['default', /not name=/],
    ['Default=192.0.2.0/28', /DNS label/],
    ['a=192.0.2.0/28;a=192.0.2.16/28', /given twice/],
    ['a=', /no addresses/],
    ['a=192.0.2.1/28', /host bits set; did you mean 192.0.2.0\/28/],
    ['a=192.0.2.300/28', /neither a CIDR/],
    ['a=192.0.2.9-192.0.2.3', /ends before it starts/],
    ['a=192.0.2.1-2001:db8::1', /mixes IPv4 and IPv6/],
    ['a=192.0.2.1-x', /not a range/],
    [
      'a=192.0.2.0/28;b=192.0.2.8-192.0.2.20',
      /192.0.2.0\/28 \(pool a\) overlaps 192.0.2.8-192.0.2.20 \(pool b\)/,
    ],
  ])('rejects %s', (spec, message) => {
    expect(() => parsePools(spec)).toThrow(ConfigError);
    expect(() => parsePools(spec)).toThrow(message);
  });

  it('is a ksr setting: a bad pool is a configuration error naming lbPools', () => {
    const ok = loadConfig(ksrConfigSchema, { argv: ['--lb-pools', 'default=192.0.2.0/30'], env: {} });
    expect(ok.config.lbPools).toHaveLength(1);
    expect(loadConfig(ksrConfigSchema, { argv: [], env: {} }).config.lbPools).toEqual([]);
    expect(() =>
      loadConfig(ksrConfigSchema, { argv: ['--lb-pools', 'default=192.0.2.1/30'], env: {} }),
    ).toThrow(/^lbPools: pool default: "192.0.2.1\/30" has host bits set/);
  });
});

describe('LbPools', () => {
  const pools = new LbPools(parsePools('default=192.0.2.0/30,203.0.113.8-203.0.113.9;v6=2001:db8::/127'));

  it('finds the pool of an address', () => {
    expect(pools.poolOf('192.0.2.3')).toBe('default');
    expect(pools.poolOf('203.0.113.9')).toBe('default');
    expect(pools.poolOf('203.0.113.10')).toBeUndefined();
    expect(pools.poolOf('2001:db8::1')).toBe('v6');
    expect(pools.poolOf('nonsense')).toBeUndefined();
  });

  it('hands out the lowest free address, ranges in order, every CIDR address included', () => {
    expect(pools.firstFree('default', new Set())).toBe('192.0.2.0');
    expect(pools.firstFree('default', new Set(['192.0.2.0', '192.0.2.1', '192.0.2.2', '192.0.2.3']))).toBe(
      '203.0.113.8',
    );
    const all = new Set(['192.0.2.0', '192.0.2.1', '192.0.2.2', '192.0.2.3', '203.0.113.8', '203.0.113.9']);
    expect(pools.firstFree('default', all)).toBeUndefined();
    expect(pools.firstFree('default', new Set(), 6)).toBeUndefined();
    expect(pools.firstFree('v6', new Set(['2001:db8::']))).toBe('2001:db8::1');
    expect(pools.firstFree('nope', new Set())).toBeUndefined();
  });

  it('steps over held addresses only, however large the range', () => {
    const big = new LbPools(parsePools('big=2001:db8::/64'));
    expect(big.firstFree('big', new Set(['2001:db8::', '2001:db8::1']))).toBe('2001:db8::2');
  });

  it('canonicalises addresses so one address is one key', () => {
    expect(canonicalIp('2001:DB8:0:0::1')).toBe('2001:db8::1');
    expect(canonicalIp('192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalIp('x')).toBeUndefined();
  });
});
