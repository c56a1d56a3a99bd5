// Hand-derived vectors (af_packet .api.json v25.10) for the messages of the veth form of pod
// interfaces (calls/af-packet.ts): create v3, delete, dump and their replies.
import { beforeAll, describe, expect, it } from 'vitest';
import type { VppCodec } from './codec.ts';
import { v25Codec } from '../testing/definitions.ts';
import { hex } from '../testing/hex.ts';
import { bytes, expectDecodes, expectRoundTrip } from '../testing/vectors.ts';

let codec: VppCodec;
beforeAll(async () => {
  codec = await v25Codec();
});

describe('af_packet_*', () => {
  it('af_packet_create_v3: enum mode and flags as u32, fixed name, queue defaults client-side (109 bytes)', () => {
    const v = hex`
      0123 80000001 0a0b0c0d
      00000001                    # mode AF_PACKET_API_MODE_ETHERNET
      026e6c000001                # hw_addr
      00                          # use_random_hw_addr
      "nlp1" 00*60                # host_if_name[64]
      00000000 00000000           # rx_frame_size, tx_frame_size (0: VPP's defaults)
      00000000 00000000           # rx_frames_per_block, tx_frames_per_block
      00000003                    # flags QDISC_BYPASS | CKSUM_GSO
      0001 0001                   # num_rx_queues, num_tx_queues (default 1)`;
    expect(v.length).toBe(109);
    const decoded = expectRoundTrip(
      codec,
      'af_packet_create_v3',
      {
        mode: 'AF_PACKET_API_MODE_ETHERNET',
        hw_addr: bytes(2, 0x6e, 0x6c, 0, 0, 1),
        use_random_hw_addr: false,
        host_if_name: 'nlp1',
        flags: ['AF_PACKET_API_FLAG_QDISC_BYPASS', 'AF_PACKET_API_FLAG_CKSUM_GSO'],
      },
      v,
    );
    expect(decoded).toMatchObject({ mode: 1, flags: 3, num_rx_queues: 1, num_tx_queues: 1 });
  });

  it('af_packet_create_v3_reply (14 bytes): the sw_if_index, also on IF_ALREADY_EXISTS', () => {
    expectDecodes(codec, 'af_packet_create_v3_reply', hex`0124 0a0b0c0d ffffffb1 00000009`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      retval: -79,
      sw_if_index: 9,
    });
  });

  it('af_packet_delete by name (74 bytes), its reply (10 bytes)', () => {
    const v = hex`0123 80000001 0a0b0c0d "nlp1" 00*60`;
    expect(v.length).toBe(74);
    expectRoundTrip(codec, 'af_packet_delete', { host_if_name: 'nlp1' }, v);
    expectDecodes(codec, 'af_packet_delete_reply', hex`0124 0a0b0c0d fffffff5`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      retval: -11,
    });
  });

  it('af_packet_dump (10 bytes) and af_packet_details (74 bytes)', () => {
    expectRoundTrip(codec, 'af_packet_dump', {}, hex`0123 80000001 0a0b0c0d`);
    const d = hex`0124 0a0b0c0d 00000009 "nlp1" 00*60`;
    expect(d.length).toBe(74);
    expectDecodes(codec, 'af_packet_details', d, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      sw_if_index: 9,
      host_if_name: 'nlp1',
    });
  });
});
