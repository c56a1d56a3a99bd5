// The shim's wire codec against protobufjs (the codec behind the agent's grpc-js side): what one
// encodes the other decodes to the same message. (Bytes differ in one legal way: protobufjs
// writes empty strings that are set, the shim omits them as canonical proto3 encoders do.)
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { cniDescriptors, cniProtoText } from './proto.ts';
import { decodeMessage, encodeMessage, WireError } from './wire.ts';

const types = cniDescriptors();
const root = protobuf.parse(cniProtoText(), { keepCase: false }).root;
const ref = (name: string) => root.lookupType(`netloom.cni.v1.${name}`);

const str = fc.string({ maxLength: 30, unit: 'binary' });
const u32 = fc.nat({ max: 0xffffffff });
const request = fc.record({
  containerId: str,
  netns: str,
  ifname: str,
  cniArgs: str,
  podNamespace: str,
  podName: str,
  podUid: str,
  infraContainerId: str,
  cniVersion: str,
  networkConfig: str,
});
const reply = fc.record({
  result: fc.option(
    fc.record({
      interfaces: fc.array(fc.record({ name: str, mac: str, mtu: u32, sandbox: str }), { maxLength: 3 }),
      ips: fc.array(fc.record({ address: str, gateway: str, interface: fc.integer({ min: -1, max: 5 }) }), {
        maxLength: 3,
      }),
      routes: fc.array(fc.record({ dst: str, gw: str, mtu: u32, priority: u32, table: u32, scope: str }), {
        maxLength: 3,
      }),
      dns: fc.option(
        fc.record({
          nameservers: fc.array(str, { maxLength: 2 }),
          domain: str,
          search: fc.array(str, { maxLength: 2 }),
          options: fc.array(str, { maxLength: 2 }),
        }),
        { nil: null },
      ),
    }),
    { nil: null },
  ),
  error: fc.option(fc.record({ code: u32, msg: str, details: str }), { nil: null }),
});

describe('wire codec', () => {
  const viaProtobufjs = (name: string, bytes: Buffer): unknown =>
    JSON.parse(JSON.stringify(ref(name).toObject(ref(name).decode(bytes), { defaults: true, arrays: true })));

  it('encodes requests that protobufjs decodes to the same message', () => {
    fc.assert(
      fc.property(request, (msg) => {
        expect(viaProtobufjs('CniRequest', encodeMessage(types, 'CniRequest', msg))).toEqual(msg);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes canonically: defaults omitted, fields in order', () => {
    expect(encodeMessage(types, 'CniRequest', { containerId: 'ab', netns: '', ifname: 'e' })).toEqual(
      Buffer.from([0x0a, 2, 0x61, 0x62, 0x1a, 1, 0x65]),
    );
    expect(encodeMessage(types, 'IpConfig', { interface: -1 })).toEqual(
      Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    );
  });

  it('encodes GC requests with their repeated attachments', () => {
    const msg = {
      cniVersion: '1.1.0',
      networkConfig: '{}',
      validAttachments: [
        { containerId: 'a', ifname: 'eth0' },
        { containerId: 'b', ifname: 'net1' },
      ],
    };
    expect(viaProtobufjs('GcRequest', encodeMessage(types, 'GcRequest', msg))).toEqual(msg);
  });

  it('decodes replies as protobufjs encodes them, defaults filled in', () => {
    fc.assert(
      fc.property(reply, (msg) => {
        const bytes = Buffer.from(ref('CniReply').encode(ref('CniReply').fromObject(msg)).finish());
        const decoded = decodeMessage(types, 'CniReply', bytes);
        expect(decoded).toEqual(viaProtobufjs('CniReply', bytes));
        expect(viaProtobufjs('CniReply', encodeMessage(types, 'CniReply', decoded))).toEqual(decoded);
      }),
      { numRuns: 500 },
    );
  });

  it('skips unknown fields and rejects truncated input with a WireError', () => {
    const withUnknown = Buffer.concat([
      Buffer.from([0x78, 0x05]),
      encodeMessage(types, 'CniError', { code: 7, msg: 'x' }),
    ]); // field 15 varint
    expect(decodeMessage(types, 'CniError', withUnknown)).toEqual({ code: 7, msg: 'x', details: '' });
    const full = encodeMessage(types, 'CniError', { code: 7, msg: 'bad config' });
    for (let cut = 1; cut < full.length; cut++) {
      try {
        decodeMessage(types, 'CniError', full.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(WireError);
      }
    }
    expect(() => decodeMessage(types, 'CniError', full.subarray(0, full.length - 1))).toThrow(WireError);
  });
});
