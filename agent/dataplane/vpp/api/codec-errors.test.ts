// Bad input must fail with the codec's own typed errors, naming the field, and never with an
// unrelated exception (RangeError from a Buffer read, a huge allocation from a garbage count).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VppCodec } from './codec.ts';
import { VppDecodeError, VppDefinitionError, VppEncodeError } from './errors.ts';
import { v25Codec } from '../testing/definitions.ts';
import { hex } from '../testing/hex.ts';
import { REQ } from '../testing/vectors.ts';

let codec: VppCodec;
beforeAll(async () => {
  codec = await v25Codec();
});

/** Messages the driver decodes, with one valid encoding each. */
function samples(): [string, Buffer][] {
  const h = { msgId: 1, context: 2 };
  const ip4 = (s: string): Uint8Array => Uint8Array.from(s.split('.').map(Number));
  return [
    [
      'sockclnt_create_reply',
      codec.encode('sockclnt_create_reply', { message_table: [{ index: 1, name: 'a_00000000' }] }, h),
    ],
    ['control_ping_reply', codec.encode('control_ping_reply', {}, h)],
    ['sw_interface_details', codec.encode('sw_interface_details', { interface_name: 'tap0' }, h)],
    ['ip_route_details', codec.encode('ip_route_details', { route: { paths: [{}, {}] } }, h)],
    ['acl_details', codec.encode('acl_details', { r: [{}] }, h)],
    [
      'nat44_lb_static_mapping_details',
      codec.encode('nat44_lb_static_mapping_details', { locals: [{ addr: ip4('1.2.3.4') }] }, h),
    ],
    ['acl_interface_list_details', codec.encode('acl_interface_list_details', { acls: [1, 2] }, h)],
    ['get_api_json_reply', codec.encode('get_api_json_reply', { json: '{"x":1}' }, h)],
    ['ip_neighbor_details', codec.encode('ip_neighbor_details', { age: 2.5 }, h)],
  ];
}

describe('decoding bad input', () => {
  it('every truncation of every sample fails with VppDecodeError', () => {
    for (const [name, full] of samples()) {
      for (let n = 0; n < full.length; n++) {
        const err = catchError(() => codec.decode(name, full.subarray(0, n)));
        expect(err, `${name} cut to ${n}`).toBeInstanceOf(VppDecodeError);
        expect((err as VppDecodeError).message).toMatch(/truncated/);
      }
    }
  });

  it('ignores bytes beyond the definition, as VPP and vpp_papi do (VPP pads some messages)', () => {
    for (const [name, full] of samples()) {
      const padded = Buffer.concat([full, Buffer.from([0, 0xff, 0, 0xff, 0])]);
      expect(codec.decode(name, padded), name).toEqual(codec.decode(name, full));
    }
  });

  it('names the field and offset: a count larger than the bytes left', () => {
    const v = hex`0124 0a0b0c0d 00000007 ff 00 00000003`;
    const err = catchError(() => codec.decode('acl_interface_list_details', v)) as VppDecodeError;
    expect(err).toBeInstanceOf(VppDecodeError);
    expect(err.path).toBe('acl_interface_list_details.acls');
    expect(err.offset).toBe(12);
    expect(err.message).toMatch(/255 elements .* needs 1020 bytes, 4 left/);
  });

  it('a garbage u32 count is refused before allocating', () => {
    const v = hex`0124 0a0b0c0d 00000003 00*64 ffffffff`;
    const err = catchError(() => codec.decode('acl_details', v)) as VppDecodeError;
    expect(err).toBeInstanceOf(VppDecodeError);
    expect(err.path).toBe('acl_details.r');
  });

  it('a variable string longer than the message', () => {
    const err = catchError(() =>
      codec.decode('get_api_json_reply', hex`0124 0a0b0c0d 00000000 00001000 "[]"`),
    );
    expect(err).toBeInstanceOf(VppDecodeError);
    expect((err as VppDecodeError).path).toBe('get_api_json_reply.json');
  });

  it('nested truncation names the nested path', () => {
    const full = codec.encode('ip_route_details', { route: { paths: [{}, {}] } }, { msgId: 1 });
    const err = catchError(() =>
      codec.decode('ip_route_details', full.subarray(0, full.length - 1)),
    ) as VppDecodeError;
    expect(err.path).toBe('ip_route_details.route.paths');
  });

  it('random bytes never raise anything but VppDecodeError', () => {
    const names = samples().map(([n]) => n);
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.uint8Array({ maxLength: 400 }), (name, data) => {
        try {
          codec.decode(name, Buffer.from(data));
        } catch (err) {
          if (!(err instanceof VppDecodeError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('encoding bad values', () => {
  const cases: [string, string, Record<string, unknown>, RegExp][] = [
    [
      'u32 out of range',
      'sw_interface_set_flags',
      { sw_if_index: 2 ** 32 },
      /sw_interface_set_flags\.sw_if_index: 4294967296 is not a u32/,
    ],
    ['negative u32', 'tap_delete_v2', { sw_if_index: -1 }, /tap_delete_v2\.sw_if_index: -1 is not a u32/],
    ['non-integer', 'tap_delete_v2', { sw_if_index: 1.5 }, /1\.5 is not a u32/],
    ['u8 enum out of range', 'nat44_interface_add_del_feature', { flags: 256 }, /flags: 256 is not a u8/],
    ['unknown enum symbol', 'sw_interface_set_flags', { flags: 'UP' }, /flags: unknown symbol "UP"/],
    ['unknown field', 'tap_delete_v2', { sw_if_idx: 1 }, /tap_delete_v2\.sw_if_idx: no such field/],
    [
      'nested unknown field',
      'ip_route_add_del',
      { route: { prefx: {} } },
      /ip_route_add_del\.route\.prefx: no such field/,
    ],
    [
      'fixed string too long',
      'ip_table_add_del',
      { table: { name: 'x'.repeat(64) } },
      /table\.name: string of 64 bytes exceeds 63/,
    ],
    [
      'bytes too long',
      'nat44_add_del_address_range',
      { first_ip_address: new Uint8Array(5) },
      /5 bytes exceed u8\[4\]/,
    ],
    [
      'count mismatch',
      'acl_interface_set_acl_list',
      { count: 2, acls: [1] },
      /count: count 2 does not match the 1 elements of acls/,
    ],
    [
      'bad element in list',
      'acl_interface_set_acl_list',
      { acls: [1, 'x'] },
      /acls\.\[1\]: "x" is not a u32/,
    ],
    [
      'union member unknown',
      'sw_interface_add_del_address',
      { prefix: { address: { un: { ip5: 1 } } } },
      /un\.ip5: no such member/,
    ],
    ['bool', 'sw_interface_set_table', { is_ipv6: 'yes' }, /is_ipv6: "yes" is not a bool/],
    ['string type', 'tap_create_v3', { tag: 5 }, /tap_create_v3\.tag: 5 is not a string/],
    [
      'fixed array too long',
      'sw_interface_set_mtu',
      { mtu: [1, 2, 3, 4, 5] },
      /mtu: 5 elements exceed \[4\]/,
    ],
  ];
  for (const [what, name, fields, re] of cases) {
    it(what, () => {
      const err = catchError(() => codec.encode(name, fields as never, REQ));
      expect(err).toBeInstanceOf(VppEncodeError);
      expect((err as Error).message).toMatch(re);
    });
  }

  it('an undefined message is a definition error', () => {
    expect(() => codec.encode('no_such_message', {}, REQ)).toThrow(VppDefinitionError);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
