// One gRPC unary call over node:http2 to a unix socket: the gRPC HTTP/2 mapping (POST
// /<service>/<method>, application/grpc, 5-byte message prefix, grpc-status trailers) is small,
// and node:http2 is built in, so the shim pays no library load for it.
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';

/** A failed call: `grpcCode` is the gRPC status (14 UNAVAILABLE, 4 DEADLINE_EXCEEDED…). */
export class GrpcCallError extends Error {
  readonly grpcCode: number;

  constructor(grpcCode: number, message: string, options?: { cause?: unknown }) {
    super(`${grpcCode} ${message}`, options);
    this.grpcCode = grpcCode;
  }
}

export const GRPC_UNAVAILABLE = 14;
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_INTERNAL = 13;

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

function statusOf(headers: IncomingHttpHeaders): { code: number; message: string } | undefined {
  const code = headers['grpc-status'];
  if (code === undefined) return undefined;
  const raw = headers['grpc-message'];
  const message = typeof raw === 'string' ? decodeURIComponent(raw) : '';
  return { code: Number(code), message };
}

export class GrpcUnixClient {
  private session: ClientHttp2Session | undefined;
  private readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  private open(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connect('http://localhost', { createConnection: () => netConnect(this.socketPath) });
    session.on('error', () => undefined); // reported through the call's own error
    this.session = session;
    return session;
  }

  /** Sends one request and resolves with the reply message bytes. */
  call(path: string, request: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (err: Error | undefined, reply?: Buffer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(reply!);
      };
      const timer = setTimeout(() => {
        req.close(constants.NGHTTP2_CANCEL);
        done(new GrpcCallError(GRPC_DEADLINE_EXCEEDED, `no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const session = this.open();
      session.once('error', (err: Error) =>
        done(
          new GrpcCallError(GRPC_UNAVAILABLE, `cannot reach ${this.socketPath}: ${err.message}`, {
            cause: err,
          }),
        ),
      );
      const req = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: path,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
      });
      const chunks: Buffer[] = [];
      let status: { code: number; message: string } | undefined;
      req.on('response', (headers) => (status = statusOf(headers)));
      req.on('trailers', (trailers: IncomingHttpHeaders) => (status = statusOf(trailers) ?? status));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', (err: Error) => done(new GrpcCallError(GRPC_UNAVAILABLE, err.message, { cause: err })));
      req.on('end', () => {
        if (!status) return done(new GrpcCallError(GRPC_INTERNAL, 'reply without grpc-status'));
        if (status.code !== 0) return done(new GrpcCallError(status.code, status.message));
        try {
          done(undefined, unframe(Buffer.concat(chunks)));
        } catch (err) {
          done(err as Error);
        }
      });
      req.end(frame(request));
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}
