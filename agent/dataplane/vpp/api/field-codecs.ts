// Codecs for the building blocks of VPP's wire format: packed big-endian integers, enums at
// their declared size, bool, f64 (host order: little-endian), fixed and variable strings, byte
// arrays, fixed and counted arrays, unions and structs. Every container checks that its fixed
// part is present before its children read, so a leaf never reads past the end; variable parts
// check their own length. Errors are raised with an empty path and prefixed by each enclosing
// struct on the way out, so they name the full field path.
import { VppDecodeError, VppEncodeError } from './errors.ts';

export type VppValue = number | bigint | boolean | string | Uint8Array | readonly VppValue[] | VppFields;
export interface VppFields {
  readonly [field: string]: VppValue | undefined;
}

export interface Reader {
  readonly buf: Buffer;
  off: number;
  readonly end: number;
}

export interface Writer {
  readonly buf: Buffer;
  off: number;
}

/** Buffers are zero-filled before writing, so an absent value is written by skipping its bytes. */
export interface Codec {
  /** Bytes always present: the whole size for a fixed codec, the fixed prefix otherwise. */
  readonly minSize: number;
  readonly fixed: boolean;
  size(value: unknown): number;
  write(w: Writer, value: unknown): void;
  /** `scope` holds the enclosing struct's fields decoded so far (count fields live there). */
  read(r: Reader, scope: Record<string, unknown>): VppValue;
}

function encodeError(reason: string): VppEncodeError {
  return new VppEncodeError('', reason);
}

export function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : typeof value;
}

/** Throws when fewer than `need` bytes remain. */
export function need(r: Reader, bytes: number, what: string): void {
  if (r.off + bytes > r.end) {
    throw new VppDecodeError('', r.off, `truncated: ${what} needs ${bytes} bytes, ${r.end - r.off} left`);
  }
}

abstract class FixedCodec implements Codec {
  readonly fixed = true;
  abstract readonly minSize: number;
  size(): number {
    return this.minSize;
  }
  abstract write(w: Writer, value: unknown): void;
  abstract read(r: Reader, scope: Record<string, unknown>): VppValue;
}

type IntType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32';
const INT_RANGES: Record<IntType, [number, number, number]> = {
  u8: [1, 0, 0xff],
  i8: [1, -0x80, 0x7f],
  u16: [2, 0, 0xffff],
  i16: [2, -0x8000, 0x7fff],
  u32: [4, 0, 0xffffffff],
  i32: [4, -0x80000000, 0x7fffffff],
};

/** Integers up to 32 bits (and enums, which are integers at their enumtype size). */
export class IntCodec extends FixedCodec {
  readonly minSize: number;
  private readonly min: number;
  private readonly max: number;
  private readonly type: IntType;
  /** Enum symbols accepted on encode (flags may be given as a list of symbols). */
  private readonly symbols: ReadonlyMap<string, number> | undefined;

  constructor(type: IntType, symbols?: ReadonlyMap<string, number>) {
    super();
    const [size, min, max] = INT_RANGES[type];
    this.type = type;
    this.minSize = size;
    this.min = min;
    this.max = max;
    this.symbols = symbols;
  }

  write(w: Writer, value: unknown): void {
    if (value === undefined) {
      w.off += this.minSize;
      return;
    }
    const v = this.toNumber(value);
    const { buf, off } = w;
    switch (this.type) {
      case 'u8':
        buf[off] = v;
        break;
      case 'i8':
        buf.writeInt8(v, off);
        break;
      case 'u16':
        buf.writeUInt16BE(v, off);
        break;
      case 'i16':
        buf.writeInt16BE(v, off);
        break;
      case 'u32':
        buf.writeUInt32BE(v, off);
        break;
      case 'i32':
        buf.writeInt32BE(v, off);
        break;
    }
    w.off = off + this.minSize;
  }

  read(r: Reader): number {
    const { buf, off } = r;
    r.off = off + this.minSize;
    switch (this.type) {
      case 'u8':
        return buf[off]!;
      case 'i8':
        return buf.readInt8(off);
      case 'u16':
        return buf.readUInt16BE(off);
      case 'i16':
        return buf.readInt16BE(off);
      case 'u32':
        return buf.readUInt32BE(off);
      case 'i32':
        return buf.readInt32BE(off);
    }
  }

  private toNumber(value: unknown): number {
    let v = value;
    if (this.symbols !== undefined) v = this.symbol(value);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < this.min || v > this.max) {
      throw encodeError(`${describe(value)} is not a ${this.type} (${this.min}..${this.max})`);
    }
    return v;
  }

  private symbol(value: unknown): unknown {
    const symbols = this.symbols!;
    const one = (s: unknown): unknown => (typeof s === 'string' ? (symbols.get(s) ?? s) : s);
    if (Array.isArray(value)) {
      return value.reduce<unknown>((acc, s) => {
        const n = one(s);
        if (typeof n !== 'number' || typeof acc !== 'number')
          throw encodeError(`unknown flag ${describe(s)}`);
        return (acc | n) >>> 0;
      }, 0);
    }
    const n = one(value);
    if (typeof n === 'string') throw encodeError(`unknown symbol ${describe(value)}`);
    return n;
  }
}

export class Int64Codec extends FixedCodec {
  readonly minSize = 8;
  private readonly signed: boolean;

  constructor(signed: boolean) {
    super();
    this.signed = signed;
  }

  write(w: Writer, value: unknown): void {
    if (value !== undefined) {
      let v: bigint;
      if (typeof value === 'bigint') v = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
      else throw encodeError(`${describe(value)} is not a ${this.signed ? 'i64' : 'u64'}`);
      const ok = this.signed ? v >= -(1n << 63n) && v < 1n << 63n : v >= 0n && v < 1n << 64n;
      if (!ok) throw encodeError(`${describe(value)} is out of range for ${this.signed ? 'i64' : 'u64'}`);
      if (this.signed) w.buf.writeBigInt64BE(v, w.off);
      else w.buf.writeBigUInt64BE(v, w.off);
    }
    w.off += 8;
  }

  read(r: Reader): bigint {
    const v = this.signed ? r.buf.readBigInt64BE(r.off) : r.buf.readBigUInt64BE(r.off);
    r.off += 8;
    return v;
  }
}

/** f64 is the one field VPP sends in host order (little-endian on x86 and arm64). */
export class F64Codec extends FixedCodec {
  readonly minSize = 8;
  write(w: Writer, value: unknown): void {
    if (value !== undefined) {
      if (typeof value !== 'number') throw encodeError(`${describe(value)} is not a f64`);
      w.buf.writeDoubleLE(value, w.off);
    }
    w.off += 8;
  }
  read(r: Reader): number {
    const v = r.buf.readDoubleLE(r.off);
    r.off += 8;
    return v;
  }
}

export class BoolCodec extends FixedCodec {
  readonly minSize = 1;
  write(w: Writer, value: unknown): void {
    if (value === true || value === 1) w.buf[w.off] = 1;
    else if (value !== undefined && value !== false && value !== 0) {
      throw encodeError(`${describe(value)} is not a bool`);
    }
    w.off += 1;
  }
  read(r: Reader): boolean {
    return r.buf[r.off++] !== 0;
  }
}

/** `string x[N]`: exactly N bytes, NUL-padded, at most N−1 bytes of text. */
export class FixedStringCodec extends FixedCodec {
  readonly minSize: number;
  private readonly limit: number;

  constructor(length: number, limit?: number) {
    super();
    this.minSize = length;
    this.limit = Math.min(limit ?? length, length);
  }

  write(w: Writer, value: unknown): void {
    if (value !== undefined && value !== '') {
      if (typeof value !== 'string') throw encodeError(`${describe(value)} is not a string`);
      const n = Buffer.byteLength(value);
      if (n > this.limit - 1)
        throw encodeError(`string of ${n} bytes exceeds ${this.limit - 1} (string[${this.minSize}])`);
      w.buf.write(value, w.off, 'utf8');
    }
    w.off += this.minSize;
  }

  read(r: Reader): string {
    const { buf, off } = r;
    const stop = off + this.minSize;
    const nul = buf.indexOf(0, off);
    r.off = stop;
    return buf.toString('utf8', off, nul === -1 || nul > stop ? stop : nul);
  }
}

/** `string x[]`: a u32 length, then that many bytes, no NUL. */
export class VarStringCodec implements Codec {
  readonly minSize = 4;
  readonly fixed = false;
  private readonly limit: number | undefined;

  constructor(limit?: number) {
    this.limit = limit;
  }

  size(value: unknown): number {
    return typeof value === 'string' ? 4 + Buffer.byteLength(value) : 4;
  }

  write(w: Writer, value: unknown): void {
    if (value === undefined || value === '') {
      w.off += 4;
      return;
    }
    if (typeof value !== 'string') throw encodeError(`${describe(value)} is not a string`);
    const n = w.buf.write(value, w.off + 4, 'utf8');
    if (this.limit !== undefined && n > this.limit - 1)
      throw encodeError(`string of ${n} bytes exceeds limit ${this.limit - 1}`);
    w.buf.writeUInt32BE(n, w.off);
    w.off += 4 + n;
  }

  read(r: Reader): string {
    const n = r.buf.readUInt32BE(r.off);
    r.off += 4;
    need(r, n, `string of length ${n}`);
    const s = r.buf.toString('utf8', r.off, r.off + n);
    r.off += n;
    return s;
  }
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    return Uint8Array.from(value as number[]);
  }
  throw encodeError(`${describe(value)} is not bytes (Uint8Array or byte list)`);
}

/** `u8 x[N]`: bytes; shorter input is zero-padded (as vpp_papi does), longer is an error. */
export class FixedBytesCodec extends FixedCodec {
  readonly minSize: number;
  constructor(length: number) {
    super();
    this.minSize = length;
  }
  write(w: Writer, value: unknown): void {
    if (value !== undefined) {
      const bytes = toBytes(value);
      if (bytes.length > this.minSize) throw encodeError(`${bytes.length} bytes exceed u8[${this.minSize}]`);
      w.buf.set(bytes, w.off);
    }
    w.off += this.minSize;
  }
  read(r: Reader): Uint8Array {
    const out = r.buf.subarray(r.off, r.off + this.minSize);
    r.off += this.minSize;
    return new Uint8Array(out);
  }
}

/** `T x[N]` for T other than u8 and string: a list of at most N elements, the rest zero. */
export class FixedArrayCodec extends FixedCodec {
  readonly minSize: number;
  private readonly element: Codec;
  private readonly length: number;

  constructor(element: Codec, length: number) {
    super();
    this.element = element;
    this.length = length;
    this.minSize = element.minSize * length;
  }

  write(w: Writer, value: unknown): void {
    const end = w.off + this.minSize;
    if (value !== undefined) {
      if (!Array.isArray(value)) throw encodeError(`${describe(value)} is not a list`);
      if (value.length > this.length) throw encodeError(`${value.length} elements exceed [${this.length}]`);
      value.forEach((v, i) => {
        try {
          this.element.write(w, v);
        } catch (err) {
          throw err instanceof VppEncodeError ? err.within(`[${i}]`) : err;
        }
      });
    }
    w.off = end;
  }

  read(r: Reader, scope: Record<string, unknown>): VppValue[] {
    const out: VppValue[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.element.read(r, scope));
    return out;
  }
}

/**
 * `T x[count]`: as many elements as the sibling count field says. On encode the struct sets
 * the count from the list; here only the elements are written. `count` undefined means the
 * legacy form without a count field: the elements run to the end of the message.
 */
export class VarArrayCodec implements Codec {
  readonly minSize = 0;
  readonly fixed = false;
  private readonly element: Codec;
  private readonly countField: string | undefined;
  private readonly bytes: boolean;

  constructor(element: Codec, countField: string | undefined, bytes: boolean) {
    this.element = element;
    this.countField = countField;
    this.bytes = bytes;
  }

  length(value: unknown): number {
    if (value === undefined) return 0;
    if (this.bytes) return toBytes(value).length;
    if (!Array.isArray(value)) throw encodeError(`${describe(value)} is not a list`);
    return value.length;
  }

  size(value: unknown): number {
    if (value === undefined) return 0;
    if (this.bytes) return toBytes(value).length;
    if (!Array.isArray(value)) throw encodeError(`${describe(value)} is not a list`);
    if (this.element.fixed) return value.length * this.element.minSize;
    return value.reduce<number>((n, v) => n + this.element.size(v), 0);
  }

  write(w: Writer, value: unknown): void {
    if (value === undefined) return;
    if (this.bytes) {
      const bytes = toBytes(value);
      w.buf.set(bytes, w.off);
      w.off += bytes.length;
      return;
    }
    (value as unknown[]).forEach((v, i) => {
      try {
        this.element.write(w, v);
      } catch (err) {
        throw err instanceof VppEncodeError ? err.within(`[${i}]`) : err;
      }
    });
  }

  read(r: Reader, scope: Record<string, unknown>): VppValue {
    const left = r.end - r.off;
    const unit = Math.max(this.element.minSize, 1);
    let count: number;
    if (this.countField === undefined) {
      if (left % unit !== 0)
        throw new VppDecodeError(
          '',
          r.off,
          `${left} trailing bytes are not a whole number of ${unit}-byte elements`,
        );
      count = left / unit;
    } else {
      const c = scope[this.countField];
      count = typeof c === 'number' ? c : Number(c);
    }
    // Checked before allocating: a garbage count must not become a huge allocation.
    need(r, count * this.element.minSize, `${count} elements (count field ${this.countField ?? 'implicit'})`);
    if (this.bytes) {
      const out = new Uint8Array(r.buf.subarray(r.off, r.off + count));
      r.off += count;
      return out;
    }
    const out: VppValue[] = new Array<VppValue>(count);
    for (let i = 0; i < count; i++) {
      try {
        out[i] = this.element.read(r, scope);
      } catch (err) {
        throw err instanceof VppDecodeError ? err.within(`[${i}]`) : err;
      }
    }
    return out;
  }
}
