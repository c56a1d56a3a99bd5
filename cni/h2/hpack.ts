// HPACK (RFC 7541) for the shim's HTTP/2 client. Encoding is the trivial half: requests are
// sent as indexed fields or literals without indexing and without Huffman, so the server's
// decoder never has to keep a table for us. Decoding is the whole of the RFC, because the
// server (nghttp2 under grpc-js) is free to use all of it: the static table, a dynamic table
// with size updates and eviction, and Huffman-coded strings.
import { NetloomError } from '../../lib/errors.ts';
import { HUFFMAN_CODE_LENGTHS } from './huffman-lengths.ts';

/** A header block that does not decode; HTTP/2 makes it a connection error (COMPRESSION_ERROR). */
export class HpackError extends NetloomError {}

export type HeaderField = readonly [name: string, value: string];

// RFC 7541 Appendix A.
// prettier-ignore
const STATIC_TABLE: readonly HeaderField[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'],
  [':path', '/index.html'], [':scheme', 'http'], [':scheme', 'https'], [':status', '200'],
  [':status', '204'], [':status', '206'], [':status', '304'], [':status', '400'],
  [':status', '404'], [':status', '500'], ['accept-charset', ''], ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''], ['accept-ranges', ''], ['accept', ''], ['access-control-allow-origin', ''],
  ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''],
  ['date', ''], ['etag', ''], ['expect', ''], ['expires', ''],
  ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''],
  ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''],
  ['retry-after', ''], ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''],
  ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

/** The decoder side of HTTP/2's SETTINGS_HEADER_TABLE_SIZE default. */
export const DEFAULT_TABLE_SIZE = 4096;

// Strings are kept as latin1 so that one character is one octet: header octets pass through
// unchanged and entry sizes (RFC 7541 §4.1) are string lengths.
const ENTRY_OVERHEAD = 32;

/**
 * The canonical Huffman decoder, built from the code lengths: for each length, the first code
 * of that length, how many codes have it, and where its symbols start in the (length, symbol)
 * order. A code of length L is valid when `code - first[L] < count[L]`.
 */
interface HuffmanTable {
  first: number[];
  count: number[];
  start: number[];
  symbols: number[];
  maxLength: number;
}

let huffman: HuffmanTable | undefined;

function huffmanTable(): HuffmanTable {
  if (huffman) return huffman;
  const maxLength = Math.max(...HUFFMAN_CODE_LENGTHS);
  const symbols = HUFFMAN_CODE_LENGTHS.map((_, s) => s).sort(
    (a, b) => HUFFMAN_CODE_LENGTHS[a]! - HUFFMAN_CODE_LENGTHS[b]! || a - b,
  );
  const count = new Array<number>(maxLength + 1).fill(0);
  for (const len of HUFFMAN_CODE_LENGTHS) count[len]!++;
  const first = new Array<number>(maxLength + 1).fill(0);
  const start = new Array<number>(maxLength + 1).fill(0);
  let code = 0;
  let index = 0;
  for (let len = 1; len <= maxLength; len++) {
    code = (code + count[len - 1]!) * 2;
    first[len] = code;
    start[len] = index;
    index += count[len]!;
  }
  huffman = { first, count, start, symbols, maxLength };
  return huffman;
}

const EOS = 256;

/** Decodes a Huffman-coded string literal (RFC 7541 §5.2) to latin1. */
export function huffmanDecode(bytes: Uint8Array): string {
  const t = huffmanTable();
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const offset = code - t.first[len]!;
      if (offset < t.count[len]!) {
        const symbol = t.symbols[t.start[len]! + offset]!;
        if (symbol === EOS) throw new HpackError('Huffman string contains EOS');
        out.push(symbol);
        code = 0;
        len = 0;
      } else if (len >= t.maxLength) {
        throw new HpackError('invalid Huffman code');
      }
    }
  }
  // What is left must be padding: fewer than 8 bits, all ones (a prefix of EOS).
  if (len > 7 || code !== 2 ** len - 1) throw new HpackError('invalid Huffman padding');
  return String.fromCharCode(...out);
}

/** Reads HPACK integers and strings from one header block. */
class BlockReader {
  private pos = 0;
  private readonly block: Uint8Array;

  constructor(block: Uint8Array) {
    this.block = block;
  }

  get done(): boolean {
    return this.pos >= this.block.length;
  }

  peek(): number {
    return this.block[this.pos]!;
  }

  /** An integer with an N-bit prefix (RFC 7541 §5.1); the prefix's upper bits are flags. */
  integer(prefixBits: number): number {
    if (this.done) throw new HpackError('header block ends inside an integer');
    const max = (1 << prefixBits) - 1;
    let value = this.block[this.pos++]! & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.done) throw new HpackError('header block ends inside an integer');
      const b = this.block[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (value > 0x7fffffff) throw new HpackError('integer too large');
      if ((b & 0x80) === 0) return value;
    }
  }

  /** A string literal (RFC 7541 §5.2), Huffman-coded or raw. */
  string(): string {
    if (this.done) throw new HpackError('header block ends before a string');
    const huffmanCoded = (this.peek() & 0x80) !== 0;
    const length = this.integer(7);
    if (this.pos + length > this.block.length) throw new HpackError('string runs past the header block');
    const bytes = this.block.subarray(this.pos, this.pos + length);
    this.pos += length;
    return huffmanCoded ? huffmanDecode(bytes) : Buffer.from(bytes).toString('latin1');
  }
}

/** One connection's decoder: its dynamic table lives as long as the connection. */
export class HpackDecoder {
  private readonly dynamic: HeaderField[] = []; // newest first
  private size = 0;
  private maxSize: number;
  private readonly limit: number;

  /** `limit` is the SETTINGS_HEADER_TABLE_SIZE this endpoint announced. */
  constructor(limit = DEFAULT_TABLE_SIZE) {
    this.limit = limit;
    this.maxSize = limit;
  }

  /** The dynamic table, newest entry first, and its size (for tests and diagnostics). */
  table(): { entries: HeaderField[]; size: number; maxSize: number } {
    return { entries: [...this.dynamic], size: this.size, maxSize: this.maxSize };
  }

  /** Decodes one complete header block into its fields, in order. */
  decode(block: Uint8Array): HeaderField[] {
    const r = new BlockReader(block);
    const fields: HeaderField[] = [];
    while (!r.done) {
      const b = r.peek();
      if (b & 0x80) {
        fields.push(this.entry(r.integer(7))); // indexed field (§6.1)
      } else if (b & 0x40) {
        const field = this.literal(r, 6); // literal with incremental indexing (§6.2.1)
        this.insert(field);
        fields.push(field);
      } else if (b & 0x20) {
        // dynamic table size update (§6.3): only before the block's first field (§4.2)
        if (fields.length > 0) throw new HpackError('table size update after a header field');
        const size = r.integer(5);
        if (size > this.limit) throw new HpackError(`table size ${size} above the announced ${this.limit}`);
        this.maxSize = size;
        this.evict(0);
      } else {
        fields.push(this.literal(r, 4)); // literal without (0000) or never (0001) indexing
      }
    }
    return fields;
  }

  private entry(index: number): HeaderField {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const field = this.dynamic[index - STATIC_TABLE.length - 1];
    if (!field) throw new HpackError(`index ${index} beyond the tables`);
    return field;
  }

  private literal(r: BlockReader, prefixBits: number): HeaderField {
    const index = r.integer(prefixBits);
    const name = index === 0 ? r.string() : this.entry(index)[0];
    return [name, r.string()];
  }

  private insert(field: HeaderField): void {
    const size = field[0].length + field[1].length + ENTRY_OVERHEAD;
    // An entry larger than the table empties it and is not added (§4.4).
    this.evict(size);
    if (size > this.maxSize) return;
    this.dynamic.unshift(field);
    this.size += size;
  }

  /** Drops the oldest entries until `room` more bytes fit. */
  private evict(room: number): void {
    while (this.dynamic.length > 0 && this.size + room > this.maxSize) {
      const [name, value] = this.dynamic.pop()!;
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
    }
  }
}

function encodeInteger(out: number[], value: number, prefixBits: number, flags: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  value -= max;
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

function encodeString(out: number[], text: string): void {
  const bytes = Buffer.from(text, 'latin1');
  encodeInteger(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

/**
 * Encodes a request's header list: a field the static table holds whole is indexed, every
 * other field is a literal without indexing (by the static table's name when it has one), and
 * no string is Huffman-coded. The server's table never changes on our account.
 */
export function encodeHeaders(fields: readonly HeaderField[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const whole = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
    if (whole >= 0) {
      encodeInteger(out, whole + 1, 7, 0x80);
      continue;
    }
    const named = STATIC_TABLE.findIndex(([n]) => n === name);
    encodeInteger(out, named + 1, 4, 0x00); // 0 (a new name) when the table lacks it
    if (named < 0) encodeString(out, name);
    encodeString(out, value);
  }
  return Buffer.from(out);
}
