// Hand-derived vectors (from memclnt/vpe/interface .api.json v25.10) for the session messages:
// handshake, close, ping, version, definitions fetch, interface events, a plain reply.
import { beforeAll, describe, expect, it } from 'vitest';
import type { VppCodec } from './codec.ts';
import { v25Codec } from '../testing/definitions.ts';
import { hex } from '../testing/hex.ts';
import { expectDecodes, expectRoundTrip, REP, REQ } from '../testing/vectors.ts';

let codec: VppCodec;
beforeAll(async () => {
  codec = await v25Codec();
});

describe('session messages (memclnt)', () => {
  it('sockclnt_create: id, context, name[64]; no client_index (70 bytes)', () => {
    const v = hex`
      000f                 # _vl_msg_id 15 (fixed)
      0a0b0c0d             # context
      "netloom" 00*57      # string name[64]`;
    expect(v.length).toBe(70);
    expectRoundTrip(codec, 'sockclnt_create', { name: 'netloom' }, v, { msgId: 15, context: 0x0a0b0c0d });
  });

  it('sockclnt_create_reply: client_index before context, then the message table (20 + 66 per entry)', () => {
    const v = hex`
      0010                 # _vl_msg_id 16 (fixed)
      00000000             # client_index (unused)
      0a0b0c0d             # context
      00000000             # i32 response
      80000005             # u32 index: our client_index from now on
      0002                 # u16 count
      000f "sockclnt_create_455fb9c4" 00*40
      0010 "sockclnt_create_reply_35166268" 00*34`;
    expect(v.length).toBe(20 + 2 * 66);
    expectDecodes(
      codec,
      'sockclnt_create_reply',
      v,
      {
        _vl_msg_id: 16,
        client_index: 0,
        context: 0x0a0b0c0d,
        response: 0,
        index: 0x80000005,
        count: 2,
        message_table: [
          { index: 15, name: 'sockclnt_create_455fb9c4' },
          { index: 16, name: 'sockclnt_create_reply_35166268' },
        ],
      },
      { msgId: 16, context: 0x0a0b0c0d },
    );
  });

  it('sockclnt_delete and its reply (response 1 = success)', () => {
    expectRoundTrip(codec, 'sockclnt_delete', { index: 0x80000005 }, hex`0123 80000001 0a0b0c0d 80000005`);
    expectDecodes(codec, 'sockclnt_delete_reply', hex`0124 0a0b0c0d 00000001`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      response: 1,
    });
  });

  it('control_ping (10 bytes) and control_ping_reply (18 bytes: retval, client_index, vpe_pid)', () => {
    expectRoundTrip(codec, 'control_ping', {}, hex`0123 80000001 0a0b0c0d`);
    expectDecodes(codec, 'control_ping_reply', hex`0124 0a0b0c0d 00000000 80000001 00001f90`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      retval: 0,
      client_index: 0x80000001,
      vpe_pid: 8080,
    });
  });

  it('show_version_reply: four fixed strings after retval (362 bytes)', () => {
    const v = hex`
      0124 0a0b0c0d 00000000
      "vpe" 00*29                     # program[32]
      "25.10-release" 00*19           # version[32]
      "2025-10-29T12:00:00" 00*13     # build_date[32]
      "/w/workspace" 00*244           # build_directory[256]`;
    expect(v.length).toBe(362);
    expectDecodes(codec, 'show_version_reply', v, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      retval: 0,
      program: 'vpe',
      version: '25.10-release',
      build_date: '2025-10-29T12:00:00',
      build_directory: '/w/workspace',
    });
  });

  it('get_api_json_reply: variable string (u32 BE length, no NUL)', () => {
    const v = hex`0124 0a0b0c0d 00000000 00000002 "[]"`;
    expectDecodes(codec, 'get_api_json_reply', v, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      retval: 0,
      json: '[]',
    });
  });

  it('every plain reply the driver reads is context + i32 retval (10 bytes)', () => {
    const plain = [
      'want_interface_events_reply',
      'sw_interface_set_flags_reply',
      'sw_interface_add_del_address_reply',
      'sw_interface_set_table_reply',
      'sw_interface_set_mtu_reply',
      'sw_interface_set_unnumbered_reply',
      'sw_interface_tag_add_del_reply',
      'delete_loopback_reply',
      'tap_delete_v2_reply',
      'ip_table_add_del_reply',
      'proxy_arp_add_del_reply',
      'proxy_arp_intfc_enable_disable_reply',
      'nat44_ed_plugin_enable_disable_reply',
      'nat44_interface_add_del_feature_reply',
      'nat44_add_del_address_range_reply',
      'nat44_add_del_lb_static_mapping_reply',
      'nat44_add_del_static_mapping_v2_reply',
      'acl_del_reply',
      'acl_interface_set_acl_list_reply',
    ];
    for (const name of plain) {
      expect(codec.message(name).def.crc, name).toBe('e8d4e804');
      expectDecodes(codec, name, hex`0124 0a0b0c0d fffffffa`, {
        _vl_msg_id: 0x124,
        context: 0x0a0b0c0d,
        retval: -6,
      });
    }
  });

  it('get_api_json and the other empty requests are the 10-byte header', () => {
    for (const name of ['get_api_json', 'nat44_static_mapping_dump', 'proxy_arp_dump', 'ip_table_dump']) {
      expectRoundTrip(codec, name, {}, hex`0123 80000001 0a0b0c0d`);
    }
  });

  it('a plain reply: context + i32 retval, negative retval two-complement', () => {
    expectDecodes(codec, 'sw_interface_set_flags_reply', hex`0124 0a0b0c0d fffffffe`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      retval: -2,
    });
  });
});

describe('interface events', () => {
  it('want_interface_events (18 bytes) and its reply', () => {
    expectRoundTrip(
      codec,
      'want_interface_events',
      { enable_disable: 1, pid: 4242 },
      hex`0123 80000001 0a0b0c0d 00000001 00001092`,
    );
    expectDecodes(
      codec,
      'want_interface_events_reply',
      hex`0124 0a0b0c0d 00000000`,
      { _vl_msg_id: 0x124, context: 0x0a0b0c0d, retval: 0 },
      REP,
    );
  });

  it('sw_interface_event: no context; client_index, pid, sw_if_index, flags u32, deleted (19 bytes)', () => {
    const v = hex`
      0125                 # _vl_msg_id
      80000001             # client_index
      00001092             # pid
      00000007             # sw_if_index
      00000003             # if_status_flags: ADMIN_UP | LINK_UP (enumtype u32)
      00                   # bool deleted`;
    expect(v.length).toBe(19);
    expectDecodes(
      codec,
      'sw_interface_event',
      v,
      { _vl_msg_id: 0x125, client_index: 0x80000001, pid: 4242, sw_if_index: 7, flags: 3, deleted: false },
      { msgId: 0x125, clientIndex: 0x80000001 },
    );
    expect(codec.message('sw_interface_event').hasContext).toBe(false);
  });

  it('stamps the header over whatever the caller passed', () => {
    const bytes = codec.encode('control_ping', { _vl_msg_id: 9, client_index: 9, context: 9 }, REQ);
    expect(bytes.toString('hex')).toBe('0123800000010a0b0c0d');
  });
});
