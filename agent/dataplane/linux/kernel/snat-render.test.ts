// Source NAT in a custom network as text: the policy rules of its way out and back, the nft
// script (masquerade setting the conntrack mark, the restore rule), and both read back from the
// JSON the real ip/nft print (nft 1.0.6, iproute2 6.1: captured from a scratch namespace).
import { describe, expect, it } from 'vitest';
import { snatRuleOwner, snatVrfRules } from '../descriptors/snat.ts';
import { vrfOfRule } from '../descriptors/vrf.ts';
import { DEFAULT_NAMES, snatMark, vrfOfTable } from '../naming.ts';
import type { NatRule } from '../ports.ts';
import {
  addScript,
  canonicalPrefixes,
  parseRestore,
  parseRule as parseNat,
  restoreText,
  ruleText,
} from './nat.ts';
import { parseRule, ruleLine } from './rules.ts';

const snatA = {
  vrf: 5,
  source: '10.2.1.0/24',
  except: ['10.1.0.0/16', '10.96.0.0/12', '10.2.0.0/16', '10.3.0.0/16'],
  toAddress: '',
};

describe('source NAT in a custom network as text', () => {
  it('renders the way out and the way back as rules around the VRF priorities', () => {
    expect(snatVrfRules(DEFAULT_NAMES, snatA).map((r) => ruleLine('add', r, 78))).toEqual([
      'rule add to 10.2.1.0/24 fwmark 0x50000/0xffff0000 lookup 1005 pref 998 protocol 78',
      'rule add from 10.2.1.0/24 lookup 1005 pref 998 protocol 78',
      // 10.1/16, 10.2/16 and 10.3/16 are one range, cut into aligned prefixes.
      'rule add from 10.2.1.0/24 to 10.1.0.0/16 table 1005 unreachable pref 999 protocol 78',
      'rule add from 10.2.1.0/24 to 10.2.0.0/15 table 1005 unreachable pref 999 protocol 78',
      'rule add from 10.2.1.0/24 to 10.96.0.0/12 table 1005 unreachable pref 999 protocol 78',
      'rule add from 10.2.1.0/24 lookup 254 pref 1000 protocol 78',
    ]);
    expect(snatVrfRules(DEFAULT_NAMES, { ...snatA, vrf: 0 })).toEqual([]);
    expect(snatMark(5)).toBe(0x50000);
    expect(snatMark(0xffff)).toBe(0xffff0000);
  });

  it('reads the rules back from ip -j, tells whose they are, and never mistakes them for a VRF', () => {
    const listed = [
      {
        priority: 998,
        src: 'all',
        fwmark: '0x50000',
        fwmask: '0xffff0000',
        dst: '10.2.1.0',
        dstlen: 24,
        table: '1005',
        protocol: '78',
      },
      { priority: 998, src: '10.2.1.0', srclen: 24, table: '1005', protocol: '78' },
      {
        priority: 999,
        src: '10.2.1.0',
        srclen: 24,
        dst: '10.96.0.0',
        dstlen: 12,
        table: '1005',
        action: 'unreachable',
        protocol: '78',
      },
      { priority: 1000, src: '10.2.1.0', srclen: 24, table: 'main', protocol: '78' },
      { priority: 32766, src: 'all', table: 'main' },
    ];
    const rules = listed.flatMap((r) => parseRule(r, 78) ?? []);
    expect(rules.map((r) => ruleLine('add', r, 78))).toEqual([
      'rule add to 10.2.1.0/24 fwmark 0x50000/0xffff0000 lookup 1005 pref 998 protocol 78',
      'rule add from 10.2.1.0/24 lookup 1005 pref 998 protocol 78',
      'rule add from 10.2.1.0/24 to 10.96.0.0/12 table 1005 unreachable pref 999 protocol 78',
      'rule add from 10.2.1.0/24 lookup 254 pref 1000 protocol 78',
    ]);
    expect(rules.map((r) => snatRuleOwner(DEFAULT_NAMES, r))).toEqual([
      { vrf: 5, source: '10.2.1.0/24' },
      { vrf: 5, source: '10.2.1.0/24' },
      { vrf: 5, source: '10.2.1.0/24' },
      { vrf: undefined, source: '10.2.1.0/24' },
    ]);
    expect(rules.map((r) => vrfOfRule(DEFAULT_NAMES, r))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    // A full mask prints without fwmask; another VRF's mark or mask is not netloom's shape.
    expect(parseRule({ priority: 998, fwmark: '0x7', table: '1005', protocol: '78' }, 78)?.fwmark).toEqual({
      mark: 7,
      mask: 0xffffffff,
    });
    const wrongMark = { ...rules[0]!, fwmark: { mark: snatMark(6), mask: 0xffff0000 } };
    expect(snatRuleOwner(DEFAULT_NAMES, wrongMark)).toBeUndefined();
    // The VRF rule shapes at P are not SNAT's, and main is never a VRF's table.
    expect(
      snatRuleOwner(DEFAULT_NAMES, { pref: 1000, action: 'lookup', table: 1005, from: '10.2.0.0/16' }),
    ).toBeUndefined();
    expect(vrfOfTable({ ...DEFAULT_NAMES, vrfTableBase: 200 }, 254)).toBeUndefined();
  });

  it('renders the masquerade with its conntrack mark and the restore rule in one script', () => {
    const rule: NatRule = { ...snatA, comment: 'snat/5/10.2.1.0/24', ctMark: snatMark(5) };
    expect(addScript('netloom', rule).split('\n')).toEqual([
      'add table inet netloom',
      'add chain inet netloom postrouting { type nat hook postrouting priority srcnat; policy accept; }',
      'add chain inet netloom prerouting { type filter hook prerouting priority mangle; policy accept; }',
      'add rule inet netloom postrouting ip saddr 10.2.1.0/24 ip daddr != { 10.1.0.0/16, 10.96.0.0/12, 10.2.0.0/16, 10.3.0.0/16 } counter ct mark set 0x50000 masquerade comment "snat/5/10.2.1.0/24"',
      'add rule inet netloom prerouting ct direction reply ct mark 0x50000 meta mark set 0x50000 comment "snat/5/10.2.1.0/24"',
      '',
    ]);
    expect(restoreText(0x60000, 'snat/6/x')).toBe(
      'ct direction reply ct mark 0x60000 meta mark set 0x60000 comment "snat/6/x"',
    );
    // VRF 0's rule is as before: no mark, no prerouting chain.
    const plain = { ...rule, vrf: 0, ctMark: undefined };
    expect(ruleText(plain)).not.toContain('ct mark');
    expect(addScript('netloom', plain)).not.toContain('prerouting');
  });

  it('reads the masquerade (merged ranges, ct mark) and the restore rule back from nft -j', () => {
    const masq = {
      handle: 4,
      comment: 'snat/5/10.2.1.0/24',
      expr: [
        {
          match: {
            op: '==',
            left: { payload: { protocol: 'ip', field: 'saddr' } },
            right: { prefix: { addr: '10.2.1.0', len: 24 } },
          },
        },
        {
          match: {
            op: '!=',
            left: { payload: { protocol: 'ip', field: 'daddr' } },
            right: {
              set: [{ range: ['10.1.0.0', '10.3.255.255'] }, { prefix: { addr: '10.96.0.0', len: 12 } }],
            },
          },
        },
        { counter: { packets: 0, bytes: 0 } },
        { mangle: { key: { ct: { key: 'mark' } }, value: 327680 } },
        { masquerade: null },
      ],
    };
    const got = parseNat(masq);
    expect(got).toEqual({
      handle: 4,
      source: '10.2.1.0/24',
      except: ['10.1.0.0/16', '10.2.0.0/15', '10.96.0.0/12'],
      toAddress: '',
      comment: 'snat/5/10.2.1.0/24',
      ctMark: 0x50000,
    });
    expect(canonicalPrefixes(got!.except)).toEqual(canonicalPrefixes(snatA.except));
    const restore = {
      handle: 5,
      comment: 'snat/5/10.2.1.0/24',
      expr: [
        { match: { op: '==', left: { ct: { key: 'direction' } }, right: 'reply' } },
        { match: { op: '==', left: { ct: { key: 'mark' } }, right: 327680 } },
        { mangle: { key: { meta: { key: 'mark' } }, value: 327680 } },
      ],
    };
    expect(parseRestore(restore)).toEqual({ mark: 0x50000, comment: 'snat/5/10.2.1.0/24', handle: 5 });
    // Anything else in the chain is not a restore rule of netloom's.
    expect(parseRestore({ ...restore, expr: restore.expr.slice(1) })).toBeUndefined();
    expect(
      parseRestore({ ...restore, expr: [...restore.expr, { counter: { packets: 0, bytes: 0 } }] }),
    ).toBeUndefined();
    expect(parseRestore({ handle: 6, expr: restore.expr })).toBeUndefined();
  });

  it('compares prefix lists by what they cover', () => {
    expect(canonicalPrefixes(['10.0.0.0/16', '10.1.0.0/16'])).toEqual(['10.0.0.0/15']);
    expect(canonicalPrefixes(['10.1.0.0/16', '10.1.5.0/24', 'fd00::/64', '10.1.0.0/16'])).toEqual([
      '10.1.0.0/16',
      'fd00::/64',
    ]);
    expect(canonicalPrefixes(['10.1.0.0/16', '10.3.0.0/16'])).toEqual(['10.1.0.0/16', '10.3.0.0/16']);
    expect(canonicalPrefixes(['0.0.0.0/0'])).toEqual(['0.0.0.0/0']);
    expect(canonicalPrefixes(['255.255.255.255/32', '255.255.255.254/32'])).toEqual(['255.255.255.254/31']);
  });
});
