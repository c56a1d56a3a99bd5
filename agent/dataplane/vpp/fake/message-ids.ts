// The fake's message table: every defined message gets an id, memclnt's first so that
// sockclnt_create and its reply land on 15 and 16 as in VPP. `idBase` moves every other id,
// proving the client looks ids up instead of assuming them; crcOverrides and omit make the
// table disagree with the client's definitions (CRC mismatch, plugin not loaded).
import { SOCKCLNT_CREATE_ID, SOCKCLNT_CREATE_REPLY_ID } from '../api/bootstrap.ts';
import type { ApiDefinitions, MessageDef } from '../api/definitions.ts';

export interface TableOptions {
  readonly idBase?: number;
  /** message name → CRC (8 hex digits) the fake claims instead of the definition's. */
  readonly crcOverrides?: Readonly<Record<string, string>>;
  /** messages the fake does not offer at all. */
  readonly omit?: readonly string[];
}

export interface FakeTable {
  /** id → our definition (by name; the CRC the client sees may differ). */
  readonly byId: ReadonlyMap<number, MessageDef>;
  readonly byName: ReadonlyMap<string, number>;
  readonly entries: readonly { index: number; name: string }[];
}

export function buildTable(defs: ApiDefinitions, options: TableOptions = {}): FakeTable {
  const omit = new Set(options.omit ?? []);
  const all = [...defs.messages.values()].filter((d) => !omit.has(d.name));
  const memclnt = all.filter((d) => d.module.endsWith('memclnt.api.json') || d.module === 'bootstrap');
  const rest = all.filter((d) => !memclnt.includes(d));
  const byId = new Map<number, MessageDef>();
  const byName = new Map<string, number>();
  const assign = (d: MessageDef, id: number): void => {
    byId.set(id, d);
    byName.set(d.name, id);
  };
  const fixed: Record<string, number> = {
    sockclnt_create: SOCKCLNT_CREATE_ID,
    sockclnt_create_reply: SOCKCLNT_CREATE_REPLY_ID,
  };
  let next = 1;
  const take = (): number => {
    while (next === SOCKCLNT_CREATE_ID || next === SOCKCLNT_CREATE_REPLY_ID) next++;
    return next++;
  };
  for (const d of memclnt) assign(d, fixed[d.name] ?? take());
  next = Math.max(next, options.idBase ?? next);
  for (const d of rest) assign(d, take());
  const entries = [...byId].map(([index, d]) => ({
    index,
    name: `${d.name}_${options.crcOverrides?.[d.name] ?? d.crc}`,
  }));
  return { byId, byName, entries };
}
