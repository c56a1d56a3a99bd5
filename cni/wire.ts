// A small proto3 wire codec for the shim's few messages, driven by the descriptor JSON that
// protobufjs produces from proto/cni.proto (inlined into the bundle at build time). It exists so
// the shim needs neither protobufjs nor grpc-js at run time: loading those cost more than the
// rest of an ADD. Scalars as the proto3 JSON types the rest of netloom uses; decoding fills
// defaults ('' / 0 / false / [] / null) like proto-loader's `defaults: true`.

export interface FieldDescriptor {
  type: string;
  id: number;
  rule?: 'repeated';
}
export interface MessageDescriptor {
  fields: Record<string, FieldDescriptor>;
}
export type Descriptors = Record<string, MessageDescriptor>;
export type Message = Record<string, unknown>;

export class WireError extends Error {}

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;
const SCALARS = new Set(['string', 'bool', 'uint32', 'int32', 'uint64', 'int64']);

class Writer {
  private parts: Buffer[] = [];
  private bytes: number[] = [];

  varint(value: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  raw(buf: Buffer): void {
    this.flush();
    this.parts.push(buf);
  }

  private flush(): void {
    if (this.bytes.length) this.parts.push(Buffer.from(this.bytes));
    this.bytes = [];
  }

  finish(): Buffer {
    this.flush();
    return Buffer.concat(this.parts);
  }
}

function writeField(w: Writer, field: FieldDescriptor, value: unknown, types: Descriptors): void {
  if (value === undefined || value === null) return;
  switch (field.type) {
    case 'string': {
      if (typeof value !== 'string') throw new WireError(`field ${field.id}: expected a string`);
      if (value === '' && field.rule !== 'repeated') return;
      const b = Buffer.from(value, 'utf8');
      w.varint((field.id << 3) | LEN);
      w.varint(b.length);
      w.raw(b);
      return;
    }
    case 'bool':
      if (value === false && field.rule !== 'repeated') return;
      w.varint((field.id << 3) | VARINT);
      w.varint(value === true ? 1 : 0);
      return;
    case 'uint32':
    case 'int32':
    case 'uint64':
    case 'int64': {
      const n = typeof value === 'string' ? BigInt(value) : BigInt(Number(value));
      if (n === 0n && field.rule !== 'repeated') return;
      w.varint((field.id << 3) | VARINT);
      w.varint(n);
      return;
    }
    default: {
      const inner = encodeMessage(types, field.type, value as Message);
      w.varint((field.id << 3) | LEN);
      w.varint(inner.length);
      w.raw(inner);
    }
  }
}

export function encodeMessage(types: Descriptors, name: string, msg: Message): Buffer {
  const desc = types[name];
  if (!desc) throw new WireError(`unknown message ${name}`);
  const w = new Writer();
  for (const [fname, field] of Object.entries(desc.fields).sort(([, a], [, b]) => a.id - b.id)) {
    const value = msg[fname];
    if (field.rule === 'repeated') {
      if (value === undefined || value === null) continue;
      if (!Array.isArray(value)) throw new WireError(`${name}.${fname}: expected a list`);
      for (const item of value) writeField(w, field, item, types);
    } else writeField(w, field, value, types);
  }
  return w.finish();
}

class Reader {
  pos = 0;
  readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new WireError('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new WireError('varint too long');
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new WireError('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.bytes(8);
    else if (wireType === LEN) this.bytes(Number(this.varint()));
    else if (wireType === FIXED32) this.bytes(4);
    else throw new WireError(`unsupported wire type ${wireType}`);
  }
}

function defaults(types: Descriptors, desc: MessageDescriptor): Message {
  const out: Message = {};
  for (const [fname, f] of Object.entries(desc.fields)) {
    if (f.rule === 'repeated') out[fname] = [];
    else if (f.type === 'string') out[fname] = '';
    else if (f.type === 'bool') out[fname] = false;
    else if (f.type === 'uint64' || f.type === 'int64') out[fname] = '0';
    else if (SCALARS.has(f.type)) out[fname] = 0;
    else if (types[f.type]) out[fname] = null;
  }
  return out;
}

function readScalar(r: Reader, type: string, wireType: number, types: Descriptors): unknown {
  if (type === 'string') {
    if (wireType !== LEN) throw new WireError('string with a non-length wire type');
    return r.bytes(Number(r.varint())).toString('utf8');
  }
  if (SCALARS.has(type)) {
    if (wireType !== VARINT) throw new WireError(`${type} with wire type ${wireType}`);
    const v = r.varint();
    if (type === 'bool') return v !== 0n;
    if (type === 'int32') return Number(BigInt.asIntN(32, v));
    if (type === 'uint32') return Number(BigInt.asUintN(32, v));
    return (type === 'int64' ? BigInt.asIntN(64, v) : v).toString();
  }
  if (wireType !== LEN) throw new WireError(`message ${type} with a non-length wire type`);
  return decodeMessage(types, type, r.bytes(Number(r.varint())));
}

export function decodeMessage(types: Descriptors, name: string, buf: Buffer): Message {
  const desc = types[name];
  if (!desc) throw new WireError(`unknown message ${name}`);
  const byId = new Map(Object.entries(desc.fields).map(([n, f]) => [f.id, [n, f] as const]));
  const out = defaults(types, desc);
  const r = new Reader(buf);
  while (r.pos < buf.length) {
    const key = Number(r.varint());
    const [id, wireType] = [key >>> 3, key & 7];
    const entry = byId.get(id);
    if (!entry) {
      r.skip(wireType);
      continue;
    }
    const [fname, f] = entry;
    const value = readScalar(r, f.type, wireType, types);
    if (f.rule === 'repeated') (out[fname] as unknown[]).push(value);
    else out[fname] = value;
  }
  return out;
}
