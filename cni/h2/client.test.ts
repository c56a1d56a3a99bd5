// The shim's HTTP/2 client and gRPC call against real servers on unix sockets: node:http2
// (nghttp2, which picks its own HPACK encodings, Huffman and the dynamic table included) for
// the HTTP/2 cases, and @grpc/grpc-js (what the agent serves with) for the gRPC ones.
import {
  createServer as createH2Server,
  constants,
  type Http2Server,
  type ServerHttp2Stream,
} from 'node:http2';
import { createServer as createNetServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { H2ClientSession, H2RequestError } from './client.ts';
import { connectUnix } from './transport.ts';
import {
  GRPC_DEADLINE_EXCEEDED,
  GRPC_INTERNAL,
  GRPC_UNAVAILABLE,
  GrpcCallError,
  GrpcUnixClient,
} from '../grpc-h2.ts';

const dir = mkdtempSync(join(tmpdir(), 'netloom-h2-'));
let n = 0;
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close(); // clients before servers
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function h2Server(
  onStream: (stream: ServerHttp2Stream, headers: Record<string, unknown>, body: Buffer) => void,
  settings: { initialWindowSize?: number; maxFrameSize?: number } = {},
): Promise<{ socket: string; server: Http2Server }> {
  const socket = join(dir, `h2-${n++}.sock`);
  const server = createH2Server({ settings });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined); // resets the tests cause on purpose
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => onStream(stream, headers, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { socket, server };
}

async function session(socket: string): Promise<H2ClientSession> {
  const ref: { session?: H2ClientSession } = {};
  const sink = await connectUnix(socket, {
    data: (chunk) => ref.session?.receive(chunk),
    closed: (err) => ref.session?.transportClosed(err),
  });
  const s = new H2ClientSession(sink);
  ref.session = s;
  closers.push(async () => s.close());
  return s;
}

const post = (path = '/t'): [string, string][] => [
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', path],
  [':authority', 'localhost'],
];

// Every octet a header value may carry (field-vchar, obs-text, space and tab).
const ALL_VALUE_BYTES = String.fromCharCode(
  0x09,
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => 0x20 + i),
  ...Array.from({ length: 0x80 }, (_, i) => 0x80 + i),
);

describe('HTTP/2 client against node:http2 (nghttp2)', () => {
  it('decodes what nghttp2 encodes: every value octet, Huffman and the dynamic table over requests', async () => {
    const sent = {
      'x-all': ALL_VALUE_BYTES,
      'x-text': 'the quick brown fox jumps over the lazy dog 0123456789',
      'x-same': 'indexed-after-the-first-response',
    };
    const { socket } = await h2Server((stream) => {
      stream.respond({ ':status': 200, ...sent }, { endStream: true });
    });
    const s = await session(socket);
    for (let i = 0; i < 3; i++) {
      const reply = await s.request(post(), Buffer.alloc(0));
      const got = Object.fromEntries(reply.headers.filter(([k]) => k.startsWith('x-')));
      expect(got).toEqual(sent);
      expect(reply.headers.find(([k]) => k === ':status')?.[1]).toBe('200');
    }
  });

  it('reassembles a header block split over HEADERS and CONTINUATION frames', async () => {
    const big = 'v'.repeat(40_000); // above the 16,384-byte frame size: nghttp2 must continue it
    const { socket } = await h2Server((stream) =>
      stream.respond({ ':status': 200, 'x-big': big }, { endStream: true }),
    );
    const reply = await (await session(socket)).request(post(), Buffer.alloc(0));
    expect(reply.headers.find(([k]) => k === 'x-big')?.[1]).toBe(big);
  });

  it('sends a body above the window and the frame size, waiting for WINDOW_UPDATE', async () => {
    const body = Buffer.alloc(300_000, 7);
    body.writeUInt32BE(0xdeadbeef, 299_000);
    const { socket } = await h2Server(
      (stream, _h, got) => {
        stream.respond({ ':status': 200 });
        stream.end(Buffer.from(`${got.length} ${got.readUInt32BE(299_000).toString(16)}`));
      },
      { initialWindowSize: 1_000 }, // the server's window is tiny: flow control decides
    );
    const reply = await (await session(socket)).request(post(), body);
    expect(reply.data.toString()).toBe('300000 deadbeef');
  });

  it('receives data and trailers; answers PING', async () => {
    const data = Buffer.alloc(100_000, 1);
    let pinged = false;
    const { socket } = await h2Server((stream) => {
      stream.session?.ping((err) => (pinged = !err));
      stream.respond({ ':status': 200 }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-t': 'done' }));
      stream.end(data);
    });
    const reply = await (await session(socket)).request(post(), Buffer.from('hi'));
    expect(reply.data.equals(data)).toBe(true);
    expect(reply.trailers).toEqual([['x-t', 'done']]);
    await new Promise((r) => setTimeout(r, 50));
    expect(pinged).toBe(true);
  });

  it('fails a stream reset by the server, and one GOAWAY refused, as typed errors', async () => {
    const { socket: reset } = await h2Server((stream) => stream.close(constants.NGHTTP2_REFUSED_STREAM));
    await expect((await session(reset)).request(post(), Buffer.alloc(0))).rejects.toMatchObject({
      kind: 'reset',
      h2Code: constants.NGHTTP2_REFUSED_STREAM,
    });
    const { socket: away, server } = await h2Server(() => undefined);
    server.on('session', (sess) => sess.goaway(constants.NGHTTP2_NO_ERROR, 0));
    const err = await (await session(away)).request(post(), Buffer.alloc(0)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(H2RequestError);
    expect(err).toMatchObject({ kind: 'unavailable' });
  });
});

const proto: ServiceDefinition = {
  Echo: {
    path: '/t.T/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

async function grpcServer(handler: (req: Buffer, cb: sendUnaryData<Buffer>) => void): Promise<string> {
  const socket = join(dir, `grpc-${n++}.sock`);
  const server = new Server();
  server.addService(proto, {
    Echo: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => handler(call.request, cb),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  closers.push(async () => void server.forceShutdown());
  return socket;
}

function grpcClient(socket: string): GrpcUnixClient {
  const client = new GrpcUnixClient(socket);
  closers.push(async () => client.close());
  return client;
}

async function callError(p: Promise<unknown>): Promise<GrpcCallError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GrpcCallError);
  return err as GrpcCallError;
}

describe('gRPC unary call against grpc-js', () => {
  it('sends a request above 64 KB and receives a reply above 16 KB', async () => {
    const socket = await grpcServer((req, cb) => cb(null, Buffer.concat([req, req, Buffer.from('!')])));
    const client = grpcClient(socket);
    const request = Buffer.from('0123456789abcdef'.repeat(10_000)); // 160 KB
    const reply = await client.call('/t.T/Echo', request, 5_000);
    expect(reply.length).toBe(320_001);
    expect(reply.subarray(160_000, 320_000).equals(request)).toBe(true);
    // The session is reused for a second call (stream 3).
    expect((await client.call('/t.T/Echo', Buffer.from('x'), 5_000)).toString()).toBe('xx!');
  });

  it('an error status keeps its code and its grpc-message, which nghttp2 Huffman-codes', async () => {
    const details = 'agent is resyncing: 100% of 3 nodes, ünïcödé and "quotes"';
    const socket = await grpcServer((_req, cb) => cb({ code: status.FAILED_PRECONDITION, details }));
    const err = await callError(grpcClient(socket).call('/t.T/Echo', Buffer.from('x'), 5_000));
    expect(err.grpcCode).toBe(status.FAILED_PRECONDITION);
    expect(err.message).toBe(`${status.FAILED_PRECONDITION} ${details}`);
  });

  it('an unknown method is UNIMPLEMENTED from the trailers-only reply', async () => {
    const socket = await grpcServer((req, cb) => cb(null, req));
    const err = await callError(grpcClient(socket).call('/t.T/Nope', Buffer.from('x'), 5_000));
    expect(err.grpcCode).toBe(status.UNIMPLEMENTED);
  });

  it('a server that never answers ends in DEADLINE_EXCEEDED at the deadline', async () => {
    const socket = await grpcServer(() => undefined);
    const t0 = Date.now();
    const err = await callError(grpcClient(socket).call('/t.T/Echo', Buffer.from('x'), 300));
    expect(err.grpcCode).toBe(GRPC_DEADLINE_EXCEEDED);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('no socket, a socket closed on accept, and a server that is not HTTP/2 are UNAVAILABLE or INTERNAL', async () => {
    const missing = await callError(
      grpcClient(join(dir, 'none.sock')).call('/t.T/Echo', Buffer.alloc(0), 2_000),
    );
    expect(missing.grpcCode).toBe(GRPC_UNAVAILABLE);
    expect(missing.message).toMatch(/ENOENT/);

    const closing = join(dir, `close-${n++}.sock`);
    const server = createNetServer((c) => c.destroy());
    await new Promise<void>((resolve) => server.listen(closing, resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const closed = await callError(grpcClient(closing).call('/t.T/Echo', Buffer.alloc(0), 2_000));
    expect(closed.grpcCode).toBe(GRPC_UNAVAILABLE);

    const garbage = join(dir, `garbage-${n++}.sock`);
    const junk = createNetServer((c) => c.resume().end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    await new Promise<void>((resolve) => junk.listen(garbage, resolve));
    closers.push(() => new Promise((resolve) => junk.close(() => resolve())));
    const bad = await callError(grpcClient(garbage).call('/t.T/Echo', Buffer.alloc(0), 2_000));
    expect([GRPC_INTERNAL, GRPC_UNAVAILABLE]).toContain(bad.grpcCode);
  });

  it('a GOAWAY before the call is processed is UNAVAILABLE', async () => {
    const { socket, server } = await h2Server(() => undefined);
    server.on('session', (sess) => sess.goaway(constants.NGHTTP2_NO_ERROR, 0));
    const err = await callError(grpcClient(socket).call('/t.T/Echo', Buffer.from('x'), 2_000));
    expect(err.grpcCode).toBe(GRPC_UNAVAILABLE);
  });
});
