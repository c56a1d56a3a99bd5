// One connection to VPP's API socket, from handshake to close. Requests are pipelined: each
// gets a fresh context, and replies are matched by it in whatever order they come. A dump is
// the dump message followed by control_ping with the same context; its details stream in until
// the ping's reply closes it. Messages without a context (or listed as events) go to the event
// listener. When the socket goes, every request in flight is rejected with a retriable error:
// nothing is left waiting.
import { connect, type Socket } from 'node:net';
import type { Logger } from '../../../../lib/logging.ts';
import { SOCKCLNT_CREATE_ID, SOCKCLNT_CREATE_REPLY_ID } from './bootstrap.ts';
import type { MessageCodec, VppCodec } from './codec.ts';
import {
  VppApiError,
  VppDisconnectedError,
  VppProtocolError,
  VppTimeoutError,
  VppUsageError,
} from './errors.ts';
import type { VppFields } from './field-codecs.ts';
import { FRAME_HEADER_SIZE, FrameReader, sealFrame } from './framing.ts';
import { MessageTable, stripCrc, type TableEntry } from './message-table.ts';

export interface SessionOptions {
  readonly path: string;
  readonly clientName: string;
  readonly codec: VppCodec;
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
}

export type EventListener = (name: string, msg: VppFields) => void;

interface Route {
  readonly dump: boolean;
  readonly id: number;
  readonly codec: MessageCodec;
  readonly replyId: number;
  readonly replyCodec: MessageCodec;
}

interface Pending {
  readonly request: string;
  /** The message that settles the request: its reply, or control_ping_reply for a dump. */
  readonly endId: number;
  readonly endCodec: MessageCodec;
  /** Dumps only: the details message and what has been collected so far. */
  readonly detailsId: number;
  readonly detailsCodec: MessageCodec | undefined;
  readonly details: VppFields[] | undefined;
  /** A details message that did not decode: the dump fails with it when it ends. */
  undecodable?: Error;
  readonly timeoutMs: number;
  readonly resolve: (v: VppFields & VppFields[]) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Inbound {
  readonly name: string;
  readonly codec: MessageCodec;
  readonly event: boolean;
}

export class VppSession {
  readonly clientIndex: number;
  readonly table: MessageTable;
  /** Resolves when the socket is gone, with what ended it (undefined for a clean close). */
  readonly closed: Promise<Error | undefined>;
  /** Time of the last frame received: the liveness probe skips pings while traffic flows. */
  lastReceiveAt = Date.now();
  onEvent: EventListener | undefined;

  private codec: VppCodec;
  private readonly socket: Socket;
  private readonly logger: Logger;
  private readonly reader = new FrameReader();
  private readonly pending = new Map<number, Pending>();
  private readonly routes = new Map<string, Route>();
  private readonly inbound = new Map<number, Inbound | null>();
  private outbox: Buffer[] = [];
  private flushScheduled = false;
  private nextContext = 1;
  private ended: Error | undefined | null = null;
  private markClosed!: (err: Error | undefined) => void;
  private ping: { id: number; codec: MessageCodec; replyId: number; replyCodec: MessageCodec } | undefined;

  /** Connects and completes the sockclnt_create handshake. */
  static async open(opts: SessionOptions): Promise<VppSession> {
    const socket = await connectSocket(opts.path, opts.connectTimeoutMs);
    try {
      const reply = await handshake(socket, opts);
      return new VppSession(socket, opts, reply.clientIndex, new MessageTable(reply.table), reply.rest);
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  private constructor(
    socket: Socket,
    opts: SessionOptions,
    clientIndex: number,
    table: MessageTable,
    rest: Buffer,
  ) {
    this.socket = socket;
    this.codec = opts.codec;
    this.logger = opts.logger;
    this.clientIndex = clientIndex;
    this.table = table;
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err) =>
      this.teardown(new VppDisconnectedError(`VPP API socket error: ${err.message}`, { cause: err })),
    );
    socket.on('close', () => this.teardown(new VppDisconnectedError('VPP closed the API socket')));
    this.bindPing();
    if (rest.length > 0) this.receive(rest);
  }

  get isOpen(): boolean {
    return this.ended === null;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  get definitions(): VppCodec['definitions'] {
    return this.codec.definitions;
  }

  /** Switches to other definitions (e.g. fetched with get_api_json); ids stay as the table says. */
  useCodec(codec: VppCodec): void {
    this.codec = codec;
    this.routes.clear();
    this.inbound.clear();
    this.bindPing();
  }

  /** True when VPP has this message (and its reply) at the CRC of our definitions. */
  supports(name: string): boolean {
    try {
      this.route(name);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends one request and resolves with its reply; a negative retval rejects with VppApiError. */
  request(name: string, fields: VppFields, timeoutMs: number): Promise<VppFields> {
    return this.start(name, fields, timeoutMs, false) as Promise<VppFields>;
  }

  /** Sends a dump and control_ping with the same context; resolves with every details message. */
  dump(name: string, fields: VppFields, timeoutMs: number): Promise<VppFields[]> {
    return this.start(name, fields, timeoutMs, true) as Promise<VppFields[]>;
  }

  /** sockclnt_delete, then the socket is closed whatever VPP answers. */
  async close(timeoutMs: number): Promise<void> {
    if (!this.isOpen) return;
    try {
      await this.request('sockclnt_delete', { index: this.clientIndex }, timeoutMs);
    } catch (err) {
      this.logger.debug({ err }, 'sockclnt_delete unanswered; closing anyway');
    }
    this.teardown(undefined);
  }

  /** Ends the session now; requests in flight are rejected with `cause` (or a disconnect). */
  destroy(cause?: Error): void {
    this.teardown(cause ?? new VppDisconnectedError('session destroyed'));
  }

  private start(
    name: string,
    fields: VppFields,
    timeoutMs: number,
    dump: boolean,
  ): Promise<VppFields | VppFields[]> {
    if (!this.isOpen) return Promise.reject(new VppDisconnectedError(`${name}: not connected to VPP`));
    let route: Route;
    try {
      route = this.route(name);
    } catch (err) {
      return Promise.reject(toError(err));
    }
    if (route.dump !== dump) {
      return Promise.reject(
        new VppUsageError(`${name} is ${route.dump ? 'a dump: use dump()' : 'not a dump: use request()'}`),
      );
    }
    const ping = this.ping;
    if (dump && ping === undefined)
      return Promise.reject(new VppProtocolError('VPP lacks control_ping: cannot close a dump'));
    const context = this.allocateContext();
    const header = { msgId: route.id, context, clientIndex: this.clientIndex };
    const frame = sealFrame(route.codec.encode(fields, header, FRAME_HEADER_SIZE));
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        request: name,
        endId: dump ? ping!.replyId : route.replyId,
        endCodec: dump ? ping!.replyCodec : route.replyCodec,
        detailsId: dump ? route.replyId : -1,
        detailsCodec: dump ? route.replyCodec : undefined,
        details: dump ? [] : undefined,
        timeoutMs,
        resolve,
        reject,
        timer: setTimeout(() => this.expire(context), timeoutMs),
      };
      this.pending.set(context, entry);
      this.enqueue(frame);
      if (dump) {
        const pingHeader = { msgId: ping!.id, context, clientIndex: this.clientIndex };
        this.enqueue(sealFrame(ping!.codec.encode({}, pingHeader, FRAME_HEADER_SIZE)));
      }
    });
  }

  /** Resolves ids and codecs of a request and its reply, refusing what VPP lacks (CRC check). */
  private route(name: string): Route {
    let r = this.routes.get(name);
    if (r !== undefined) return r;
    const defs = this.codec.definitions;
    const svc = defs.services.get(name);
    const dump = svc === undefined ? name.endsWith('_dump') : svc.kind === 'dump';
    const replyName =
      svc?.kind === 'dump'
        ? svc.details!
        : dump
          ? `${name.slice(0, -5)}_details`
          : (svc?.reply ?? `${name}_reply`);
    const id = this.table.require(defs, name);
    const replyId = this.table.require(defs, replyName);
    r = { dump, id, codec: this.codec.message(name), replyId, replyCodec: this.codec.message(replyName) };
    this.routes.set(name, r);
    return r;
  }

  private bindPing(): void {
    try {
      const r = this.route('control_ping');
      this.ping = { id: r.id, codec: r.codec, replyId: r.replyId, replyCodec: r.replyCodec };
    } catch {
      this.ping = undefined;
    }
  }

  private allocateContext(): number {
    for (;;) {
      const c = this.nextContext;
      this.nextContext = c >= 0xffffffff ? 1 : c + 1;
      if (!this.pending.has(c)) return c;
    }
  }

  private enqueue(frame: Buffer): void {
    this.outbox.push(frame);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Everything sent in the same tick leaves in one write: pipelining without a syscall each.
    process.nextTick(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const out = this.outbox;
    this.outbox = [];
    if (!this.isOpen || out.length === 0) return;
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  private receive(chunk: Buffer): void {
    this.lastReceiveAt = Date.now();
    try {
      this.reader.push(chunk, (payload) => this.dispatch(payload));
    } catch (err) {
      this.teardown(
        err instanceof VppProtocolError ? err : new VppProtocolError('bad frame', { cause: err }),
      );
    }
  }

  private dispatch(payload: Buffer): void {
    if (payload.length < 2) throw new VppProtocolError(`frame of ${payload.length} bytes has no message id`);
    const id = payload.readUInt16BE(0);
    const info = this.describe(id);
    if (info === null) {
      this.logger.debug({ id }, 'message with an id we have no definition for; dropped');
      return;
    }
    if (info.event) {
      this.deliverEvent(info, payload);
      return;
    }
    const context = info.codec.readContext(payload);
    const p = context === undefined ? undefined : this.pending.get(context);
    if (p === undefined || context === undefined) {
      this.logger.debug(
        { message: info.name, context },
        'reply for no request in flight (timed out?); dropped',
      );
      return;
    }
    if (id === p.detailsId) {
      this.collect(p, payload);
    } else if (id === p.endId) {
      this.settle(context, p, payload);
    } else {
      this.logger.warn(
        { message: info.name, request: p.request },
        'unexpected message for a request in flight; dropped',
      );
    }
  }

  private collect(p: Pending, payload: Buffer): void {
    try {
      p.details!.push(p.detailsCodec!.decode(payload));
    } catch (err) {
      // A dump missing an entry is worse than a failed one: retrieve would take the entry for
      // gone and make it again. The dump fails (once it ends, so the stream stays in step).
      p.undecodable ??= err as Error;
      return;
    }
    // A long dump is alive as long as details keep coming.
    p.timer.refresh();
  }

  private settle(context: number, p: Pending, payload: Buffer): void {
    this.pending.delete(context);
    clearTimeout(p.timer);
    let msg: VppFields;
    try {
      msg = p.endCodec.decode(payload);
    } catch (err) {
      p.reject(err as Error);
      return;
    }
    const retval = msg['retval'];
    if (p.undecodable !== undefined) p.reject(p.undecodable);
    else if (typeof retval === 'number' && retval < 0) p.reject(new VppApiError(p.request, retval));
    else p.resolve((p.details ?? msg) as VppFields & VppFields[]);
  }

  private deliverEvent(info: Inbound, payload: Buffer): void {
    let msg: VppFields;
    try {
      msg = info.codec.decode(payload);
    } catch (err) {
      this.logger.warn({ err, message: info.name }, 'undecodable event; dropped');
      return;
    }
    this.onEvent?.(info.name, msg);
  }

  /** What an inbound id is, by the server's table and our definitions; null when unknown. */
  private describe(id: number): Inbound | null {
    let info = this.inbound.get(id);
    if (info !== undefined) return info;
    info = null;
    const nameCrc = this.table.nameCrc(id);
    const def = nameCrc === undefined ? undefined : this.codec.definitions.messages.get(stripCrc(nameCrc));
    if (def !== undefined && def.nameCrc === nameCrc) {
      const codec = this.codec.message(def.name);
      info = { name: def.name, codec, event: !codec.hasContext || this.isEventName(def.name) };
    }
    this.inbound.set(id, info);
    return info;
  }

  private isEventName(name: string): boolean {
    for (const svc of this.codec.definitions.services.values()) if (svc.events.includes(name)) return true;
    return false;
  }

  private expire(context: number): void {
    const p = this.pending.get(context);
    if (p === undefined) return;
    this.pending.delete(context);
    p.reject(new VppTimeoutError(p.request, p.timeoutMs));
  }

  private teardown(cause: Error | undefined): void {
    if (this.ended !== null) return;
    this.ended = cause;
    this.socket.destroy();
    const err = cause ?? new VppDisconnectedError('session closed');
    for (const [context, p] of this.pending) {
      this.pending.delete(context);
      clearTimeout(p.timer);
      p.reject(
        err instanceof VppDisconnectedError
          ? err
          : new VppDisconnectedError(`${p.request}: ${err.message}`, { cause: err }),
      );
    }
    this.markClosed(cause);
  }
}

function connectSocket(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new VppDisconnectedError(`connect to ${path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new VppDisconnectedError(`connect to ${path}: ${err.message}`, { cause: err }));
    });
  });
}

interface HandshakeResult {
  readonly clientIndex: number;
  readonly table: TableEntry[];
  /** Bytes that followed the reply in the same read (normally none). */
  readonly rest: Buffer;
}

function handshake(socket: Socket, opts: SessionOptions): Promise<HandshakeResult> {
  const context = 0x6e6c; // any value: echoed back
  const create = opts.codec.message('sockclnt_create');
  const reply = opts.codec.message('sockclnt_create_reply');
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new VppProtocolError(`no sockclnt_create_reply within ${opts.connectTimeoutMs} ms`)),
      opts.connectTimeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (received.length < FRAME_HEADER_SIZE) return;
      const len = received.readUInt32BE(8);
      if (received.length < FRAME_HEADER_SIZE + len) return;
      cleanup();
      try {
        resolve(
          parseHandshake(
            reply,
            received.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + len),
            received.subarray(FRAME_HEADER_SIZE + len),
          ),
        );
      } catch (err) {
        reject(toError(err));
      }
    };
    const onClose = (): void => fail(new VppDisconnectedError('VPP closed the socket during the handshake'));
    const onError = (err: Error): void =>
      fail(new VppDisconnectedError(`handshake: ${err.message}`, { cause: err }));
    function cleanup(): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    }
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
    socket.write(
      sealFrame(
        create.encode({ name: opts.clientName }, { msgId: SOCKCLNT_CREATE_ID, context }, FRAME_HEADER_SIZE),
      ),
    );
  });
}

function parseHandshake(reply: MessageCodec, payload: Buffer, rest: Buffer): HandshakeResult {
  const id = payload.length >= 2 ? payload.readUInt16BE(0) : -1;
  if (id !== SOCKCLNT_CREATE_REPLY_ID)
    throw new VppProtocolError(`handshake: expected message id 16, got ${id}`);
  const msg = reply.decode(payload);
  if (msg['response'] !== 0)
    throw new VppProtocolError(`sockclnt_create refused: response ${msg['response'] as number}`);
  const table = (msg['message_table'] as VppFields[]).map((e) => ({
    index: e['index'] as number,
    name: e['name'] as string,
  }));
  return { clientIndex: msg['index'] as number, table: table, rest: Buffer.from(rest) };
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
