// The scheduler's item graph: per key what is desired, what is applied, and who depends on
// whom. Pure bookkeeping, no I/O: the executor (executor.ts) reads and updates it.
//
// The reverse index maps a dependency key to the keys that name it, through their desired or
// their applied value; it is keyed by string, so an item can depend on a key that has no node.
// Every lookup is a map access: work stays proportional to the items a change touches.
import type { Dependency, Descriptor, Item } from './descriptor.ts';
import { UnknownFamilyError, ValidationError, errorMessage } from './errors.ts';
import type { ItemFailure } from './errors.ts';

export interface Applied {
  value: unknown;
  metadata: unknown;
  origin: 'netloom' | 'external';
}

export interface Node {
  readonly key: string;
  /** undefined when no descriptor claims the key. */
  readonly descriptor: Descriptor | undefined;
  /** The desired value; undefined when not desired. */
  desired: unknown;
  /** Why the desired value can never be applied (validation, unknown family). */
  invalid: string | undefined;
  /** The parent item whose derivedValues produced this one. */
  derivedFrom: string | undefined;
  /** Keys of the items derived from this one's desired value. */
  derivedKeys: Set<string>;
  desiredDeps: readonly Dependency[];
  applied: Applied | undefined;
  appliedDeps: readonly Dependency[];
  /** The last failed operation, cleared by a success. */
  lastError: ItemFailure | undefined;
  attempts: number;
  nextRetryAt: number | undefined;
  lastTxn: number;
}

export class Graph {
  readonly nodes = new Map<string, Node>();
  private readonly dependents = new Map<string, Set<string>>();
  private readonly byPrefix = new Map<string, Descriptor>();
  private readonly descriptors: readonly Descriptor[];

  constructor(descriptors: readonly Descriptor[]) {
    this.descriptors = descriptors;
    for (const d of descriptors) {
      if (this.byPrefix.has(d.keyPrefix)) throw new Error(`two descriptors claim prefix ${d.keyPrefix}`);
      this.byPrefix.set(d.keyPrefix, d);
    }
  }

  descriptorFor(key: string): Descriptor | undefined {
    const slash = key.indexOf('/');
    const quick = slash >= 0 ? this.byPrefix.get(key.slice(0, slash + 1)) : undefined;
    if (quick) return quick;
    let best: Descriptor | undefined;
    for (const d of this.descriptors) {
      if (key.startsWith(d.keyPrefix) && d.keyPrefix.length > (best?.keyPrefix.length ?? -1)) best = d;
    }
    return best;
  }

  get(key: string): Node | undefined {
    return this.nodes.get(key);
  }

  node(key: string): Node {
    let n = this.nodes.get(key);
    if (!n) {
      n = {
        key,
        descriptor: this.descriptorFor(key),
        desired: undefined,
        invalid: undefined,
        derivedFrom: undefined,
        derivedKeys: new Set(),
        desiredDeps: [],
        applied: undefined,
        appliedDeps: [],
        lastError: undefined,
        attempts: 0,
        nextRetryAt: undefined,
        lastTxn: 0,
      };
      this.nodes.set(key, n);
    }
    return n;
  }

  /** Keys whose desired or applied value depends on `key`. */
  dependentsOf(key: string): readonly string[] {
    const set = this.dependents.get(key);
    return set ? [...set] : [];
  }

  /** Sets the desired value (undefined: not desired), validating it and recomputing dependencies. */
  setDesired(n: Node, value: unknown, derivedFrom?: string): void {
    n.desired = value;
    n.derivedFrom = value === undefined ? undefined : derivedFrom;
    n.invalid = undefined;
    let deps: readonly Dependency[] = [];
    if (value !== undefined) {
      n.invalid = this.validate(n, value);
      if (n.invalid === undefined) deps = this.dependenciesOf(n, value);
    }
    if (derivedFrom !== undefined && value !== undefined)
      deps = [...deps, { label: 'parent', key: derivedFrom }];
    this.reindex(n, () => (n.desiredDeps = deps));
  }

  setApplied(n: Node, applied: Applied | undefined): void {
    n.applied = applied;
    let deps: readonly Dependency[] = [];
    if (applied && applied.origin === 'netloom') {
      deps = this.dependenciesOf(n, applied.value);
      if (n.derivedFrom !== undefined) deps = [...deps, { label: 'parent', key: n.derivedFrom }];
    }
    this.reindex(n, () => (n.appliedDeps = deps));
  }

  /** The derived items the desired value implies, or [] when invalid. */
  derivedOf(n: Node): readonly Item[] {
    if (n.desired === undefined || n.invalid !== undefined || !n.descriptor?.derivedValues) return [];
    return n.descriptor.derivedValues(n.key, n.desired);
  }

  /** Drops a node that is neither desired nor applied and has nothing left to say. */
  forgetIfIdle(n: Node): void {
    if (n.desired !== undefined || n.applied !== undefined || n.derivedKeys.size > 0) return;
    this.reindex(n, () => {
      n.desiredDeps = [];
      n.appliedDeps = [];
    });
    this.nodes.delete(n.key);
  }

  private validate(n: Node, value: unknown): string | undefined {
    if (!n.descriptor)
      return new UnknownFamilyError(`no descriptor of this data plane handles ${n.key}`).message;
    try {
      n.descriptor.validate?.(n.key, value);
      return undefined;
    } catch (err) {
      return err instanceof ValidationError ? err.message : `validate: ${errorMessage(err)}`;
    }
  }

  private dependenciesOf(n: Node, value: unknown): readonly Dependency[] {
    return n.descriptor?.dependencies?.(n.key, value) ?? [];
  }

  private reindex(n: Node, change: () => void): void {
    for (const d of n.desiredDeps) this.unlink(d.key, n.key);
    for (const d of n.appliedDeps) this.unlink(d.key, n.key);
    change();
    for (const d of n.desiredDeps) this.link(d.key, n.key);
    for (const d of n.appliedDeps) this.link(d.key, n.key);
  }

  private link(dep: string, key: string): void {
    let set = this.dependents.get(dep);
    if (!set) this.dependents.set(dep, (set = new Set()));
    set.add(key);
  }

  private unlink(dep: string, key: string): void {
    const set = this.dependents.get(dep);
    if (!set) return;
    set.delete(key);
    if (set.size === 0) this.dependents.delete(dep);
  }
}
