// Framing: reassembly from arbitrary read boundaries (unit, and over a real socket that dribbles
// the handshake reply one byte at a time), garbage in the header's ignored fields, corrupt lengths.
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../lib/logging.ts';
import { BOOTSTRAP_MODULE } from './bootstrap.ts';
import { VppCodec } from './codec.ts';
import { ApiDefinitions } from './definitions.ts';
import { VppProtocolError } from './errors.ts';
import { frame, FrameReader, FRAME_HEADER_SIZE } from './framing.ts';
import { VppSession } from './session.ts';

function collect(reader: FrameReader, chunks: Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) reader.push(c, (p) => out.push(p.toString('hex')));
  return out;
}

describe('FrameReader', () => {
  it('header: u64 q, u32 BE length, u32 gc mark; only the length is read', () => {
    const f = frame(Buffer.from('0102', 'hex'));
    expect(f.toString('hex')).toBe('0000000000000000' + '00000002' + '00000000' + '0102');
    f.fill(0xee, 0, 8);
    f.fill(0xee, 12, 16);
    expect(collect(new FrameReader(), [f])).toEqual(['0102']);
  });

  it('reassembles any split of any sequence of frames', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.nat(400), { maxLength: 10 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => frame(Buffer.from(p))));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const p of [...points, stream.length]) {
            chunks.push(stream.subarray(prev, p));
            prev = p;
          }
          const reader = new FrameReader();
          expect(collect(reader, chunks)).toEqual(payloads.map((p) => Buffer.from(p).toString('hex')));
          expect(reader.buffered).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('delivers a large frame fed one byte at a time', () => {
    const payload = Buffer.alloc(100_000, 7);
    const f = frame(payload);
    const reader = new FrameReader();
    const out: Buffer[] = [];
    for (let i = 0; i < f.length; i++) reader.push(f.subarray(i, i + 1), (p) => out.push(p));
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(payload)).toBe(true);
  });

  it('refuses an impossible length', () => {
    const bad = Buffer.alloc(FRAME_HEADER_SIZE);
    bad.writeUInt32BE(0xffffffff, 8);
    expect(() => new FrameReader().push(bad, () => undefined)).toThrow(VppProtocolError);
  });
});

describe('handshake over a socket that sends one byte per write', () => {
  it('reassembles sockclnt_create_reply and builds the table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nl-vpp-'));
    const path = join(dir, 's');
    const codec = new VppCodec(new ApiDefinitions().addModule('bootstrap', BOOTSTRAP_MODULE));
    const server = createServer((sock) => {
      sock.once('data', () => {
        const table = [
          { index: 15, name: 'sockclnt_create_455fb9c4' },
          { index: 16, name: 'sockclnt_create_reply_35166268' },
          { index: 40, name: 'control_ping_51077d14' },
          { index: 41, name: 'control_ping_reply_f6b0b8ca' },
        ];
        const reply = codec.encode(
          'sockclnt_create_reply',
          { index: 0x80000003, message_table: table },
          { msgId: 16, context: 0x6e6c },
          16,
        );
        const bytes = frame(reply.subarray(16));
        let i = 0;
        const drip = (): void => {
          if (i < bytes.length) sock.write(bytes.subarray(i, ++i), drip);
        };
        drip();
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const s = await VppSession.open({
        path,
        clientName: 'drip',
        codec,
        connectTimeoutMs: 5_000,
        logger: silentLogger(),
      });
      expect(s.clientIndex).toBe(0x80000003);
      expect(s.table.size).toBe(4);
      expect(s.supports('control_ping')).toBe(true);
      s.destroy();
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
