// A fake VPP API server for tests: the real socket protocol (framing, sockclnt_create with the
// message table, client_index checks, contexts echoed, dumps closed by the client's
// control_ping), a table built from the same .api.json definitions, and enough state for a
// driver's create/retrieve cycle. Faults on demand: replies out of order, a hung VPP (pause),
// a crash after N replies, CRC mismatches and missing plugins (see message-ids.ts).
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { silentLogger, type Logger } from '../../../../lib/logging.ts';
import { BOOTSTRAP_MODULE, SOCKCLNT_CREATE_ID } from '../api/bootstrap.ts';
import { VppCodec } from '../api/codec.ts';
import type { ApiDefinitions, MessageDef } from '../api/definitions.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { FRAME_HEADER_SIZE, FrameReader, sealFrame } from '../api/framing.ts';
import { VNET, type Handler, type HandlerContext, type HandlerResult } from './handler.ts';
import { afPacketHandlers } from './handlers-af-packet.ts';
import { cnatHandlers } from './handlers-cnat.ts';
import { interfaceHandlers } from './handlers-interface.ts';
import { ipHandlers } from './handlers-ip.ts';
import { loopbackHandlers } from './handlers-loopback.ts';
import { aclHandlers, natHandlers } from './handlers-nat-acl.ts';
import { buildTable, type FakeTable, type TableOptions } from './message-ids.ts';
import { FakeVppState } from './state.ts';

export interface FakeVppOptions extends TableOptions {
  readonly socketPath: string;
  readonly definitions: ApiDefinitions;
  /** Pass the previous server's state to survive a restart; a fresh VPP starts empty. */
  readonly state?: FakeVppState;
  /** Send the replies produced by one read in reverse order of their contexts. */
  readonly reorder?: boolean;
  /** What get_api_json answers (a JSON array of module documents). */
  readonly apiJson?: string;
  readonly logger?: Logger;
}

const HANDLERS: Record<string, Handler> = {
  ...interfaceHandlers,
  ...afPacketHandlers,
  ...loopbackHandlers,
  ...ipHandlers,
  ...natHandlers,
  ...aclHandlers,
  ...cnatHandlers,
};

interface Conn {
  readonly socket: Socket;
  readonly reader: FrameReader;
  clientIndex: number | undefined;
  eventsPid: number | undefined;
}

interface Out {
  readonly context: number;
  readonly frame: Buffer;
}

export class FakeVppServer {
  readonly state: FakeVppState;
  readonly socketPath: string;
  readonly stats = { connections: 0, requests: 0, replies: 0, wrongClientIndex: 0, dropped: 0 };
  private readonly codec: VppCodec;
  private readonly table: FakeTable;
  private readonly options: FakeVppOptions;
  private readonly logger: Logger;
  private readonly server: Server;
  private readonly conns = new Set<Conn>();
  private paused: { conn: Conn; payload: Buffer }[] | undefined;
  private replyBudget: number | undefined;
  private nextClient = 0;

  static async start(options: FakeVppOptions): Promise<FakeVppServer> {
    await rm(options.socketPath, { force: true });
    const s = new FakeVppServer(options);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(options.socketPath, () => resolve());
    });
    return s;
  }

  private constructor(options: FakeVppOptions) {
    this.options = options;
    this.socketPath = options.socketPath;
    this.logger = options.logger ?? silentLogger();
    this.state = options.state ?? new FakeVppState();
    const defs = options.definitions.clone().addModule('bootstrap', BOOTSTRAP_MODULE);
    this.codec = new VppCodec(defs);
    this.table = buildTable(defs, options);
    this.server = createServer((socket) => this.accept(socket));
  }

  get clientCount(): number {
    return this.conns.size;
  }

  /** The id the fake gave a message (tests use it to craft frames). */
  messageId(name: string): number | undefined {
    return this.table.byName.get(name);
  }

  /** Stops answering (a hung VPP): requests are held until resume(). */
  pause(): void {
    this.paused ??= [];
  }

  resume(): void {
    const held = this.paused ?? [];
    this.paused = undefined;
    for (const { conn, payload } of held)
      if (!conn.socket.destroyed) this.write(conn, this.handle(conn, payload));
  }

  /** Sends `n` more replies, then drops every connection and stops listening (a crash). */
  crashAfterReplies(n: number): void {
    this.replyBudget = n;
  }

  /** Drops every client connection; the server keeps listening. */
  killConnections(): void {
    for (const c of this.conns) c.socket.destroy();
  }

  /** Sends sw_interface_event to every connection that asked for interface events. */
  emitInterfaceEvent(swIfIndex: number, deleted: boolean): void {
    const itf = this.state.interfaces.get(swIfIndex);
    for (const c of this.conns) {
      if (c.eventsPid === undefined || c.clientIndex === undefined) continue;
      const fields = {
        client_index: c.clientIndex,
        pid: c.eventsPid,
        sw_if_index: swIfIndex,
        flags: itf?.flags ?? 0,
        deleted,
      };
      const frame = this.encode('sw_interface_event', fields, 0);
      if (frame !== undefined) c.socket.write(frame);
    }
  }

  async stop(): Promise<void> {
    this.killConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.socketPath, { force: true });
  }

  private accept(socket: Socket): void {
    const conn: Conn = { socket, reader: new FrameReader(), clientIndex: undefined, eventsPid: undefined };
    this.conns.add(conn);
    this.stats.connections++;
    socket.on('close', () => this.conns.delete(conn));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      const out: Out[] = [];
      try {
        conn.reader.push(chunk, (payload) => {
          if (this.paused !== undefined) this.paused.push({ conn, payload: Buffer.from(payload) });
          else out.push(...this.handle(conn, payload));
        });
      } catch (err) {
        this.logger.warn({ err }, 'fake VPP: bad frame; closing');
        socket.destroy();
        return;
      }
      this.write(conn, out);
    });
  }

  private write(conn: Conn, out: Out[]): void {
    if (out.length === 0) return;
    let frames = this.options.reorder === true ? reorder(out) : out.map((o) => o.frame);
    let crash = false;
    if (this.replyBudget !== undefined) {
      crash = frames.length >= this.replyBudget;
      frames = frames.slice(0, this.replyBudget);
      this.replyBudget -= frames.length;
    }
    this.stats.replies += frames.length;
    if (frames.length > 0) conn.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
    if (crash) {
      this.replyBudget = undefined;
      // Let the partial batch reach the client before the connection dies.
      setImmediate(() => {
        this.server.close();
        this.killConnections();
      });
    }
  }

  private handle(conn: Conn, payload: Buffer): Out[] {
    const id = payload.length >= 2 ? payload.readUInt16BE(0) : -1;
    const def = this.table.byId.get(id);
    if (def === undefined) {
      this.stats.dropped++;
      return [];
    }
    let msg: VppFields;
    try {
      msg = this.codec.decode(def.name, payload);
    } catch (err) {
      // VPP drops what it cannot read ("Truncated message"), without a reply.
      this.logger.debug({ err, message: def.name }, 'fake VPP: undecodable request dropped');
      this.stats.dropped++;
      return [];
    }
    this.stats.requests++;
    if (id === SOCKCLNT_CREATE_ID) return this.handshake(conn, msg);
    if (conn.clientIndex === undefined) return [];
    const result = this.run(def, msg, conn);
    // VPP closes the socket after answering sockclnt_delete.
    if (def.name === 'sockclnt_delete') setImmediate(() => conn.socket.end());
    // With a wrong client_index VPP runs the handler but its reply goes nowhere.
    if (msg['client_index'] !== undefined && msg['client_index'] !== conn.clientIndex) {
      this.stats.wrongClientIndex++;
      return [];
    }
    return this.replies(def, msg, result);
  }

  private handshake(conn: Conn, msg: VppFields): Out[] {
    conn.clientIndex = (0x80000000 | this.nextClient++) >>> 0;
    const reply = {
      client_index: 0,
      response: 0,
      index: conn.clientIndex,
      message_table: this.table.entries,
    };
    const frame = this.encode('sockclnt_create_reply', reply, msg['context'] as number);
    return frame === undefined ? [] : [{ context: msg['context'] as number, frame }];
  }

  private run(def: MessageDef, msg: VppFields, conn: Conn): HandlerResult {
    const handler = HANDLERS[def.name];
    const ctx: HandlerContext = {
      state: this.state,
      clientIndex: conn.clientIndex!,
      apiJson: this.options.apiJson,
      wantInterfaceEvents: (enable, pid) => {
        conn.eventsPid = enable ? pid : undefined;
      },
      interfaceEvent: (sw, deleted) => setImmediate(() => this.emitInterfaceEvent(sw, deleted)),
    };
    if (handler === undefined) return { reply: { retval: VNET.UNIMPLEMENTED } };
    try {
      return handler(msg, ctx);
    } catch (err) {
      this.logger.warn({ err, message: def.name }, 'fake VPP: handler failed');
      return { reply: { retval: VNET.UNSPECIFIED } };
    }
  }

  private replies(def: MessageDef, msg: VppFields, result: HandlerResult): Out[] {
    if ('noReply' in result) return [];
    const context = msg['context'] as number;
    const svc = this.codec.definitions.services.get(def.name);
    if ('details' in result) {
      const name = svc?.details ?? `${def.name.slice(0, -5)}_details`;
      return result.details.flatMap((d) => this.out(name, d, context, result.padding?.(d) ?? 0));
    }
    const name = svc?.reply ?? `${def.name}_reply`;
    const replyDef = this.codec.definitions.messages.get(name);
    if (replyDef === undefined) return [];
    const fields = replyDef.fields.some((f) => f.name === 'retval')
      ? result.reply
      : withoutRetval(result.reply);
    return this.out(name, fields, context);
  }

  private out(name: string, fields: VppFields, context: number, padding = 0): Out[] {
    const frame = this.encode(name, fields, context, padding);
    return frame === undefined ? [] : [{ context, frame }];
  }

  private encode(name: string, fields: VppFields, context: number, padding = 0): Buffer | undefined {
    const id = this.table.byName.get(name);
    if (id === undefined) return undefined;
    const buf = this.codec.encode(name, fields, { msgId: id, context }, FRAME_HEADER_SIZE);
    return sealFrame(padding === 0 ? buf : Buffer.concat([buf, Buffer.alloc(padding)]));
  }
}

function withoutRetval(fields: VppFields): VppFields {
  const { retval: _retval, ...rest } = fields;
  return rest;
}

/** Groups frames by context (order kept within a group) and reverses the groups. */
function reorder(out: Out[]): Buffer[] {
  const groups = new Map<number, Buffer[]>();
  for (const o of out) {
    const g = groups.get(o.context);
    if (g === undefined) groups.set(o.context, [o.frame]);
    else g.push(o.frame);
  }
  return [...groups.values()].reverse().flat();
}
