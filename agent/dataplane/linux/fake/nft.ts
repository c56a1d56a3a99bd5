// An in-memory nftables table that applies NftOps with the kernel's rules that netloom's
// scripts depend on: a transaction applies whole or not at all; adding what exists is a no-op
// (an element with another value clashes: EEXIST); flushing or deleting what is missing fails
// (ENOENT); a chain or set still referenced cannot be deleted (EBUSY); a rule may only name
// chains and sets that exist. Rule text is kept as written (the kernel port prints it back the
// same way), so the descriptors' retrieve works on it unchanged; element keys lose their
// quotes (`"veth1"` reads back as veth1), as the kernel prints them. FakeNftPort puts a table's
// fixed part in front like the kernel port (one transaction per apply, no coalescing).
import { LinuxCommandError, type Condition } from '../errors.ts';
import { emptyTable, opText, type NftFamily, type NftOp, type NftTable, type NftTableSpec } from '../nft.ts';
import type { NftTablePort } from '../ports.ts';

const fail = (line: string, condition: Condition, text: string): LinuxCommandError =>
  new LinuxCommandError(`nft: ${text}: ${line}`, { command: 'nft -f -', condition });

const NAME = '[A-Za-z0-9_./-]+';
const chainRefs = (text: string): string[] =>
  [...text.matchAll(new RegExp(`(?:goto|jump) (${NAME})`, 'g'))].map((m) => m[1]!);
const setRefs = (text: string): string[] =>
  [...text.matchAll(new RegExp(`@(${NAME})`, 'g'))].map((m) => m[1]!);

function clone(t: NftTable): NftTable {
  return {
    chains: new Map([...t.chains].map(([k, c]) => [k, { ...c, rules: [...c.rules] }])),
    sets: new Map(
      [...t.sets].map(([k, s]) => [
        k,
        { ...s, elements: new Map([...s.elements].map(([ek, e]) => [ek, { ...e }])) },
      ]),
    ),
  };
}

export class FakeNftTable {
  /** undefined until the first `add-table`. */
  table: NftTable | undefined;
  private readonly name: string;
  private readonly family: NftFamily;

  constructor(name: string, family: NftFamily = 'ip') {
    this.name = name;
    this.family = family;
  }

  /** Applies a transaction: every op or none. */
  apply(ops: readonly NftOp[]): void {
    let t = this.table ? clone(this.table) : undefined;
    for (const o of ops) {
      const line = opText(this.name, o, this.family);
      if (o.op === 'add-table') {
        t ??= emptyTable();
        continue;
      }
      if (!t) throw fail(line, 'missing', 'No such file or directory');
      this.step(t, o, line);
    }
    this.table = t;
  }

  /** Every rule and element verdict that names `chain`, or every rule that uses set `set`. */
  private referenced(t: NftTable, what: { chain?: string; set?: string }): boolean {
    for (const c of t.chains.values()) {
      for (const r of c.rules) {
        if (what.chain !== undefined && chainRefs(r).includes(what.chain)) return true;
        if (what.set !== undefined && setRefs(r).includes(what.set)) return true;
      }
    }
    if (what.chain === undefined) return false;
    for (const s of t.sets.values())
      for (const e of s.elements.values())
        if (e.value !== undefined && chainRefs(e.value).includes(what.chain)) return true;
    return false;
  }

  private step(t: NftTable, o: Exclude<NftOp, { op: 'add-table' }>, line: string): void {
    const missing = (): LinuxCommandError => fail(line, 'missing', 'No such file or directory');
    switch (o.op) {
      case 'add-chain':
        if (!t.chains.has(o.chain))
          t.chains.set(o.chain, o.base ? { base: o.base, rules: [] } : { rules: [] });
        return;
      case 'flush-chain': {
        const c = t.chains.get(o.chain);
        if (!c) throw missing();
        c.rules = [];
        return;
      }
      case 'delete-chain':
        if (!t.chains.has(o.chain)) throw missing();
        if (this.referenced(t, { chain: o.chain })) throw fail(line, 'busy', 'Device or resource busy');
        t.chains.delete(o.chain);
        return;
      case 'add-rule': {
        const c = t.chains.get(o.chain);
        if (!c) throw missing();
        if (chainRefs(o.rule).some((x) => !t.chains.has(x)) || setRefs(o.rule).some((x) => !t.sets.has(x)))
          throw missing();
        c.rules.push(o.rule);
        return;
      }
      case 'add-set':
        if (!t.sets.has(o.set)) {
          const { set: _name, op: _op, ...spec } = o;
          t.sets.set(o.set, { ...spec, elements: new Map() });
        }
        return;
      case 'delete-set':
        if (!t.sets.has(o.set)) throw missing();
        if (this.referenced(t, { set: o.set })) throw fail(line, 'busy', 'Device or resource busy');
        t.sets.delete(o.set);
        return;
      case 'add-element': {
        const key = o.key.replaceAll('"', '');
        const s = t.sets.get(o.set);
        if (!s) throw missing();
        if (o.value !== undefined && chainRefs(o.value).some((x) => !t.chains.has(x))) throw missing();
        const had = s.elements.get(key);
        if (had && had.value !== o.value) throw fail(line, 'exists', 'File exists');
        if (!had)
          s.elements.set(key, {
            ...(o.value !== undefined ? { value: o.value } : {}),
            ...(o.comment !== undefined ? { comment: o.comment } : {}),
          });
        return;
      }
      case 'delete-element': {
        const s = t.sets.get(o.set);
        if (!s?.elements.delete(o.key.replaceAll('"', ''))) throw missing();
        return;
      }
    }
  }

  /** The table as sorted lines (chains with their rules, sets with their elements). */
  dump(): string[] {
    const t = this.table;
    if (!t) return [];
    const lines: string[] = [];
    for (const [name, c] of t.chains) {
      lines.push(`nft chain ${name}${c.base ? ` { ${c.base} }` : ''}`);
      c.rules.forEach((r, i) => lines.push(`nft chain ${name} ${i}: ${r}`));
    }
    for (const [name, s] of t.sets) {
      lines.push(
        `nft set ${name} ${s.type}${s.map ? ` : ${s.map}` : ''}${s.timeout !== undefined ? ` timeout ${s.timeout}s` : ''}`,
      );
      for (const [k, e] of s.elements)
        lines.push(
          `nft set ${name} { ${k}${e.value !== undefined ? ` : ${e.value}` : ''} } ${e.comment ?? ''}`.trimEnd(),
        );
    }
    return lines;
  }
}

/** A table with its fixed part, over FakeNftTable: the kernel port's behaviour, in memory. */
export class FakeNftPort implements NftTablePort {
  readonly nft: FakeNftTable;
  private readonly spec: NftTableSpec;
  private ready = false;

  constructor(spec: NftTableSpec) {
    this.spec = spec;
    this.nft = new FakeNftTable(spec.name, spec.family);
  }

  applyNow(ops: readonly NftOp[]): void {
    const all = this.ready ? ops : [...this.spec.setupOps(), ...ops];
    if (all.length === 0) return;
    this.nft.apply(all);
    this.ready = true;
  }

  listNow(): { table: NftTable | undefined; baseIntact: boolean } {
    const intact = this.spec.baseIntact(this.nft.table);
    if (!intact) this.ready = false;
    return { table: this.nft.table, baseIntact: intact };
  }

  apply(ops: readonly NftOp[]): Promise<void> {
    return new Promise((resolve) => resolve(this.applyNow(ops)));
  }

  list(): Promise<{ table: NftTable | undefined; baseIntact: boolean }> {
    return new Promise((resolve) => resolve(this.listNow()));
  }
}
