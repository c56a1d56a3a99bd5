// Structs and unions: the composite codecs. A struct applies client-side defaults (VPP never
// does), fills count fields from their arrays, refuses unknown field names (a typo would
// otherwise silently send zeros), and names the failing field in errors.
import { VppDecodeError, VppEncodeError } from './errors.ts';
import {
  describe,
  need,
  VarArrayCodec,
  type Codec,
  type Reader,
  type VppFields,
  type VppValue,
  type Writer,
} from './field-codecs.ts';

export interface StructField {
  readonly name: string;
  readonly codec: Codec;
  readonly default?: unknown;
}

const EMPTY: VppFields = Object.freeze({});

function isFields(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

export class StructCodec implements Codec {
  readonly name: string;
  readonly fields: readonly StructField[];
  readonly minSize: number;
  readonly fixed: boolean;
  private readonly names: ReadonlySet<string>;
  /** count field name → the array field it counts. */
  private readonly counts: ReadonlyMap<string, { array: string; codec: VarArrayCodec }>;

  constructor(
    name: string,
    fields: readonly StructField[],
    counts: ReadonlyMap<string, { array: string; codec: VarArrayCodec }>,
  ) {
    this.name = name;
    this.fields = fields;
    this.minSize = fields.reduce((n, f) => n + f.codec.minSize, 0);
    this.fixed = fields.every((f) => f.codec.fixed);
    this.names = new Set(fields.map((f) => f.name));
    this.counts = counts;
  }

  size(value: unknown): number {
    if (this.fixed) return this.minSize;
    const v = isFields(value) ? value : EMPTY;
    let n = this.minSize;
    for (const f of this.fields) {
      if (f.codec.fixed) continue;
      try {
        n += f.codec.size(v[f.name] ?? f.default) - f.codec.minSize;
      } catch (err) {
        throw err instanceof VppEncodeError ? err.within(f.name) : err;
      }
    }
    return n;
  }

  write(w: Writer, value: unknown): void {
    // An absent struct still gets its defaults, as vpp_papi does.
    const v = value === undefined ? EMPTY : value;
    if (!isFields(v)) throw new VppEncodeError('', `expected fields of ${this.name}, got ${typeof v}`);
    for (const key in v) {
      if (!this.names.has(key) && v[key] !== undefined)
        throw new VppEncodeError(key, `no such field in ${this.name}`);
    }
    for (const f of this.fields) {
      try {
        const count = this.counts.get(f.name);
        const fv = count === undefined ? (v[f.name] ?? f.default) : this.count(v, f.name, count);
        f.codec.write(w, fv);
      } catch (err) {
        throw err instanceof VppEncodeError ? err.within(f.name) : err;
      }
    }
  }

  read(r: Reader): VppFields {
    need(r, this.minSize, this.name);
    const out: Record<string, VppValue> = {};
    for (const f of this.fields) {
      try {
        out[f.name] = f.codec.read(r, out);
      } catch (err) {
        throw err instanceof VppDecodeError ? err.within(f.name) : err;
      }
    }
    return out;
  }

  private count(
    v: Record<string, unknown>,
    name: string,
    count: { array: string; codec: VarArrayCodec },
  ): number {
    const n = count.codec.length(v[count.array]);
    const given = v[name];
    if (given !== undefined && given !== n) {
      throw new VppEncodeError(
        '',
        `count ${describe(given)} does not match the ${n} elements of ${count.array}`,
      );
    }
    return n;
  }
}

/**
 * A union is as large as its largest member, zero-padded. Decoding yields every member read
 * from the same bytes (the wire does not say which is meant). Encoding takes the one member
 * given, or the largest of several: re-encoding a decoded union is then lossless.
 */
export class UnionCodec implements Codec {
  readonly name: string;
  readonly minSize: number;
  readonly fixed = true;
  private readonly members: readonly StructField[];

  constructor(name: string, members: readonly StructField[]) {
    this.name = name;
    this.members = members;
    this.minSize = Math.max(0, ...members.map((m) => m.codec.minSize));
  }

  size(): number {
    return this.minSize;
  }

  write(w: Writer, value: unknown): void {
    const start = w.off;
    if (value !== undefined) {
      if (!isFields(value)) throw new VppEncodeError('', `expected one member of union ${this.name}`);
      let chosen: StructField | undefined;
      for (const key in value) {
        if (value[key] === undefined) continue;
        const m = this.members.find((x) => x.name === key);
        if (m === undefined) throw new VppEncodeError(key, `no such member in union ${this.name}`);
        if (chosen === undefined || m.codec.minSize > chosen.codec.minSize) chosen = m;
      }
      if (chosen !== undefined) {
        try {
          chosen.codec.write(w, value[chosen.name]);
        } catch (err) {
          throw err instanceof VppEncodeError ? err.within(chosen.name) : err;
        }
      }
    }
    w.off = start + this.minSize;
  }

  read(r: Reader): VppFields {
    need(r, this.minSize, this.name);
    const start = r.off;
    const out: Record<string, VppValue> = {};
    for (const m of this.members) {
      r.off = start;
      out[m.name] = m.codec.read(r, out);
    }
    r.off = start + this.minSize;
    return out;
  }
}
