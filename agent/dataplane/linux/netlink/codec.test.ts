// The rtnetlink codec's bytes, against the uapi layouts written out by hand here (the real
// kernel's verdict on them is test/linux-netlink.test.ts): header, fixed part, attributes
// 4-aligned with their unpadded length, nested attributes, replies split and read.
import { describe, expect, it } from 'vitest';
import { conditionOf } from './client.ts';
import {
  addAddress,
  delLink,
  errnoOf,
  linkIndexOf,
  newVeth,
  replaceNeighbour,
  replaceRoute,
  replies,
} from './codec.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** An independent walk of attributes: [type, payload hex] in order. */
function attrs(b: Uint8Array, from: number): [number, string][] {
  const out: [number, string][] = [];
  let at = from;
  while (at + 4 <= b.length) {
    const len = b[at]! | (b[at + 1]! << 8);
    out.push([b[at + 2]! | (b[at + 3]! << 8), hex(b.subarray(at + 4, at + len))]);
    at += (len + 3) & ~3;
  }
  return out;
}

describe('rtnetlink requests', () => {
  it('link del by name: header (length, RTM_DELLINK, REQUEST|ACK, seq), ifinfomsg, IFLA_IFNAME', () => {
    const m = delLink(7, 'nlx0');
    expect(hex(m.subarray(0, 16))).toBe(`${'2c000000'}1100${'0500'}07000000${'00000000'}`);
    expect(m.length).toBe(44);
    expect(hex(m.subarray(16, 32))).toBe('00'.repeat(16));
    expect(attrs(m, 32)).toEqual([[3, hex(Buffer.from('nlx0\0'))]]);
  });

  it('veth with its peer in a namespace: linkinfo → kind, data → peer (ifinfomsg + its attributes)', () => {
    const m = newVeth(1, {
      name: 'nlh1',
      mac: 'ee:ee:ee:ee:ee:ee',
      mtu: 1450,
      peerName: 'eth0',
      peerMac: '0a:58:0a:01:01:0b',
      peerNetnsFd: 9,
    });
    const v = new DataView(m.buffer);
    expect(v.getUint32(0, true)).toBe(m.length);
    expect(v.getUint16(4, true)).toBe(16); // RTM_NEWLINK
    expect(v.getUint16(6, true)).toBe(0x1 | 0x4 | 0x400 | 0x200); // REQUEST ACK CREATE EXCL
    const top = attrs(m, 32);
    expect(top.slice(0, 3)).toEqual([
      [3, hex(Buffer.from('nlh1\0'))],
      [1, 'eeeeeeeeeeee'],
      [4, 'aa050000'],
    ]);
    const [linkinfoType, linkinfo] = top[3]!;
    expect(linkinfoType).toBe(18);
    const info = attrs(Buffer.from(linkinfo, 'hex'), 0);
    expect(info[0]).toEqual([1, hex(Buffer.from('veth\0'))]);
    const data = attrs(Buffer.from(info[1]![1], 'hex'), 0);
    expect(data[0]![0]).toBe(1); // VETH_INFO_PEER
    const peer = Buffer.from(data[0]![1], 'hex');
    expect(hex(peer.subarray(0, 16))).toBe('00'.repeat(16));
    expect(attrs(peer, 16)).toEqual([
      [3, hex(Buffer.from('eth0\0'))],
      [1, '0a580a01010b'],
      [4, 'aa050000'],
      [28, '09000000'],
    ]);
  });

  it('address, route and neighbour: fixed parts and attributes', () => {
    const a = addAddress(2, 5, 'fd00::c/128');
    expect(hex(a.subarray(16, 24))).toBe('0a80020005000000'); // AF_INET6, /128, NODAD, index 5
    expect(attrs(a, 24)).toEqual([
      [2, 'fd00000000000000000000000000000c'],
      [1, 'fd00000000000000000000000000000c'],
    ]);
    const r = replaceRoute(3, {
      dst: '10.5.0.0/16',
      index: 4,
      gateway: '169.254.1.1',
      onlink: true,
      table: 1005,
      protocol: 78,
    });
    expect(new DataView(r.buffer).getUint16(6, true)).toBe(0x1 | 0x4 | 0x400 | 0x100); // CREATE REPLACE
    // AF_INET, /16, table 0 (RTA_TABLE carries 1005), proto 78, scope universe, unicast, onlink
    expect(hex(r.subarray(16, 28))).toBe('02100000004e000104000000');
    expect(attrs(r, 28)).toEqual([
      [1, '0a050000'],
      [5, 'a9fe0101'],
      [4, '04000000'],
      [15, 'ed030000'],
    ]);
    const d = replaceRoute(4, {
      dst: 'default',
      index: 4,
      gateway: '169.254.1.1',
      table: 'main',
      protocol: 3,
    });
    expect(hex(d.subarray(16, 28))).toBe('02000000fe03000100000000'); // /0, main, boot, universe
    expect(attrs(d, 28).map(([t]) => t)).toEqual([5, 4, 15]); // no RTA_DST for a default route
    const n = replaceNeighbour(5, 4, '169.254.1.1', 'ee:ee:ee:ee:ee:ee');
    expect(hex(n.subarray(16, 28))).toBe('020000000400000080000000'); // AF_INET, index 4, PERMANENT
    expect(attrs(n, 28)).toEqual([
      [1, 'a9fe0101'],
      [2, 'eeeeeeeeeeee'],
    ]);
  });

  it('refuses what is not an address or a MAC', () => {
    expect(() => addAddress(1, 1, '10.1.1/24')).toThrow(/not an IP/);
    expect(() => addAddress(1, 1, '10.1.1.1/33')).toThrow(/prefix length/);
    expect(() => replaceNeighbour(1, 1, '169.254.1.1', 'ee:ee')).toThrow(/MAC/);
  });
});

describe('rtnetlink replies', () => {
  it('splits a receive into messages and reads an error, an ack and a link index', () => {
    const msg = (type: number, seq: number, body: number[]): number[] => {
      const len = 16 + body.length;
      return [
        len,
        0,
        0,
        0,
        type,
        0,
        0,
        0,
        seq,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        ...body,
        ...Array<number>((4 - (len % 4)) % 4).fill(0),
      ];
    };
    const buf = Uint8Array.from([
      ...msg(16, 9, [0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // RTM_NEWLINK, index 42
      ...msg(2, 9, [0, 0, 0, 0]), // ack
      ...msg(2, 10, [0xef, 0xff, 0xff, 0xff]), // -17: EEXIST
    ]);
    const r = replies(buf);
    expect(r.map((x) => [x.type, x.seq])).toEqual([
      [16, 9],
      [2, 9],
      [2, 10],
    ]);
    expect(linkIndexOf(r[0]!)).toBe(42);
    expect(errnoOf(r[1]!)).toBe(0);
    expect(errnoOf(r[2]!)).toBe(17);
    expect(replies(buf.subarray(0, 10))).toEqual([]); // a torn header is not a message
  });

  it('maps errnos to the conditions the descriptors act on', () => {
    expect(conditionOf(17, false)).toBe('exists');
    expect([2, 3, 19, 99].map((e) => conditionOf(e, false))).toEqual([
      'missing',
      'missing',
      'missing',
      'missing',
    ]);
    expect([4, 11, 16, 105].map((e) => conditionOf(e, false))).toEqual(['busy', 'busy', 'busy', 'busy']);
    expect([1, 22, 34, 95].map((e) => conditionOf(e, false))).toEqual([
      'invalid',
      'invalid',
      'invalid',
      'invalid',
    ]);
    expect(conditionOf(2, true)).toBe('netns');
    expect(conditionOf(123, false)).toBe('other');
  });
});
