// Socket framing of VPP's API: a 16-byte header (u64 q, u32 big-endian payload length, u32
// gc_mark_timestamp) before each message. Only the length means anything: VPP leaves garbage in
// the other fields on receive, and we send zeros. Reads arrive in arbitrary pieces; the reader
// reassembles them without copying whole frames that arrived in one piece.
import { VppProtocolError } from './errors.ts';

export const FRAME_HEADER_SIZE = 16;
/** Larger than any real message (get_api_json is ~3 MB); a bigger length means a corrupt stream. */
export const MAX_FRAME_SIZE = 64 * 1024 * 1024;

/** Fills in the header of a buffer encoded with FRAME_HEADER_SIZE bytes of headroom. */
export function sealFrame(buf: Buffer): Buffer {
  buf.fill(0, 0, FRAME_HEADER_SIZE);
  buf.writeUInt32BE(buf.length - FRAME_HEADER_SIZE, 8);
  return buf;
}

/** Wraps a bare payload in a frame (copies; the encoder's headroom avoids this on the hot path). */
export function frame(payload: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  payload.copy(buf, FRAME_HEADER_SIZE);
  return sealFrame(buf);
}

export class FrameReader {
  /** Unconsumed chunks; joined only once a whole frame is there (no quadratic copying). */
  private chunks: Buffer[] = [];
  private length = 0;
  /** Bytes needed before parsing can continue (a header, or the frame it announces). */
  private needed = FRAME_HEADER_SIZE;
  private readonly maxFrame: number;

  constructor(maxFrame = MAX_FRAME_SIZE) {
    this.maxFrame = maxFrame;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.length;
  }

  /**
   * Feeds a chunk and calls `onFrame` with each complete payload: a view into memory that is
   * never reused, so it may be kept. Throws VppProtocolError on an impossible length.
   */
  push(chunk: Buffer, onFrame: (payload: Buffer) => void): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length < this.needed) return;
    const buf = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.length);
    this.chunks = [];
    this.length = 0;
    let off = 0;
    while (buf.length - off >= FRAME_HEADER_SIZE) {
      const len = buf.readUInt32BE(off + 8);
      if (len > this.maxFrame)
        throw new VppProtocolError(`frame of ${len} bytes exceeds ${this.maxFrame}: stream corrupt`);
      const end = off + FRAME_HEADER_SIZE + len;
      if (end > buf.length) {
        this.needed = end - off;
        break;
      }
      onFrame(buf.subarray(off + FRAME_HEADER_SIZE, end));
      off = end;
    }
    if (off === buf.length) {
      this.needed = FRAME_HEADER_SIZE;
      return;
    }
    // Keep the unread tail, copied when small so the big chunk it came from can be collected.
    const tail = buf.subarray(off);
    this.chunks.push(tail.length < 4096 ? Buffer.from(tail) : tail);
    this.length = tail.length;
    if (tail.length < FRAME_HEADER_SIZE) this.needed = FRAME_HEADER_SIZE;
  }

  reset(): void {
    this.chunks = [];
    this.length = 0;
    this.needed = FRAME_HEADER_SIZE;
  }
}
