import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hostOfPrefix,
  addressOf,
  bigIntToIp,
  broadcastOf,
  contains,
  containsIp,
  familyOf,
  formatIp,
  formatPrefix,
  hostAt,
  hostRange4,
  ipToBigInt,
  isCidr,
  isIp,
  isIp4,
  isIp6,
  networkOf,
  parseIp,
  parsePrefix,
  sizeOf,
  splitCidr,
  subtract,
} from './cidr.ts';
import { ConfigError } from './errors.ts';

describe('hostOfPrefix', () => {
  it('names the host of a /32 or /128 and nothing else', () => {
    expect(hostOfPrefix('10.1.1.11/32')).toBe('10.1.1.11');
    expect(hostOfPrefix('fd00::5/128')).toBe('fd00::5');
    for (const t of ['10.1.1.0/24', 'fd00::/64', '10.1.1.11', 'nonsense/32', '10.1.1.1/33', ''])
      expect([t, hostOfPrefix(t)]).toEqual([t, '']);
  });
});

describe('IPv4 as numbers', () => {
  it('parses dotted quads and formats them back', () => {
    expect(parseIp('0.0.0.0')).toBe(0);
    expect(parseIp('10.1.2.3')).toBe(0x0a010203);
    expect(parseIp('255.255.255.255')).toBe(0xffffffff);
    expect(formatIp(0xc0a84d0b)).toBe('192.168.77.11');
    fc.assert(fc.property(fc.nat(0xffffffff), (n) => parseIp(formatIp(n)) === n));
  });

  it('refuses what is not a dotted quad', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '1.2.3.4/32',
      'a.b.c.d',
      ' 1.2.3.4',
      '::1',
      '1..2.3',
      '.1.2.3',
      '1.2.3.',
      '1.2.3.4 ',
      '0001.2.3.4',
      '1.2.3.256',
      '+1.2.3.4',
    ])
      expect(parseIp(bad)).toBeUndefined();
  });

  it('agrees with the dotted-quad grammar on any short text of digits and dots', () => {
    // The grammar as a regular expression, independent of the hand-written scanner.
    const grammar = (t: string): number | undefined => {
      const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(t);
      const parts = m?.slice(1, 5).map(Number);
      if (!parts || parts.some((p) => p > 255)) return undefined;
      return parts.reduce((acc, p) => acc * 256 + p, 0);
    };
    const text = fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '9', '.', '/', 'x'), maxLength: 16 });
    fc.assert(
      fc.property(text, (t) => parseIp(t) === grammar(t)),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.array(fc.nat(999), { minLength: 4, maxLength: 4 }), (o) => {
        const t = o.join('.');
        return parseIp(t) === grammar(t);
      }),
    );
  });

  it('parses network prefixes, refusing host bits with a suggestion and naming the field', () => {
    expect(parsePrefix('10.1.0.0/16', 'podCidr')).toEqual({ base: 0x0a010000, length: 16 });
    expect(formatPrefix(parsePrefix('0.0.0.0/0', 'f'))).toBe('0.0.0.0/0');
    expect(() => parsePrefix('10.1.0.1/16', 'podCidr')).toThrow(/did you mean 10\.1\.0\.0\/16/);
    for (const bad of ['10.1.0.0', '10.1.0.0/33', '10.1.0.0/-1', '10.1.0.0/1/2', 'fd00::/8', '10.1.0.0/']) {
      expect(() => parsePrefix(bad, 'podCidr')).toThrow(ConfigError);
      expect(() => parsePrefix(bad, 'podCidr')).toThrow(/podCidr/);
    }
  });

  it('sizes and containment follow the prefix length', () => {
    expect(sizeOf(32)).toBe(1);
    expect(sizeOf(24)).toBe(256);
    expect(sizeOf(0)).toBe(2 ** 32);
    const p = parsePrefix('10.1.3.0/24', 'f');
    expect(contains(p, parseIp('10.1.3.0')!)).toBe(true);
    expect(contains(p, parseIp('10.1.3.255')!)).toBe(true);
    expect(contains(p, parseIp('10.1.4.0')!)).toBe(false);
    expect(contains(p, parseIp('10.1.2.255')!)).toBe(false);
  });
});

describe('address shapes', () => {
  it('tells the families apart', () => {
    expect([isIp('10.0.0.1'), isIp4('10.0.0.1'), isIp6('10.0.0.1')]).toEqual([true, true, false]);
    expect([isIp('fd00::1'), isIp4('fd00::1'), isIp6('fd00::1')]).toEqual([true, false, true]);
    expect(isIp('10.0.0.1/32')).toBe(false);
    expect(familyOf('10.1.3.5/24')).toBe(4);
    expect(familyOf('fd00::5/64')).toBe(6);
    expect(familyOf('')).toBeUndefined();
  });

  it('splits CIDRs of both families, a bare address being a host prefix unless refused', () => {
    expect(splitCidr('10.1.3.5/24')).toEqual({ ip: '10.1.3.5', length: 24, family: 4 });
    expect(splitCidr('fd00::1/64')).toEqual({ ip: 'fd00::1', length: 64, family: 6 });
    expect(splitCidr('10.1.3.5')).toEqual({ ip: '10.1.3.5', length: 32, family: 4 });
    expect(splitCidr('fd00::1')).toEqual({ ip: 'fd00::1', length: 128, family: 6 });
    expect(splitCidr('10.1.3.5', { bare: false })).toBeUndefined();
    for (const bad of [
      '',
      '/24',
      '10.1.3.5/33',
      'fd00::/129',
      '10.1.3.5/24/1',
      '10.1.3.5/x',
      '10.1.3.5/',
      'host/24',
    ])
      expect(splitCidr(bad)).toBeUndefined();
  });

  it('isCidr wants the length', () => {
    expect(isCidr('10.1.3.5/24')).toBe(true);
    expect(isCidr('0.0.0.0/0')).toBe(true);
    expect(isCidr('::/0')).toBe(true);
    expect(isCidr('10.1.3.5')).toBe(false);
    expect(isCidr('10.1.3.5/040')).toBe(false);
  });

  it('addressOf drops the length, keeps a bare address', () => {
    expect(addressOf('10.1.3.5/24')).toBe('10.1.3.5');
    expect(addressOf('fd00::5/64')).toBe('fd00::5');
    expect(addressOf('10.1.3.5')).toBe('10.1.3.5');
    expect(addressOf('')).toBe('');
  });
});

describe('either family as bigint', () => {
  it('converts addresses both ways', () => {
    expect(ipToBigInt('10.0.0.1')).toBe(0x0a000001n);
    expect(ipToBigInt('::')).toBe(0n);
    expect(ipToBigInt('::1')).toBe(1n);
    expect(ipToBigInt('fd00::')).toBe(0xfd00n << 112n);
    expect(ipToBigInt('::ffff:1.2.3.4')).toBe(0xffff01020304n);
    expect(bigIntToIp(0x0a000001n, 4)).toBe('10.0.0.1');
    expect(() => ipToBigInt('10.0.0.256')).toThrow(RangeError);
  });

  it('formats IPv6 the RFC 5952 way: lower case, longest zero run compressed, a lone zero kept', () => {
    expect(bigIntToIp(0n, 6)).toBe('::');
    expect(bigIntToIp(1n, 6)).toBe('::1');
    expect(bigIntToIp(ipToBigInt('2001:DB8:0:0:1:0:0:1'), 6)).toBe('2001:db8::1:0:0:1');
    expect(bigIntToIp(ipToBigInt('2001:db8:0:1:1:1:1:1'), 6)).toBe('2001:db8:0:1:1:1:1:1');
    expect(bigIntToIp(ipToBigInt('fd00:0:0:1::'), 6)).toBe('fd00:0:0:1::');
  });

  it('round-trips any IPv6 value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (n) => ipToBigInt(bigIntToIp(n, 6)) === n),
    );
  });
});

describe('prefix arithmetic', () => {
  it('network and broadcast of both families', () => {
    expect(networkOf('10.1.3.5/24')).toBe('10.1.3.0/24');
    expect(networkOf('10.1.3.5')).toBe('10.1.3.5/32');
    expect(networkOf('10.1.3.5/0')).toBe('0.0.0.0/0');
    expect(networkOf('fd00::1:5/112')).toBe('fd00::1:0/112');
    expect(broadcastOf('10.1.3.5/24')).toBe('10.1.3.255');
    expect(broadcastOf('10.1.3.5/32')).toBe('10.1.3.5');
    expect(broadcastOf('fd00::/120')).toBe('fd00::ff');
    expect(() => networkOf('10.1.3.5/40')).toThrow(RangeError);
  });

  it('containment, false across families and for malformed text', () => {
    expect(containsIp('10.1.3.0/24', '10.1.3.200')).toBe(true);
    expect(containsIp('10.1.3.9/24', '10.1.3.0')).toBe(true);
    expect(containsIp('10.1.3.0/24', '10.1.4.0')).toBe(false);
    expect(containsIp('0.0.0.0/0', '255.255.255.255')).toBe(true);
    expect(containsIp('fd00::/64', 'fd00::ffff')).toBe(true);
    expect(containsIp('fd00::/64', '10.1.3.1')).toBe(false);
    expect(containsIp('10.1.3.0/24', 'nonsense')).toBe(false);
    expect(containsIp('nonsense', '10.1.3.1')).toBe(false);
  });

  it('hosts at an offset from the start, or from the end when negative', () => {
    expect(hostAt('10.1.3.0/24', 1)).toBe('10.1.3.1');
    expect(hostAt('10.1.3.77/24', 0)).toBe('10.1.3.0');
    expect(hostAt('10.1.3.0/24', -2)).toBe('10.1.3.254');
    expect(hostAt('fd00::/64', 10)).toBe('fd00::a');
    expect(() => hostAt('10.1.3.0/24', 256)).toThrow(RangeError);
    expect(() => hostAt('10.1.3.0/24', -257)).toThrow(RangeError);
  });

  it('usable IPv4 hosts exclude network and broadcast except in /31 and /32', () => {
    expect(hostRange4('10.1.3.1/24')).toEqual({ low: '10.1.3.1', hi: '10.1.3.254' });
    expect(hostRange4('10.1.3.4/30')).toEqual({ low: '10.1.3.5', hi: '10.1.3.6' });
    expect(hostRange4('10.1.3.4/31')).toEqual({ low: '10.1.3.4', hi: '10.1.3.5' });
    expect(hostRange4('10.1.3.4/32')).toEqual({ low: '10.1.3.4', hi: '10.1.3.4' });
  });

  it('subtracts prefixes, returning the fewest CIDRs that cover the rest', () => {
    expect(subtract('10.1.0.0/16', ['10.1.2.0/24'])).toEqual([
      '10.1.0.0/23',
      '10.1.3.0/24',
      '10.1.4.0/22',
      '10.1.8.0/21',
      '10.1.16.0/20',
      '10.1.32.0/19',
      '10.1.64.0/18',
      '10.1.128.0/17',
    ]);
    expect(subtract('10.1.0.0/16', [])).toEqual(['10.1.0.0/16']);
    expect(subtract('10.1.0.0/16', ['10.0.0.0/8'])).toEqual([]);
    expect(subtract('10.1.3.7/24', ['192.168.0.0/16', 'fd00::/8'])).toEqual(['10.1.3.0/24']);
    expect(subtract('fd00::/126', ['fd00::1/128', 'fd00::2'])).toEqual(['fd00::/128', 'fd00::3/128']);
    expect(subtract('::/0', ['::/1'])).toEqual(['8000::/1']);
  });

  it('what subtract returns never meets an exception and, with it, covers the whole', () => {
    const v4 = fc
      .tuple(fc.nat(0xffffffff), fc.integer({ min: 20, max: 32 }))
      .map(([n, l]) => `${formatIp(n)}/${l}`);
    fc.assert(
      fc.property(fc.nat(0xfff), fc.array(v4, { maxLength: 4 }), (hi, cuts) => {
        const whole = `${formatIp(hi << 20)}/12`;
        const local = cuts.map(
          (c) => `${formatIp((hi << 20) | (parseIp(addressOf(c))! & 0xfffff))}/${c.split('/')[1]}`,
        );
        const rest = subtract(whole, local);
        const size = (c: string): bigint =>
          ipToBigInt(broadcastOf(c)) - ipToBigInt(addressOf(networkOf(c))) + 1n;
        for (const r of rest)
          for (const c of local)
            expect(containsIp(c, addressOf(r)) || containsIp(r, addressOf(networkOf(c)))).toBe(false);
        const covered = new Set<string>();
        for (const c of local) covered.add(networkOf(c));
        const cutSizes = [...covered].filter(
          (c) => !local.some((o) => o !== c && containsIp(networkOf(o), addressOf(c)) && size(o) > size(c)),
        );
        const total =
          rest.reduce((a, r) => a + size(r), 0n) + [...new Set(cutSizes)].reduce((a, c) => a + size(c), 0n);
        expect(total).toBe(size(whole));
      }),
    );
  });
});
