// One gRPC unary call over the shim's own HTTP/2 client (h2/) to a unix socket. The gRPC HTTP/2
// mapping is small — POST /<service>/<method>, application/grpc, a 5-byte message prefix, the
// status in grpc-status/grpc-message trailers — and carrying it ourselves keeps node:http2 out
// of the process: Bun loads its node:http2 in ~19 ms, more than its whole start (ADR 0009).
import { H2ClientSession, H2RequestError, type H2Response } from './h2/client.ts';
import { ErrorCode } from './h2/frames.ts';
import type { HeaderField } from './h2/hpack.ts';
import { connectUnix } from './h2/transport.ts';

/** A failed call: `grpcCode` is the gRPC status (14 UNAVAILABLE, 4 DEADLINE_EXCEEDED…). */
export class GrpcCallError extends Error {
  readonly grpcCode: number;

  constructor(grpcCode: number, message: string, options?: { cause?: unknown }) {
    super(`${grpcCode} ${message}`, options);
    this.grpcCode = grpcCode;
  }
}

export const GRPC_CANCELLED = 1;
export const GRPC_UNKNOWN = 2;
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_RESOURCE_EXHAUSTED = 8;
export const GRPC_INTERNAL = 13;
export const GRPC_UNAVAILABLE = 14;

function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

function unframe(body: Buffer): Buffer {
  if (body.length < 5) throw new GrpcCallError(GRPC_INTERNAL, 'reply without a message');
  if (body[0] !== 0) throw new GrpcCallError(GRPC_INTERNAL, 'compressed replies are not supported');
  const len = body.readUInt32BE(1);
  if (body.length < 5 + len) throw new GrpcCallError(GRPC_INTERNAL, 'truncated reply message');
  return body.subarray(5, 5 + len);
}

function field(fields: readonly HeaderField[] | undefined, name: string): string | undefined {
  return fields?.find(([n]) => n === name)?.[1];
}

/** grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2); a malformed one is shown as sent. */
function grpcMessage(raw: string | undefined): string {
  if (!raw) return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** HTTP statuses other than 200 as gRPC maps them (doc/http-grpc-status-mapping.md). */
function fromHttpStatus(status: string | undefined): number {
  switch (status) {
    case '400':
      return GRPC_INTERNAL;
    case '429':
    case '502':
    case '503':
    case '504':
      return GRPC_UNAVAILABLE;
    default:
      return GRPC_UNKNOWN;
  }
}

/** The call's status: from the trailers, or from the headers of a trailers-only reply. */
function outcome(reply: H2Response): Buffer {
  const status = field(reply.headers, ':status');
  const trailers = reply.trailers ?? reply.headers;
  const code = field(trailers, 'grpc-status');
  if (status !== '200' && code === undefined) {
    throw new GrpcCallError(fromHttpStatus(status), `HTTP status ${status ?? 'missing'}`);
  }
  if (code === undefined) throw new GrpcCallError(GRPC_INTERNAL, 'reply without grpc-status');
  if (!/^\d+$/.test(code)) throw new GrpcCallError(GRPC_UNKNOWN, `unreadable grpc-status ${code}`);
  if (code !== '0') throw new GrpcCallError(Number(code), grpcMessage(field(trailers, 'grpc-message')));
  return unframe(reply.data);
}

/** RST_STREAM codes as gRPC clients map them. */
function fromReset(h2Code: number): number {
  if (h2Code === ErrorCode.REFUSED_STREAM) return GRPC_UNAVAILABLE;
  if (h2Code === ErrorCode.CANCEL) return GRPC_CANCELLED;
  if (h2Code === ErrorCode.ENHANCE_YOUR_CALM) return GRPC_RESOURCE_EXHAUSTED;
  return GRPC_INTERNAL;
}

function asCallError(err: unknown, socketPath: string): GrpcCallError {
  if (err instanceof GrpcCallError) return err;
  if (err instanceof H2RequestError) {
    if (err.kind === 'unavailable') return new GrpcCallError(GRPC_UNAVAILABLE, err.message, { cause: err });
    if (err.kind === 'reset') return new GrpcCallError(fromReset(err.h2Code), err.message, { cause: err });
    return new GrpcCallError(GRPC_INTERNAL, err.message, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new GrpcCallError(GRPC_UNAVAILABLE, `cannot reach ${socketPath}: ${message}`, { cause: err });
}

export class GrpcUnixClient {
  private session: Promise<H2ClientSession> | undefined;
  private readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  private async open(): Promise<H2ClientSession> {
    const current = this.session && (await this.session.catch(() => undefined));
    if (current && !current.finished) return current;
    let session: H2ClientSession | undefined;
    const connecting = connectUnix(this.socketPath, {
      data: (chunk) => session?.receive(chunk),
      closed: (err) => session?.transportClosed(err),
    }).then((sink) => (session = new H2ClientSession(sink)));
    this.session = connecting;
    return connecting;
  }

  /** Sends one request and resolves with the reply message bytes. */
  call(path: string, request: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let session: H2ClientSession | undefined;
      const timer = setTimeout(() => {
        session?.cancel();
        reject(new GrpcCallError(GRPC_DEADLINE_EXCEEDED, `no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const headers: HeaderField[] = [
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', path],
        [':authority', 'localhost'],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['grpc-timeout', `${Math.max(1, Math.ceil(timeoutMs))}m`],
      ];
      void this.open()
        .then((s) => {
          session = s;
          return s.request(headers, frame(request));
        })
        .then(outcome)
        .then(resolve, (err: unknown) => reject(asCallError(err, this.socketPath)))
        .finally(() => clearTimeout(timer));
    });
  }

  close(): void {
    const session = this.session;
    this.session = undefined;
    void session?.then((s) => s.close()).catch(() => undefined);
  }
}
