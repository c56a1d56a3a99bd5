// The codec's rules on a synthetic module (shapes the driver's messages do not all use), the
// definition loaders, and a compile of every message of VPP v25.10.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VppCodec } from './codec.ts';
import {
  ApiDefinitions,
  definitionsFromApiJsonReply,
  loadApiDirectory,
  type ApiJsonModule,
} from './definitions.ts';
import { VppDefinitionError, VppEncodeError } from './errors.ts';
import { loadV25Definitions } from '../testing/definitions.ts';
import { hex } from '../testing/hex.ts';

const MODULE: ApiJsonModule = {
  enums: [
    ['color', ['RED', 1], ['BLUE', 2]], // no enumtype: u32
    ['small', ['A', -1], ['B', 1], { enumtype: 'i16' }],
  ],
  enumflags: [['perm', ['R', 1], ['W', 2], ['X', 4], { enumtype: 'u8' }]],
  aliases: { port_list: { type: 'u16', length: 3 }, id: { type: 'u32' } },
  unions: [['u', ['u8', 'b'], ['u32', 'w'], ['u8', 'raw', 6]]],
  types: [['inner', ['u8', 'n'], ['u16', 'items', 0, 'n']]],
  messages: [
    [
      'kitchen',
      ['u16', '_vl_msg_id'],
      ['u32', 'client_index'],
      ['u32', 'context'],
      ['i8', 'a'],
      ['i16', 'b'],
      ['u64', 'c'],
      ['i64', 'd'],
      ['vl_api_color_t', 'color'],
      ['vl_api_small_t', 's'],
      ['vl_api_perm_t', 'perm', { default: 5 }],
      ['vl_api_port_list_t', 'ports'],
      ['vl_api_id_t', 'id', { default: 7 }],
      ['vl_api_u_t', 'un'],
      ['bool', 'flag', { default: 'true' }],
      ['vl_api_inner_t', 'inner'],
      { crc: '0x0000abcd' },
    ],
    ['legacy', ['u16', '_vl_msg_id'], ['u32', 'context'], ['u16', 'rest', 0], { crc: '0x1' }],
    ['limited', ['u16', '_vl_msg_id'], ['string', 's', 0, { limit: 4 }], { crc: '0x2' }],
  ],
};

const codec = new VppCodec(new ApiDefinitions().addModule('kitchen.api.json', MODULE));

describe('codec rules', () => {
  it('encodes every integer width, enums at their enumtype size, flags, aliases and a nested count', () => {
    const v = codec.encode(
      'kitchen',
      {
        a: -2,
        b: -300,
        c: 2n ** 63n,
        d: -5,
        color: 'BLUE',
        s: 'A',
        perm: ['R', 'X'],
        ports: [80, 443],
        un: { w: 0x01020304 },
        inner: { items: [9, 10] },
      },
      { msgId: 1, clientIndex: 2, context: 3 },
    );
    expect(v.toString('hex')).toBe(
      hex`0001 00000002 00000003
          fe fed4                       # i8 -2, i16 -300
          8000000000000000 fffffffffffffffb   # u64 2^63, i64 -5
          00000002 ffff 05              # color u32, small i16 A=-1, perm u8 R|X
          0050 01bb 0000                # ports u16[3], short list zero-padded
          00000007                      # id: alias of u32, default 7
          01020304 0000                 # union: largest given member (w), padded to 6
          01                            # flag: default "true"
          02 0009 000a                  # inner: n from the list, then items`.toString('hex'),
    );
    const d = codec.decode('kitchen', v);
    expect(d).toMatchObject({
      a: -2,
      b: -300,
      c: 2n ** 63n,
      d: -5n,
      color: 2,
      s: -1,
      perm: 5,
      ports: [80, 443, 0],
      id: 7,
      flag: true,
    });
    expect(d['un']).toEqual({ b: 1, w: 0x01020304, raw: Uint8Array.from([1, 2, 3, 4, 0, 0]) });
    // Re-encoding a decoded union takes its largest member: nothing is lost.
    expect(codec.encode('kitchen', d, { msgId: 1, clientIndex: 2, context: 3 })).toEqual(v);
  });

  it('a legacy variable array without count runs to the end of the message', () => {
    const v = hex`0001 00000003 0001 0002 0003`;
    expect(codec.decode('legacy', v)['rest']).toEqual([1, 2, 3]);
    expect(codec.encode('legacy', { rest: [1, 2, 3] }, { msgId: 1, context: 3 })).toEqual(v);
    expect(() => codec.decode('legacy', hex`0001 00000003 0001 00`)).toThrow(/not a whole number/);
  });

  it('a variable string honours its limit option', () => {
    expect(codec.encode('limited', { s: 'abc' }, { msgId: 1 }).toString('hex')).toBe('000100000003616263');
    expect(() => codec.encode('limited', { s: 'abcd' }, { msgId: 1 })).toThrow(VppEncodeError);
  });

  it('u64 accepts safe integers and bigints, refuses the rest', () => {
    expect(codec.encode('kitchen', { c: 5 }, { msgId: 1 }).readBigUInt64BE(13)).toBe(5n);
    expect(() => codec.encode('kitchen', { c: 2 ** 60 }, { msgId: 1 })).toThrow(/is not a u64/);
    expect(() => codec.encode('kitchen', { c: -1n }, { msgId: 1 })).toThrow(/out of range for u64/);
  });
});

describe('definitions', () => {
  it('refuses a message redefined with another CRC, accepts an identical copy', () => {
    const defs = new ApiDefinitions().addModule('a', {
      messages: [['m', ['u16', '_vl_msg_id'], { crc: '0x1' }]],
    });
    defs.addModule('b', { messages: [['m', ['u16', '_vl_msg_id'], { crc: '0x1' }]] });
    expect(() => defs.addModule('c', { messages: [['m', ['u16', '_vl_msg_id'], { crc: '0x2' }]] })).toThrow(
      VppDefinitionError,
    );
  });

  it('reports unknown types when the message is first used', () => {
    const c = new VppCodec(
      new ApiDefinitions().addModule('a', {
        messages: [['m', ['u16', '_vl_msg_id'], ['vl_api_nope_t', 'x'], { crc: '0x1' }]],
      }),
    );
    expect(() => c.message('m')).toThrow(/unknown type nope/);
  });

  it('loads core/ and plugins/ recursively, and the get_api_json reply format', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nl-vppapi-'));
    try {
      await mkdir(join(dir, 'core'));
      await mkdir(join(dir, 'plugins'));
      await writeFile(join(dir, 'core', 'k.api.json'), JSON.stringify(MODULE));
      await writeFile(
        join(dir, 'plugins', 'p.api.json'),
        JSON.stringify({ messages: [['p', ['u16', '_vl_msg_id'], { crc: '0xdeadbeef' }]] }),
      );
      const defs = await loadApiDirectory(dir);
      expect(defs.message('kitchen').nameCrc).toBe('kitchen_0000abcd');
      expect(defs.message('p').module).toBe('plugins/p.api.json');
      await expect(loadApiDirectory(join(dir, 'core', 'missing'))).rejects.toThrow(VppDefinitionError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const fromReply = definitionsFromApiJsonReply(JSON.stringify([MODULE]));
    expect(fromReply.message('legacy').nameCrc).toBe('legacy_00000001');
    expect(() => definitionsFromApiJsonReply('{')).toThrow(VppDefinitionError);
  });

  it('compiles every message of VPP v25.10 and knows the services', async () => {
    const defs = await loadV25Definitions();
    const all = new VppCodec(defs);
    for (const name of defs.messages.keys()) all.message(name);
    expect(defs.messages.size).toBeGreaterThan(1900);
    expect(defs.services.get('sw_interface_dump')).toMatchObject({
      kind: 'dump',
      details: 'sw_interface_details',
    });
    expect(defs.services.get('want_interface_events')).toMatchObject({
      kind: 'request',
      reply: 'want_interface_events_reply',
      events: ['sw_interface_event'],
    });
    expect(defs.message('vxlan_add_del_tunnel_v3').nameCrc).toBe('vxlan_add_del_tunnel_v3_0072b037');
  });
});
