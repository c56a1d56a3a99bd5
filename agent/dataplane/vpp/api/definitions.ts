// The .api.json definitions written by VPP's vppapigen, parsed into one registry. Every module
// copies the types it imports, so the same type appears in many files: the first copy wins.
// Messages are keyed by name; their `name_crc` is what the running VPP's table is matched on.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VppDefinitionError } from './errors.ts';

/** A field as vppapigen writes it: [type, name], [type, name, N], [type, name, 0, "countField"], options last. */
export interface FieldDef {
  readonly type: string;
  readonly name: string;
  /** Undefined for a scalar; N > 0 fixed array or string; 0 variable. */
  readonly length?: number;
  /** For a variable array: the earlier field of the same struct holding the element count. */
  readonly countField?: string;
  readonly default?: unknown;
  /** For strings: the largest accepted length (limit option). */
  readonly limit?: number;
}

export interface StructDef {
  readonly name: string;
  readonly fields: readonly FieldDef[];
}

export interface MessageDef extends StructDef {
  /** CRC as VPP prints it in message names: 8 lowercase hex digits. */
  readonly crc: string;
  readonly nameCrc: string;
  readonly module: string;
}

export interface EnumDef {
  readonly name: string;
  readonly size: 1 | 2 | 4;
  readonly signed: boolean;
  readonly values: ReadonlyMap<string, number>;
  readonly flags: boolean;
}

export interface AliasDef {
  readonly name: string;
  readonly type: string;
  readonly length?: number;
}

/**
 * How a request is answered: `request` → one reply (or none: reply "null"); `dump` → a stream
 * of details closed by control_ping; `get` → details then a reply carrying a cursor.
 */
export interface ServiceDef {
  readonly request: string;
  readonly kind: 'request' | 'dump' | 'get';
  /** The single reply (request, get) or null when VPP sends none. */
  readonly reply: string | null;
  /** The streamed message (dump, get). */
  readonly details?: string;
  readonly events: readonly string[];
}

/** The JSON document of one module, as much of it as the codec reads. */
export interface ApiJsonModule {
  types?: unknown[];
  messages?: unknown[];
  unions?: unknown[];
  enums?: unknown[];
  enumflags?: unknown[];
  aliases?: Record<string, unknown>;
  services?: Record<string, unknown>;
}

const ENUM_SIZES: Record<string, { size: 1 | 2 | 4; signed: boolean }> = {
  u8: { size: 1, signed: false },
  u16: { size: 2, signed: false },
  u32: { size: 4, signed: false },
  i8: { size: 1, signed: true },
  i16: { size: 2, signed: true },
  i32: { size: 4, signed: true },
};

export class ApiDefinitions {
  readonly types = new Map<string, StructDef>();
  readonly unions = new Map<string, StructDef>();
  readonly enums = new Map<string, EnumDef>();
  readonly aliases = new Map<string, AliasDef>();
  readonly messages = new Map<string, MessageDef>();
  readonly services = new Map<string, ServiceDef>();

  /** Adds one module's definitions. A message redefined with another CRC is an error. */
  addModule(module: string, doc: ApiJsonModule): this {
    try {
      for (const raw of doc.types ?? []) addOnce(this.types, parseStruct(raw));
      for (const raw of doc.unions ?? []) addOnce(this.unions, parseStruct(raw));
      for (const raw of doc.enums ?? []) addOnce(this.enums, parseEnum(raw, false));
      for (const raw of doc.enumflags ?? []) addOnce(this.enums, parseEnum(raw, true));
      for (const [name, raw] of Object.entries(doc.aliases ?? {}))
        addOnce(this.aliases, parseAlias(name, raw));
      for (const raw of doc.messages ?? []) this.addMessage(parseMessage(raw, module));
      for (const [name, raw] of Object.entries(doc.services ?? {})) {
        if (!this.services.has(name)) this.services.set(name, parseService(name, raw));
      }
    } catch (err) {
      if (err instanceof VppDefinitionError) throw new VppDefinitionError(`${module}: ${err.message}`);
      throw err;
    }
    return this;
  }

  /** A copy that can be extended without changing this one. */
  clone(): ApiDefinitions {
    const c = new ApiDefinitions();
    for (const [k, v] of this.types) c.types.set(k, v);
    for (const [k, v] of this.unions) c.unions.set(k, v);
    for (const [k, v] of this.enums) c.enums.set(k, v);
    for (const [k, v] of this.aliases) c.aliases.set(k, v);
    for (const [k, v] of this.messages) c.messages.set(k, v);
    for (const [k, v] of this.services) c.services.set(k, v);
    return c;
  }

  message(name: string): MessageDef {
    const def = this.messages.get(name);
    if (def === undefined) throw new VppDefinitionError(`no definition for message ${name}`);
    return def;
  }

  private addMessage(def: MessageDef): void {
    const prior = this.messages.get(def.name);
    if (prior === undefined) {
      this.messages.set(def.name, def);
    } else if (prior.crc !== def.crc) {
      throw new VppDefinitionError(
        `message ${def.name} defined as ${prior.nameCrc} (${prior.module}) and ${def.nameCrc}`,
      );
    }
  }
}

/** Reads every `*.api.json` under `dir` (recursively: VPP installs core/ and plugins/). */
export async function loadApiDirectory(dir: string, into = new ApiDefinitions()): Promise<ApiDefinitions> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((err: unknown) => {
    throw new VppDefinitionError(`cannot read API definitions directory ${dir}`, { cause: err });
  });
  const files = entries
    .filter((e) => e.isFile() && e.name.endsWith('.api.json'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  if (files.length === 0) throw new VppDefinitionError(`no *.api.json files under ${dir}`);
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    into.addModule(file.slice(dir.length + 1), parseJson(text, file));
  }
  return into;
}

/** Parses the text `get_api_json` returns: a JSON array of module documents. */
export function definitionsFromApiJsonReply(text: string, into = new ApiDefinitions()): ApiDefinitions {
  const doc = parseJson(text, 'get_api_json reply');
  const modules = Array.isArray(doc) ? doc : [doc];
  modules.forEach((m, i) => {
    if (!isRecord(m)) throw new VppDefinitionError(`get_api_json reply: module ${i} is not an object`);
    into.addModule(`get_api_json[${i}]`, m);
  });
  return into;
}

function parseJson(text: string, where: string): ApiJsonModule {
  try {
    return JSON.parse(text) as ApiJsonModule;
  } catch (err) {
    throw new VppDefinitionError(`${where}: not JSON: ${(err as Error).message}`);
  }
}

function addOnce<T extends { name: string }>(map: Map<string, T>, def: T): void {
  if (!map.has(def.name)) map.set(def.name, def);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseStruct(raw: unknown): StructDef {
  if (!Array.isArray(raw) || typeof raw[0] !== 'string')
    throw new VppDefinitionError(`bad type ${JSON.stringify(raw)}`);
  const name = raw[0];
  const fields = raw
    .slice(1)
    .filter((f) => Array.isArray(f))
    .map((f) => parseField(name, f as unknown[]));
  return { name, fields };
}

function parseMessage(raw: unknown, module: string): MessageDef {
  const struct = parseStruct(raw);
  const meta = (raw as unknown[]).find((x) => isRecord(x) && 'crc' in x) as { crc?: unknown } | undefined;
  if (typeof meta?.crc !== 'string' || !/^0x[0-9a-f]{1,8}$/i.test(meta.crc)) {
    throw new VppDefinitionError(`message ${struct.name} has no crc`);
  }
  const crc = meta.crc.slice(2).toLowerCase().padStart(8, '0');
  return { ...struct, crc, nameCrc: `${struct.name}_${crc}`, module };
}

function parseField(owner: string, raw: unknown[]): FieldDef {
  const [type, name] = raw;
  if (typeof type !== 'string' || typeof name !== 'string') {
    throw new VppDefinitionError(`${owner}: bad field ${JSON.stringify(raw)}`);
  }
  const rest = raw.slice(2);
  const options = rest.find(isRecord) ?? {};
  const plain = rest.filter((x) => !isRecord(x));
  const field: { -readonly [K in keyof FieldDef]: FieldDef[K] } = { type: stripApiType(type), name };
  if (plain.length >= 1) {
    if (typeof plain[0] !== 'number' || plain[0] < 0)
      throw new VppDefinitionError(`${owner}.${name}: bad length`);
    field.length = plain[0];
  }
  if (plain.length >= 2) {
    if (typeof plain[1] !== 'string') throw new VppDefinitionError(`${owner}.${name}: bad count field`);
    field.countField = plain[1];
  }
  if ('default' in options) field.default = options['default'];
  if (typeof options['limit'] === 'number') field.limit = options['limit'];
  return field;
}

/** `vl_api_address_t` → `address`; base types stay as they are. */
export function stripApiType(type: string): string {
  return type.startsWith('vl_api_') && type.endsWith('_t') ? type.slice(7, -2) : type;
}

function parseEnum(raw: unknown, flags: boolean): EnumDef {
  if (!Array.isArray(raw) || typeof raw[0] !== 'string')
    throw new VppDefinitionError(`bad enum ${JSON.stringify(raw)}`);
  const name = raw[0];
  const values = new Map<string, number>();
  let enumtype = 'u32';
  for (const item of raw.slice(1)) {
    if (isRecord(item)) {
      if (typeof item['enumtype'] === 'string') enumtype = item['enumtype'];
    } else if (Array.isArray(item) && typeof item[0] === 'string' && typeof item[1] === 'number') {
      values.set(item[0], item[1]);
    }
  }
  const size = ENUM_SIZES[enumtype];
  if (size === undefined) throw new VppDefinitionError(`enum ${name}: unsupported enumtype ${enumtype}`);
  return { name, ...size, values, flags };
}

function parseAlias(name: string, raw: unknown): AliasDef {
  if (!isRecord(raw) || typeof raw['type'] !== 'string') throw new VppDefinitionError(`bad alias ${name}`);
  const length = raw['length'];
  const type = stripApiType(raw['type']);
  return typeof length === 'number' ? { name, type, length } : { name, type };
}

function parseService(request: string, raw: unknown): ServiceDef {
  if (!isRecord(raw) || typeof raw['reply'] !== 'string')
    throw new VppDefinitionError(`bad service ${request}`);
  const events = Array.isArray(raw['events'])
    ? raw['events'].filter((e): e is string => typeof e === 'string')
    : [];
  const reply = raw['reply'] === 'null' ? null : raw['reply'];
  if (raw['stream'] !== true) return { request, kind: 'request', reply, events };
  if (typeof raw['stream_msg'] === 'string')
    return { request, kind: 'get', reply, details: raw['stream_msg'], events };
  return { request, kind: 'dump', reply: null, details: raw['reply'], events };
}
