// The running VPP's message table, from the sockclnt_create reply: `name_crc` → id. Ids differ
// per build and plugin set, so the table is rebuilt at every connect and nothing but the
// handshake's 15/16 is ever hard-coded.
import type { ApiDefinitions } from './definitions.ts';
import { VppUnsupportedMessageError } from './errors.ts';

export interface TableEntry {
  readonly index: number;
  readonly name: string;
}

export class MessageTable {
  private readonly byNameCrc = new Map<string, number>();
  private readonly byId = new Map<number, string>();
  /** message name → every name_crc the server has for it (normally one). */
  private readonly byName = new Map<string, string[]>();

  constructor(entries: readonly TableEntry[]) {
    for (const e of entries) {
      this.byNameCrc.set(e.name, e.index);
      this.byId.set(e.index, e.name);
      const name = stripCrc(e.name);
      const list = this.byName.get(name);
      if (list === undefined) this.byName.set(name, [e.name]);
      else list.push(e.name);
    }
  }

  get size(): number {
    return this.byNameCrc.size;
  }

  id(nameCrc: string): number | undefined {
    return this.byNameCrc.get(nameCrc);
  }

  nameCrc(id: number): string | undefined {
    return this.byId.get(id);
  }

  /** The id of a message as we define it, or the refusal that explains why VPP lacks it. */
  require(definitions: ApiDefinitions, name: string): number {
    const def = definitions.message(name);
    const id = this.byNameCrc.get(def.nameCrc);
    if (id === undefined)
      throw new VppUnsupportedMessageError(name, def.nameCrc, this.byName.get(name) ?? []);
    return id;
  }

  /** Which of our messages the server has at our CRC, and which it has at another CRC. */
  compare(definitions: ApiDefinitions): { matched: number; mismatched: string[]; missing: number } {
    let matched = 0;
    let missing = 0;
    const mismatched: string[] = [];
    for (const def of definitions.messages.values()) {
      if (this.byNameCrc.has(def.nameCrc)) matched++;
      else if (this.byName.has(def.name)) mismatched.push(def.nameCrc);
      else missing++;
    }
    return { matched, mismatched, missing };
  }
}

/** `vxlan_add_del_tunnel_v3_0072b037` → `vxlan_add_del_tunnel_v3`. */
export function stripCrc(nameCrc: string): string {
  return /_[0-9a-f]{8}$/.test(nameCrc) ? nameCrc.slice(0, -9) : nameCrc;
}
