// HTTP/2 framing (RFC 9113 §4, §6) for the shim's client: the 9-byte frame header, the frame
// types and flags it uses, SETTINGS payloads, and a reader that cuts a byte stream into frames.
import { NetloomError } from '../../lib/errors.ts';

/** A violation of HTTP/2 by the peer; `h2Code` is the RFC 9113 §7 error code it deserves. */
export class H2ProtocolError extends NetloomError {
  readonly h2Code: number;

  constructor(h2Code: number, message: string) {
    super(message);
    this.h2Code = h2Code;
  }
}

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** What every connection starts with until SETTINGS say otherwise (RFC 9113 §6.5.2). */
export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_WINDOW = 2 ** 31 - 1;

export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

const HEADER_LENGTH = 9;

export function encodeFrame(type: number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const length = payload?.length ?? 0;
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + length);
  frame.writeUIntBE(length, 0, 3);
  frame[3] = type;
  frame[4] = flags;
  frame.writeUInt32BE(streamId & 0x7fffffff, 5);
  if (payload) frame.set(payload, HEADER_LENGTH);
  return frame;
}

export function settingsPayload(entries: readonly (readonly [id: number, value: number])[]): Buffer {
  const payload = Buffer.allocUnsafe(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return payload;
}

export function parseSettings(payload: Buffer): [id: number, value: number][] {
  if (payload.length % 6 !== 0) throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS length');
  const entries: [number, number][] = [];
  for (let i = 0; i < payload.length; i += 6)
    entries.push([payload.readUInt16BE(i), payload.readUInt32BE(i + 2)]);
  return entries;
}

export function windowUpdatePayload(increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment, 0);
  return payload;
}

/**
 * Strips the padding (and the priority fields of HEADERS) from a DATA or HEADERS payload
 * (RFC 9113 §6.1, §6.2).
 */
export function framePayloadBody(frame: Frame): Buffer {
  let start = 0;
  let end = frame.payload.length;
  if (frame.flags & Flag.PADDED) {
    if (end < 1) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'padded frame without a pad length');
    end -= frame.payload[0]!;
    start = 1;
  }
  if (frame.type === FrameType.HEADERS && frame.flags & Flag.PRIORITY) start += 5;
  if (end < start) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame');
  return frame.payload.subarray(start, end);
}

/** Cuts a byte stream into frames; holds a partial frame until the rest arrives. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly maxFrameSize: number;

  /** `maxFrameSize` is the SETTINGS_MAX_FRAME_SIZE this endpoint announced. */
  constructor(maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {
    this.maxFrameSize = maxFrameSize;
  }

  push(chunk: Uint8Array): Frame[] {
    const buf = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    let pos = 0;
    while (buf.length - pos >= HEADER_LENGTH) {
      const length = buf.readUIntBE(pos, 3);
      if (length > this.maxFrameSize) {
        throw new H2ProtocolError(
          ErrorCode.FRAME_SIZE_ERROR,
          `frame of ${length} bytes above ${this.maxFrameSize}`,
        );
      }
      if (buf.length - pos < HEADER_LENGTH + length) break;
      frames.push({
        type: buf[pos + 3]!,
        flags: buf[pos + 4]!,
        streamId: buf.readUInt32BE(pos + 5) & 0x7fffffff,
        // A copy: the caller may keep a payload after the next chunk arrives.
        payload: Buffer.from(buf.subarray(pos + HEADER_LENGTH, pos + HEADER_LENGTH + length)),
      });
      pos += HEADER_LENGTH + length;
    }
    this.pending = pos === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
    return frames;
  }
}
