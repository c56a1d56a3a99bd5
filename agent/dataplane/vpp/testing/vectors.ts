// Round-trip assertions for hand-written vectors: the encoder must produce the vector byte for
// byte, and decoding the vector then encoding the result must give it back unchanged.
import { expect } from 'vitest';
import type { MessageHeader, VppCodec } from '../api/codec.ts';
import type { VppFields } from '../api/field-codecs.ts';

/** The header stamped on request vectors: id 0x0123, client_index 0x80000001, context 0x0a0b0c0d. */
export const REQ: MessageHeader = { msgId: 0x0123, clientIndex: 0x80000001, context: 0x0a0b0c0d };
/** Replies and details: id 0x0124, same context. */
export const REP: MessageHeader = { msgId: 0x0124, context: 0x0a0b0c0d };

export function expectRoundTrip(
  codec: VppCodec,
  name: string,
  fields: VppFields,
  vector: Buffer,
  header = REQ,
): VppFields {
  expect(codec.encode(name, fields, header).toString('hex')).toBe(vector.toString('hex'));
  const decoded = codec.decode(name, vector);
  expect(codec.encode(name, decoded, header).toString('hex')).toBe(vector.toString('hex'));
  return decoded;
}

/** For vectors VPP sends: decode to the expected fields, and encode back to the same bytes. */
export function expectDecodes(
  codec: VppCodec,
  name: string,
  vector: Buffer,
  expected: VppFields,
  header = REP,
): void {
  const decoded = codec.decode(name, vector);
  expect(decoded).toEqual(expected);
  expect(codec.encode(name, decoded, header).toString('hex')).toBe(vector.toString('hex'));
}

export function ip4(a: string): Uint8Array {
  return Uint8Array.from(a.split('.').map(Number));
}

export function ip4In16(a: string): Uint8Array {
  const out = new Uint8Array(16);
  out.set(ip4(a));
  return out;
}

export function bytes(...b: number[]): Uint8Array {
  return Uint8Array.from(b);
}
