// The HPACK decoder against RFC 7541 Appendix C (every example, with and without Huffman, each
// sequence through one decoder so the dynamic table carries over as the RFC's does), plus the
// Huffman code's shape and the errors the RFC requires. The real-server side (nghttp2 choosing
// its own encodings) is in client.test.ts.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeHeaders, HpackDecoder, HpackError, huffmanDecode, type HeaderField } from './hpack.ts';
import { HUFFMAN_CODE_LENGTHS } from './huffman-lengths.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

interface Step {
  block: string;
  fields: HeaderField[];
  table: HeaderField[];
  size: number;
}

function runSequence(steps: Step[], limit?: number): void {
  const decoder = new HpackDecoder(limit);
  for (const step of steps) {
    expect(decoder.decode(hex(step.block))).toEqual(step.fields);
    expect(decoder.table().entries).toEqual(step.table);
    expect(decoder.table().size).toBe(step.size);
  }
}

const authority: HeaderField = [':authority', 'www.example.com'];
const requests = (blocks: [string, string, string]): Step[] => [
  {
    block: blocks[0],
    fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], authority],
    table: [authority],
    size: 57,
  },
  {
    block: blocks[1],
    fields: [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      authority,
      ['cache-control', 'no-cache'],
    ],
    table: [['cache-control', 'no-cache'], authority],
    size: 110,
  },
  {
    block: blocks[2],
    fields: [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      authority,
      ['custom-key', 'custom-value'],
    ],
    table: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], authority],
    size: 164,
  },
];

const date1: HeaderField = ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'];
const date2: HeaderField = ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'];
const location: HeaderField = ['location', 'https://www.example.com'];
const priv: HeaderField = ['cache-control', 'private'];
const cookie: HeaderField = ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'];
const responses = (blocks: [string, string, string]): Step[] => [
  {
    block: blocks[0],
    fields: [[':status', '302'], priv, date1, location],
    table: [location, date1, priv, [':status', '302']],
    size: 222,
  },
  {
    block: blocks[1],
    fields: [[':status', '307'], priv, date1, location],
    table: [[':status', '307'], location, date1, priv],
    size: 222,
  },
  {
    block: blocks[2],
    fields: [[':status', '200'], priv, date2, location, ['content-encoding', 'gzip'], cookie],
    table: [cookie, ['content-encoding', 'gzip'], date2],
    size: 215,
  },
];

describe('HPACK decoder, RFC 7541 Appendix C', () => {
  it('C.2: single representations', () => {
    const cases: [string, HeaderField, HeaderField[], number][] = [
      [
        '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
        ['custom-key', 'custom-header'],
        [['custom-key', 'custom-header']],
        55,
      ],
      ['040c 2f73 616d 706c 652f 7061 7468', [':path', '/sample/path'], [], 0],
      ['1008 7061 7373 776f 7264 0673 6563 7265 74', ['password', 'secret'], [], 0],
      ['82', [':method', 'GET'], [], 0],
    ];
    for (const [block, field, table, size] of cases) runSequence([{ block, fields: [field], table, size }]);
  });

  it('C.3: requests without Huffman coding', () => {
    runSequence(
      requests([
        '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        '8286 84be 5808 6e6f 2d63 6163 6865',
        '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
      ]),
    );
  });

  it('C.4: requests with Huffman coding', () => {
    runSequence(
      requests([
        '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
        '8286 84be 5886 a8eb 1064 9cbf',
        '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
      ]),
    );
  });

  it('C.5: responses without Huffman coding, table of 256 bytes (eviction)', () => {
    runSequence(
      responses([
        `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a
         3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
        '4803 3330 37c1 c0bf',
        `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04
         677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49
         553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
      ]),
      256,
    );
  });

  it('C.6: responses with Huffman coding, table of 256 bytes (eviction)', () => {
    runSequence(
      responses([
        `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e
         919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
        '4883 640e ffc1 c0bf',
        `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7
         821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed
         4ee5 b106 3d50 07`,
      ]),
      256,
    );
  });
});

describe('HPACK decoder, the rest of the RFC', () => {
  it('the Huffman code lengths form a complete prefix code with EOS = 30 ones', () => {
    expect(HUFFMAN_CODE_LENGTHS).toHaveLength(257);
    // Kraft's sum is exactly 1: every bit string decodes (RFC 7541 Appendix B is complete).
    const sum = HUFFMAN_CODE_LENGTHS.reduce((acc, len) => acc + 2 ** (30 - len), 0);
    expect(sum).toBe(2 ** 30);
    expect(HUFFMAN_CODE_LENGTHS[256]).toBe(30);
    // EOS as a string: 30 one-bits (padded to 32) must be refused, not decoded.
    expect(() => huffmanDecode(hex('ffffffff'))).toThrow(HpackError);
  });

  it('refuses bad Huffman padding: more than 7 bits, or bits that are not all ones', () => {
    expect(huffmanDecode(hex('1f'))).toBe('a'); // 'a' = 00011, padded with 111
    expect(() => huffmanDecode(hex('18'))).toThrow(HpackError); // padded with 000
    expect(() => huffmanDecode(hex('1fff'))).toThrow(HpackError); // 11 bits of padding
  });

  it('a size update evicts, must come first in a block, and may not exceed the announced size', () => {
    const d = new HpackDecoder();
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    expect(d.table().size).toBe(55);
    expect(d.decode(hex('20'))).toEqual([]); // size 0: table emptied
    expect(d.table()).toEqual({ entries: [], size: 0, maxSize: 0 });
    expect(d.decode(hex('3fe11f 82'))).toEqual([[':method', 'GET']]); // back to 4096
    expect(d.table().maxSize).toBe(4096);
    expect(() => d.decode(hex('82 20'))).toThrow(/after a header field/);
    expect(() => new HpackDecoder().decode(hex('3fe21f'))).toThrow(/above the announced/); // 4097
  });

  it('an entry larger than the table empties it and is not added', () => {
    const d = new HpackDecoder(64);
    d.decode(hex('4001 61 01 62')); // a: b, 34 bytes
    expect(d.table().size).toBe(34);
    const long = Buffer.from('x'.repeat(40)).toString('hex');
    expect(d.decode(hex(`4001 61 28 ${long}`))).toEqual([['a', 'x'.repeat(40)]]);
    expect(d.table()).toEqual({ entries: [], size: 0, maxSize: 64 });
  });

  it('fails with HpackError, never anything else, on truncated or arbitrary input', () => {
    expect(() => new HpackDecoder().decode(hex('80'))).toThrow(/index 0/);
    expect(() => new HpackDecoder().decode(hex('be'))).toThrow(/beyond/); // 62, empty dynamic table
    expect(() => new HpackDecoder().decode(hex('ff'))).toThrow(/ends inside an integer/);
    expect(() => new HpackDecoder().decode(hex('ffffffffff0f'))).toThrow(/too large/);
    expect(() => new HpackDecoder().decode(hex('0003 6162'))).toThrow(/runs past/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          new HpackDecoder().decode(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(HpackError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('what the request encoder writes decodes to the same list, with nothing indexed', () => {
    const text = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)) });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(':path', 'content-type', 'te', 'x-a'), text)), (list) => {
        const d = new HpackDecoder();
        expect(d.decode(encodeHeaders(list))).toEqual(list);
        expect(d.table().size).toBe(0);
      }),
    );
    // The static table's whole fields are indexed; long values take multi-byte lengths.
    expect(encodeHeaders([[':method', 'POST']])).toEqual(hex('83'));
    expect(encodeHeaders([[':path', 'a'.repeat(200)]]).subarray(0, 3)).toEqual(hex('04 7f 49'));
  });
});
