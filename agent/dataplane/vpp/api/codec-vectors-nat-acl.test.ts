// Hand-derived vectors (nat44_ed, nat_types, acl, acl_types .api.json v25.10): service load
// balancing and policy messages, with their variable arrays of nested types.
import { beforeAll, describe, expect, it } from 'vitest';
import type { VppCodec } from './codec.ts';
import { v25Codec } from '../testing/definitions.ts';
import { hex } from '../testing/hex.ts';
import { expectDecodes, expectRoundTrip, ip4 } from '../testing/vectors.ts';

let codec: VppCodec;
beforeAll(async () => {
  codec = await v25Codec();
});

describe('NAT44-ED', () => {
  it('nat44_ed_plugin_enable_disable (28 bytes)', () => {
    const v = hex`0123 80000001 0a0b0c0d  00000000 00000000 00010000 00000000  01 00`;
    expect(v.length).toBe(28);
    expectRoundTrip(codec, 'nat44_ed_plugin_enable_disable', { sessions: 65536, enable: true }, v);
  });

  it('nat44_interface_add_del_feature: flags u8 INSIDE=32 (16 bytes); dump (10) and details (11)', () => {
    expectRoundTrip(
      codec,
      'nat44_interface_add_del_feature',
      { is_add: true, flags: 'NAT_IS_INSIDE', sw_if_index: 7 },
      hex`0123 80000001 0a0b0c0d 01 20 00000007`,
    );
    expectRoundTrip(codec, 'nat44_interface_dump', {}, hex`0123 80000001 0a0b0c0d`);
    expectDecodes(codec, 'nat44_interface_details', hex`0124 0a0b0c0d 10 00000001`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      flags: 16,
      sw_if_index: 1,
    });
  });

  it('nat44_add_del_address_range (24 bytes)', () => {
    const v = hex`0123 80000001 0a0b0c0d c0a81003 c0a81003 00000000 01 00`;
    expectRoundTrip(
      codec,
      'nat44_add_del_address_range',
      { first_ip_address: ip4('192.168.16.3'), last_ip_address: ip4('192.168.16.3'), is_add: true },
      v,
    );
  });

  const LOCALS = hex`
    0a010305 1f90 32 00000000     # addr 10.1.3.5, port 8080, probability 50, vrf_id 0
    0a010406 1f90 32 00000000     # addr 10.1.4.6`;

  it('nat44_add_del_lb_static_mapping: 91 bytes + 11 per local, local_num from the list', () => {
    const v = hex`
      0123 80000001 0a0b0c0d
      01 40                       # is_add, flags 0x40 = NAT_IS_STATIC
      0a600001 0050 06            # external 10.96.0.1:80 TCP
      00000000                    # affinity
      "default/web:http" 00*48    # tag[64]
      00000002                    # local_num
      ${LOCALS.toString('hex')}`;
    expect(v.length).toBe(91 + 2 * 11);
    expectRoundTrip(
      codec,
      'nat44_add_del_lb_static_mapping',
      {
        is_add: true,
        flags: 0x40,
        external_addr: ip4('10.96.0.1'),
        external_port: 80,
        protocol: 6,
        tag: 'default/web:http',
        locals: [
          { addr: ip4('10.1.3.5'), port: 8080, probability: 50 },
          { addr: ip4('10.1.4.6'), port: 8080, probability: 50 },
        ],
      },
      v,
    );
  });

  it('nat44_lb_static_mapping_details (86 + 11 per local)', () => {
    expectRoundTrip(codec, 'nat44_lb_static_mapping_dump', {}, hex`0123 80000001 0a0b0c0d`);
    const v = hex`0124 0a0b0c0d  0a600001 0050 06 40 00000000 "default/web:http" 00*48 00000002 ${LOCALS.toString('hex')}`;
    expect(v.length).toBe(86 + 22);
    expectDecodes(codec, 'nat44_lb_static_mapping_details', v, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      external_addr: ip4('10.96.0.1'),
      external_port: 80,
      protocol: 6,
      flags: 0x40,
      affinity: 0,
      tag: 'default/web:http',
      local_num: 2,
      locals: [
        { addr: ip4('10.1.3.5'), port: 8080, probability: 50, vrf_id: 0 },
        { addr: ip4('10.1.4.6'), port: 8080, probability: 50, vrf_id: 0 },
      ],
    });
  });
});

describe('ACL', () => {
  /** acl_rule (48 bytes): permit TCP from 10.1.3.0/24 to 10.1.4.6/32 port 8080. */
  const RULE = hex`
    01                              # is_permit (u8 enum) PERMIT
    00 0a010300 00*12 18            # src_prefix 10.1.3.0/24
    00 0a010406 00*12 20            # dst_prefix 10.1.4.6/32
    06                              # proto TCP (u8 enum)
    0000 ffff                       # srcport first..last
    1f90 1f90                       # dstport first..last
    00 00                           # tcp_flags_mask, tcp_flags_value`;
  const RULE_FIELDS = {
    is_permit: 'ACL_ACTION_API_PERMIT',
    src_prefix: { address: { af: 0, un: { ip4: ip4('10.1.3.0') } }, len: 24 },
    dst_prefix: { address: { af: 0, un: { ip4: ip4('10.1.4.6') } }, len: 32 },
    proto: 'IP_API_PROTO_TCP',
    srcport_or_icmptype_last: 65535,
    dstport_or_icmpcode_first: 8080,
    dstport_or_icmpcode_last: 8080,
  };

  it('acl_rule is 48 bytes', () => {
    expect(RULE.length).toBe(48);
  });

  it('acl_add_replace: 82 bytes + 48 per rule; acl_index ~0 creates', () => {
    const v = hex`0123 80000001 0a0b0c0d ffffffff "netloom/pod/default/web-1" 00*39 00000002 ${RULE.toString('hex')} ${RULE.toString('hex')}`;
    expect(v.length).toBe(82 + 96);
    expectRoundTrip(
      codec,
      'acl_add_replace',
      { acl_index: 0xffffffff, tag: 'netloom/pod/default/web-1', r: [RULE_FIELDS, RULE_FIELDS] },
      v,
    );
  });

  it('acl_add_replace_reply: acl_index before retval (14 bytes)', () => {
    expectDecodes(codec, 'acl_add_replace_reply', hex`0124 0a0b0c0d 00000003 00000000`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      acl_index: 3,
      retval: 0,
    });
  });

  it('acl_del, acl_dump (14 bytes each) and acl_details (80 + 48 per rule)', () => {
    expectRoundTrip(codec, 'acl_del', { acl_index: 3 }, hex`0123 80000001 0a0b0c0d 00000003`);
    expectRoundTrip(codec, 'acl_dump', { acl_index: 0xffffffff }, hex`0123 80000001 0a0b0c0d ffffffff`);
    const v = hex`0124 0a0b0c0d 00000003 "t" 00*63 00000001 ${RULE.toString('hex')}`;
    expect(v.length).toBe(78 + 48);
    const d = codec.decode('acl_details', v);
    expect(d).toMatchObject({
      acl_index: 3,
      tag: 't',
      count: 1,
      r: [{ is_permit: 1, proto: 6, dstport_or_icmpcode_first: 8080 }],
    });
    expect(codec.encode('acl_details', d, { msgId: 0x124, context: 0x0a0b0c0d })).toEqual(v);
  });

  it('acl_interface_set_acl_list: u8 count, u8 n_input, u32 acls[count] (16 + 4 per ACL)', () => {
    const v = hex`0123 80000001 0a0b0c0d 00000007 03 01 00000003 00000004 00000005`;
    expectRoundTrip(codec, 'acl_interface_set_acl_list', { sw_if_index: 7, n_input: 1, acls: [3, 4, 5] }, v);
  });

  it('acl_interface_list_dump (default ~0) and acl_interface_list_details', () => {
    expectRoundTrip(codec, 'acl_interface_list_dump', {}, hex`0123 80000001 0a0b0c0d ffffffff`);
    expectDecodes(codec, 'acl_interface_list_details', hex`0124 0a0b0c0d 00000007 02 01 00000003 00000004`, {
      _vl_msg_id: 0x124,
      context: 0x0a0b0c0d,
      sw_if_index: 7,
      count: 2,
      n_input: 1,
      acls: [3, 4],
    });
  });
});
