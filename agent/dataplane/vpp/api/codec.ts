// The codec of the binary API, compiled at run time from the .api.json definitions: each
// message's layout becomes a tree of field codecs, built on first use and cached. Nothing is
// generated ahead of time, so the definitions of the running VPP (its api directory, or its
// get_api_json reply) are the only input.
import type { ApiDefinitions, FieldDef, MessageDef } from './definitions.ts';
import { VppDecodeError, VppDefinitionError, VppEncodeError } from './errors.ts';
import {
  BoolCodec,
  F64Codec,
  FixedArrayCodec,
  FixedBytesCodec,
  FixedStringCodec,
  Int64Codec,
  IntCodec,
  VarArrayCodec,
  VarStringCodec,
  type Codec,
  type Reader,
  type VppFields,
} from './field-codecs.ts';
import { StructCodec, UnionCodec, type StructField } from './struct-codecs.ts';

/** What the client stamps on every message, over the caller's values for these fields. */
export interface MessageHeader {
  readonly msgId: number;
  readonly context?: number;
  readonly clientIndex?: number;
}

export class MessageCodec {
  readonly def: MessageDef;
  readonly struct: StructCodec;
  /** Byte offsets of the header fields this message has (requests: client_index and context). */
  private readonly contextOffset: number | undefined;
  private readonly clientIndexOffset: number | undefined;

  constructor(def: MessageDef, struct: StructCodec) {
    this.def = def;
    this.struct = struct;
    const first = struct.fields[0];
    if (first?.name !== '_vl_msg_id' || first.codec.minSize !== 2) {
      throw new VppDefinitionError(`message ${def.name} does not start with u16 _vl_msg_id`);
    }
    this.contextOffset = headerOffset(struct, 'context');
    // Only a request-shaped header has client_index right after the id; elsewhere (e.g.
    // control_ping_reply) a field of that name is payload.
    this.clientIndexOffset = headerOffset(struct, 'client_index') === 2 ? 2 : undefined;
  }

  get name(): string {
    return this.def.name;
  }

  /** True when the message carries a context (replies, details, requests; not events). */
  get hasContext(): boolean {
    return this.contextOffset !== undefined;
  }

  /** Encodes `fields` after `headroom` zero bytes (room for the socket frame header). */
  encode(fields: VppFields, header: MessageHeader, headroom = 0): Buffer {
    let buf: Buffer;
    try {
      buf = Buffer.alloc(headroom + this.struct.size(fields));
      this.struct.write({ buf, off: headroom }, fields);
    } catch (err) {
      throw err instanceof VppEncodeError ? err.within(this.def.name) : err;
    }
    buf.writeUInt16BE(header.msgId, headroom);
    if (this.contextOffset !== undefined && header.context !== undefined) {
      buf.writeUInt32BE(header.context >>> 0, headroom + this.contextOffset);
    }
    if (this.clientIndexOffset !== undefined && header.clientIndex !== undefined) {
      buf.writeUInt32BE(header.clientIndex >>> 0, headroom + this.clientIndexOffset);
    }
    return buf;
  }

  /**
   * Decodes one message: fewer bytes than the definition says is an error; more are ignored.
   * VPP sizes some messages by its internal structs rather than by their definition — a real
   * VPP's nat44_lb_static_mapping_details carries 5 bytes of padding per local — and VPP's own
   * handlers, like vpp_papi, read what the definition says and ignore the rest.
   */
  decode(buf: Buffer): VppFields {
    const r: Reader = { buf, off: 0, end: buf.length };
    try {
      return this.struct.read(r);
    } catch (err) {
      if (err instanceof VppDecodeError) throw err.within(this.def.name);
      // A bug of ours, not of the input; still surfaced as a decode error naming the message.
      throw new VppDecodeError(this.def.name, r.off, `internal: ${(err as Error).message}`);
    }
  }

  /** The context of an encoded message of this type, without decoding the rest. */
  readContext(buf: Buffer): number | undefined {
    const off = this.contextOffset;
    return off === undefined || buf.length < off + 4 ? undefined : buf.readUInt32BE(off);
  }
}

function headerOffset(struct: StructCodec, name: string): number | undefined {
  let off = 0;
  for (const f of struct.fields) {
    if (f.name === name) return f.codec.minSize === 4 && f.codec.fixed ? off : undefined;
    if (!f.codec.fixed) return undefined;
    off += f.codec.minSize;
  }
  return undefined;
}

const ENUM_INT = { 1: ['u8', 'i8'], 2: ['u16', 'i16'], 4: ['u32', 'i32'] } as const;

export class VppCodec {
  readonly definitions: ApiDefinitions;
  private readonly typeCache = new Map<string, Codec>();
  private readonly messageCache = new Map<string, MessageCodec>();

  constructor(definitions: ApiDefinitions) {
    this.definitions = definitions;
  }

  /** The compiled codec of a message (throws VppDefinitionError when it is not defined). */
  message(name: string): MessageCodec {
    let codec = this.messageCache.get(name);
    if (codec === undefined) {
      const def = this.definitions.message(name);
      codec = new MessageCodec(def, this.struct(def.name, def.fields));
      this.messageCache.set(name, codec);
    }
    return codec;
  }

  encode(name: string, fields: VppFields, header: MessageHeader, headroom = 0): Buffer {
    return this.message(name).encode(fields, header, headroom);
  }

  decode(name: string, buf: Buffer): VppFields {
    return this.message(name).decode(buf);
  }

  private struct(name: string, fields: readonly FieldDef[]): StructCodec {
    const compiled: StructField[] = [];
    const counts = new Map<string, { array: string; codec: VarArrayCodec }>();
    for (const f of fields) {
      const codec = this.field(name, f);
      compiled.push(
        f.default === undefined
          ? { name: f.name, codec }
          : { name: f.name, codec, default: normalizeDefault(f) },
      );
      if (f.countField !== undefined && codec instanceof VarArrayCodec) {
        if (!compiled.some((c) => c.name === f.countField)) {
          throw new VppDefinitionError(
            `${name}.${f.name}: count field ${f.countField} is not an earlier field`,
          );
        }
        counts.set(f.countField, { array: f.name, codec });
      }
    }
    return new StructCodec(name, compiled, counts);
  }

  private field(owner: string, f: FieldDef): Codec {
    if (f.length === undefined) return f.type === 'string' ? new VarStringCodec(f.limit) : this.type(f.type);
    if (f.length > 0) {
      if (f.type === 'u8') return new FixedBytesCodec(f.length);
      if (f.type === 'string') return new FixedStringCodec(f.length, f.limit);
      return new FixedArrayCodec(this.type(f.type), f.length);
    }
    if (f.type === 'string') return new VarStringCodec(f.limit);
    const element = f.type === 'u8' ? this.type('u8') : this.type(f.type);
    if (!element.fixed)
      throw new VppDefinitionError(`${owner}.${f.name}: variable-size elements are not supported`);
    return new VarArrayCodec(element, f.countField, f.type === 'u8');
  }

  private type(name: string): Codec {
    let codec = this.typeCache.get(name);
    if (codec === undefined) {
      codec = this.resolve(name);
      this.typeCache.set(name, codec);
    }
    return codec;
  }

  private resolve(name: string): Codec {
    switch (name) {
      case 'u8':
      case 'i8':
      case 'u16':
      case 'i16':
      case 'u32':
      case 'i32':
        return new IntCodec(name);
      case 'u64':
      case 'i64':
        return new Int64Codec(name === 'i64');
      case 'f64':
        return new F64Codec();
      case 'bool':
        return new BoolCodec();
    }
    const defs = this.definitions;
    const e = defs.enums.get(name);
    if (e !== undefined) return new IntCodec(ENUM_INT[e.size][e.signed ? 1 : 0], e.values);
    const alias = defs.aliases.get(name);
    if (alias !== undefined) {
      if (alias.length === undefined) return this.type(alias.type);
      return this.field(name, { name, type: alias.type, length: alias.length });
    }
    const t = defs.types.get(name);
    if (t !== undefined) return this.struct(t.name, t.fields);
    const u = defs.unions.get(name);
    if (u !== undefined) {
      const members = u.fields.map((f) => ({ name: f.name, codec: this.field(name, f) }));
      if (members.some((m) => !m.codec.fixed))
        throw new VppDefinitionError(`union ${name} has a variable member`);
      return new UnionCodec(name, members);
    }
    throw new VppDefinitionError(`unknown type ${name}`);
  }
}

/** vppapigen writes bool defaults as "true", true, 0 or even 4294967295. */
function normalizeDefault(f: FieldDef): unknown {
  const d = f.default;
  if (f.type !== 'bool') return d;
  if (d === 'true') return true;
  if (d === 'false') return false;
  return typeof d === 'number' ? d !== 0 : d;
}
