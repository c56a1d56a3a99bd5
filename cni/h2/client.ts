// An HTTP/2 client session (RFC 9113) over any byte stream, for what the shim does: a request or
// two on prior-knowledge h2c, each a HEADERS frame and a body, answered by headers, data and
// trailers. It keeps the connection's rules the server relies on — SETTINGS acknowledged, PINGs
// answered, one HPACK decoder fed every header block in order, send-side flow control and frame
// size — and leaves out what a client of one unary call never needs (push, priorities, many
// concurrent streams' fairness).
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  encodeFrame,
  ErrorCode,
  Flag,
  FrameReader,
  FrameType,
  framePayloadBody,
  H2ProtocolError,
  MAX_WINDOW,
  parseSettings,
  Setting,
  settingsPayload,
  windowUpdatePayload,
  type Frame,
} from './frames.ts';
import { encodeHeaders, HpackDecoder, HpackError, type HeaderField } from './hpack.ts';
import { NetloomError } from '../../lib/errors.ts';

/** Where the session writes; the transport (node:net or Bun's socket) behind it. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
  close(): void;
}

/**
 * Why a request failed: `unavailable` (no connection, or it ended, or GOAWAY refused the
 * stream: nothing was processed or the server is gone), `reset` (RST_STREAM with `h2Code`),
 * `protocol` (the peer broke HTTP/2 or HPACK).
 */
export class H2RequestError extends NetloomError {
  readonly kind: 'unavailable' | 'reset' | 'protocol';
  readonly h2Code: number;

  constructor(
    kind: 'unavailable' | 'reset' | 'protocol',
    message: string,
    options?: { h2Code?: number; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.h2Code = options?.h2Code ?? ErrorCode.NO_ERROR;
  }
}

export interface H2Response {
  headers: HeaderField[];
  /** The trailing header block, if the response had one after its data. */
  trailers: HeaderField[] | undefined;
  data: Buffer;
}

/**
 * What we announce: our receive window is raised once at the start, well above any reply the
 * CNI service sends, so the session never has to hand out WINDOW_UPDATEs while reading.
 */
const RECEIVE_WINDOW = 16 * 1024 * 1024;

interface StreamState {
  id: number;
  body: Buffer;
  sent: number;
  sendWindow: number;
  headers: HeaderField[] | undefined;
  trailers: HeaderField[] | undefined;
  data: Buffer[];
  received: number;
  resolve: (r: H2Response) => void;
  reject: (e: H2RequestError) => void;
}

export class H2ClientSession {
  private readonly sink: ByteSink;
  private readonly reader = new FrameReader(DEFAULT_MAX_FRAME_SIZE);
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, StreamState>();
  private nextStreamId = 1;
  private connectionSendWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  /** A header block spread over HEADERS + CONTINUATION frames. */
  private partial: { streamId: number; endStream: boolean; fragments: Buffer[] } | undefined;
  private failure: H2RequestError | undefined;

  constructor(sink: ByteSink) {
    this.sink = sink;
    sink.write(
      Buffer.concat([
        CLIENT_PREFACE,
        encodeFrame(
          FrameType.SETTINGS,
          0,
          0,
          settingsPayload([
            [Setting.ENABLE_PUSH, 0],
            [Setting.INITIAL_WINDOW_SIZE, RECEIVE_WINDOW],
          ]),
        ),
        encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, windowUpdatePayload(RECEIVE_WINDOW - DEFAULT_WINDOW)),
      ]),
    );
  }

  /** True once the session can take no more requests (closed, failed or GOAWAY received). */
  get finished(): boolean {
    return this.failure !== undefined;
  }

  /** Sends a request (pseudo-headers first in `headers`) and resolves with the whole response. */
  request(headers: readonly HeaderField[], body: Buffer): Promise<H2Response> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const id = this.nextStreamId;
      this.nextStreamId += 2;
      const stream: StreamState = {
        id,
        body,
        sent: 0,
        sendWindow: this.peerInitialWindow,
        headers: undefined,
        trailers: undefined,
        data: [],
        received: 0,
        resolve,
        reject,
      };
      this.streams.set(id, stream);
      // Request headers are a few hundred bytes: one HEADERS frame, no CONTINUATION.
      const block = encodeHeaders(headers);
      if (block.length > this.peerMaxFrameSize) {
        this.streams.delete(id);
        return reject(new H2RequestError('protocol', 'request headers larger than one frame'));
      }
      this.sink.write(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, id, block));
      this.pump(stream);
    });
  }

  /** Abandons a request (its deadline passed): RST_STREAM(CANCEL), and its promise is left unsettled. */
  cancel(): void {
    for (const stream of this.streams.values()) {
      this.sink.write(encodeFrame(FrameType.RST_STREAM, 0, stream.id, errorCodePayload(ErrorCode.CANCEL)));
    }
    this.streams.clear();
  }

  close(): void {
    this.fail(new H2RequestError('unavailable', 'session closed'));
    this.sink.close();
  }

  /** Bytes from the transport. */
  receive(chunk: Uint8Array): void {
    if (this.failure) return;
    try {
      for (const frame of this.reader.push(chunk)) this.handle(frame);
    } catch (err) {
      if (!(err instanceof H2ProtocolError || err instanceof HpackError)) throw err;
      const code = err instanceof H2ProtocolError ? err.h2Code : ErrorCode.COMPRESSION_ERROR;
      // A connection error (RFC 9113 §5.4.1): GOAWAY with its code, then close.
      this.sink.write(encodeFrame(FrameType.GOAWAY, 0, 0, goawayPayload(0, code)));
      this.fail(
        new H2RequestError('protocol', `HTTP/2 error from the server: ${err.message}`, { cause: err }),
      );
      this.sink.close();
    }
  }

  /** The transport ended (or failed): whatever is still open will never be answered. */
  transportClosed(err?: Error): void {
    const why = err ? `connection failed: ${err.message}` : 'connection closed before the reply ended';
    this.fail(new H2RequestError('unavailable', why, { cause: err }));
  }

  private fail(err: H2RequestError): void {
    this.failure ??= err;
    for (const stream of this.streams.values()) stream.reject(err);
    this.streams.clear();
  }

  private handle(frame: Frame): void {
    if (this.partial && frame.type !== FrameType.CONTINUATION) {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'header block interrupted by another frame');
    }
    switch (frame.type) {
      case FrameType.DATA:
        return this.onData(frame);
      case FrameType.HEADERS:
        return this.onHeaders(frame);
      case FrameType.CONTINUATION:
        return this.onContinuation(frame);
      case FrameType.RST_STREAM:
        return this.onReset(frame);
      case FrameType.SETTINGS:
        return this.onSettings(frame);
      case FrameType.PUSH_PROMISE:
        throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled');
      case FrameType.PING:
        if (frame.payload.length !== 8) throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'PING length');
        if (!(frame.flags & Flag.ACK))
          this.sink.write(encodeFrame(FrameType.PING, Flag.ACK, 0, frame.payload));
        return;
      case FrameType.GOAWAY:
        return this.onGoaway(frame);
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(frame);
      default:
        return; // PRIORITY and unknown types are ignored (RFC 9113 §5.5)
    }
  }

  private onData(frame: Frame): void {
    const stream = this.streams.get(frame.streamId);
    if (frame.streamId === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    if (!stream) return; // a cancelled stream's late data
    if (!stream.headers) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'DATA before response headers');
    const body = framePayloadBody(frame);
    stream.received += frame.payload.length;
    // Flow control counts the whole payload, padding included (RFC 9113 §6.9.1).
    if (stream.received > RECEIVE_WINDOW) {
      throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 'reply exceeds the receive window');
    }
    stream.data.push(body);
    if (frame.flags & Flag.END_STREAM) this.complete(stream);
  }

  private onHeaders(frame: Frame): void {
    if (frame.streamId === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    const fragment = framePayloadBody(frame);
    const endStream = (frame.flags & Flag.END_STREAM) !== 0;
    if (frame.flags & Flag.END_HEADERS) return this.onHeaderBlock(frame.streamId, endStream, fragment);
    this.partial = { streamId: frame.streamId, endStream, fragments: [fragment] };
  }

  private onContinuation(frame: Frame): void {
    const partial = this.partial;
    if (!partial || partial.streamId !== frame.streamId) {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without a header block');
    }
    partial.fragments.push(frame.payload);
    if (!(frame.flags & Flag.END_HEADERS)) return;
    this.partial = undefined;
    this.onHeaderBlock(partial.streamId, partial.endStream, Buffer.concat(partial.fragments));
  }

  private onHeaderBlock(streamId: number, endStream: boolean, block: Buffer): void {
    // Every block is decoded, even a cancelled stream's: the HPACK table is the connection's.
    const fields = this.decoder.decode(block);
    const stream = this.streams.get(streamId);
    if (!stream) return;
    if (!stream.headers) {
      stream.headers = fields;
    } else {
      if (!endStream) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'trailers without END_STREAM');
      stream.trailers = fields;
    }
    if (endStream) this.complete(stream);
  }

  private onReset(frame: Frame): void {
    if (frame.payload.length !== 4)
      throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM length');
    const stream = this.streams.get(frame.streamId);
    if (!stream) return;
    this.streams.delete(stream.id);
    const h2Code = frame.payload.readUInt32BE(0);
    stream.reject(
      new H2RequestError('reset', `stream reset by the server (HTTP/2 code ${h2Code})`, { h2Code }),
    );
  }

  private onSettings(frame: Frame): void {
    if (frame.streamId !== 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (frame.flags & Flag.ACK) return;
    for (const [id, value] of parseSettings(frame.payload)) {
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW)
          throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 'initial window too large');
        // A change applies to open streams by the difference (RFC 9113 §6.9.2).
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.values()) stream.sendWindow += delta;
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 2 ** 24 - 1) {
          throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'invalid max frame size');
        }
        this.peerMaxFrameSize = value;
      }
      // HEADER_TABLE_SIZE concerns the peer's decoder, which we never make index anything.
    }
    this.sink.write(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
    for (const stream of this.streams.values()) this.pump(stream);
  }

  private onGoaway(frame: Frame): void {
    if (frame.payload.length < 8) throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY length');
    const lastStreamId = frame.payload.readUInt32BE(0) & 0x7fffffff;
    const h2Code = frame.payload.readUInt32BE(4);
    const err = new H2RequestError('unavailable', `server is going away (HTTP/2 code ${h2Code})`, { h2Code });
    this.failure ??= err; // no new requests on this connection
    // Streams above the last one the server will process were never seen by it (§6.8).
    for (const stream of [...this.streams.values()]) {
      if (stream.id > lastStreamId) {
        this.streams.delete(stream.id);
        stream.reject(err);
      }
    }
  }

  private onWindowUpdate(frame: Frame): void {
    if (frame.payload.length !== 4)
      throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
    const increment = frame.payload.readUInt32BE(0) & 0x7fffffff;
    if (increment === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
    if (frame.streamId === 0) {
      this.connectionSendWindow += increment;
      if (this.connectionSendWindow > MAX_WINDOW) {
        throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      }
      for (const stream of this.streams.values()) this.pump(stream);
      return;
    }
    const stream = this.streams.get(frame.streamId);
    if (!stream) return;
    stream.sendWindow += increment;
    this.pump(stream);
  }

  /** Sends as much of a request body as both windows allow, in frames of the peer's size. */
  private pump(stream: StreamState): void {
    const total = stream.body.length;
    if (stream.sent > total) return; // END_STREAM went out already
    while (stream.sent < total) {
      const n = Math.min(
        total - stream.sent,
        this.peerMaxFrameSize,
        this.connectionSendWindow,
        stream.sendWindow,
      );
      if (n <= 0) return; // a WINDOW_UPDATE (or SETTINGS) resumes
      const last = stream.sent + n === total;
      const chunk = stream.body.subarray(stream.sent, stream.sent + n);
      this.sink.write(encodeFrame(FrameType.DATA, last ? Flag.END_STREAM : 0, stream.id, chunk));
      stream.sent += n;
      this.connectionSendWindow -= n;
      stream.sendWindow -= n;
      if (last) stream.sent = total + 1;
    }
    if (stream.sent === total) {
      // An empty body: a zero-length DATA carries END_STREAM and needs no window.
      this.sink.write(encodeFrame(FrameType.DATA, Flag.END_STREAM, stream.id));
      stream.sent = total + 1;
    }
  }

  private complete(stream: StreamState): void {
    this.streams.delete(stream.id);
    stream.resolve({
      headers: stream.headers ?? [],
      trailers: stream.trailers,
      data: Buffer.concat(stream.data),
    });
  }
}

function errorCodePayload(code: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(code, 0);
  return payload;
}

function goawayPayload(lastStreamId: number, code: number): Buffer {
  const payload = Buffer.allocUnsafe(8);
  payload.writeUInt32BE(lastStreamId, 0);
  payload.writeUInt32BE(code, 4);
  return payload;
}
