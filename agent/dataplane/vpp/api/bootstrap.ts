// The few memclnt messages a client needs before it has any definitions: the handshake
// (fixed ids 15/16), close, ping, and get_api_json to fetch the rest from the running VPP.
// Layouts and CRCs as in memclnt.api.json; unchanged from VPP 23.10 to 26.10.
import type { ApiJsonModule } from './definitions.ts';

export const SOCKCLNT_CREATE_ID = 15;
export const SOCKCLNT_CREATE_REPLY_ID = 16;

const REQ = [
  ['u16', '_vl_msg_id'],
  ['u32', 'client_index'],
  ['u32', 'context'],
];
const REP = [
  ['u16', '_vl_msg_id'],
  ['u32', 'context'],
  ['i32', 'retval'],
];

export const BOOTSTRAP_MODULE: ApiJsonModule = {
  types: [['message_table_entry', ['u16', 'index'], ['string', 'name', 64]]],
  messages: [
    [
      'sockclnt_create',
      ['u16', '_vl_msg_id'],
      ['u32', 'context'],
      ['string', 'name', 64],
      { crc: '0x455fb9c4' },
    ],
    [
      'sockclnt_create_reply',
      ['u16', '_vl_msg_id'],
      ['u32', 'client_index'],
      ['u32', 'context'],
      ['i32', 'response'],
      ['u32', 'index'],
      ['u16', 'count'],
      ['vl_api_message_table_entry_t', 'message_table', 0, 'count'],
      { crc: '0x35166268' },
    ],
    ['sockclnt_delete', ...REQ, ['u32', 'index'], { crc: '0x8ac76db6' }],
    [
      'sockclnt_delete_reply',
      ['u16', '_vl_msg_id'],
      ['u32', 'context'],
      ['i32', 'response'],
      { crc: '0x8f38b1ee' },
    ],
    ['control_ping', ...REQ, { crc: '0x51077d14' }],
    ['control_ping_reply', ...REP, ['u32', 'client_index'], ['u32', 'vpe_pid'], { crc: '0xf6b0b8ca' }],
    ['get_api_json', ...REQ, { crc: '0x51077d14' }],
    ['get_api_json_reply', ...REP, ['string', 'json', 0], { crc: '0xea715b59' }],
  ],
  services: {
    sockclnt_create: { reply: 'sockclnt_create_reply' },
    sockclnt_delete: { reply: 'sockclnt_delete_reply' },
    control_ping: { reply: 'control_ping_reply' },
    get_api_json: { reply: 'get_api_json_reply' },
  },
};
