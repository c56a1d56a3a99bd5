// The contract between the KV scheduler and a data plane (after Ligato's KVDescriptor).
//
// A descriptor owns one item family (all keys starting with its `keyPrefix`) and knows how to
// make such an item real in one data plane. The scheduler decides *when* (dependency order,
// retries, resync); the descriptor only does *what*. A descriptor is built by its driver with
// the narrow ports it needs (a VPP route descriptor gets a two-method route port, not the whole
// API connection), so it can be tested with a fake of just those ports.
//
// Rules a descriptor must follow:
// - `validate`, `equivalent`, `updateWithRecreate`, `dependencies`, `derivedValues` are pure:
//   same input, same answer, no I/O. The scheduler calls them as often as it likes.
// - `create`/`update`/`delete` do one item's work and throw on failure. Throw an error with
//   `retriable: true` (see lib/errors.ts NetloomError) or implement `isRetriable` for failures
//   worth retrying (busy, timeout, transient netlink errors); anything else marks the item
//   failed until its desired value changes or a resync runs.
// - `delete` of something already gone must succeed (idempotent).
// - `retrieve` reads back what the data plane really holds for this family, so a resync can
//   repair drift; it reports items netloom did not create as `origin: 'external'` (they can
//   satisfy dependencies but are never deleted or changed).

/** One item: a key in the flat item namespace (see agent/items/keys.ts) and a JSON-able value. */
export interface Item<V = unknown> {
  readonly key: string;
  readonly value: V;
}

/**
 * An item this one needs before it can be created: the item with exactly `key` must be
 * applied (or external). `label` names the relation for status output ("interface", "vrf").
 */
export interface Dependency {
  readonly label: string;
  readonly key: string;
}

/** What a create/update/delete can read besides its own item. */
export interface ApplyContext {
  /**
   * Metadata of another applied item: what its create/update returned, or its retrieve
   * reported (a VPP sw_if_index, a Linux ifindex). Defined for every dependency of the item
   * being applied, since dependencies are applied first.
   */
  metadata<M = unknown>(key: string): M | undefined;
}

/** What `retrieve` reads back: one item as the data plane holds it. */
export interface Retrieved<V = unknown, M = unknown> {
  readonly key: string;
  readonly value: V;
  readonly metadata?: M;
  /** 'netloom' (created by us, may be deleted) or 'external' (pre-existing, never touched). */
  readonly origin: 'netloom' | 'external';
}

export interface RetrieveContext<V = unknown> {
  /** The desired items of this family, to correlate what is found (match by name, etc.). */
  readonly desired: ReadonlyMap<string, V>;
  /** Metadata of items retrieved earlier by the families named in `retrieveAfter`. */
  metadata<M = unknown>(key: string): M | undefined;
}

export interface Descriptor<V = unknown, M = unknown> {
  /** Family name, for logs, metrics and status ("pod-interface"). */
  readonly name: string;
  /** Every key of the family starts with this (see agent/items/keys.ts PREFIX). */
  readonly keyPrefix: string;

  /** Throws ValidationError for a value that can never be applied; such items become 'invalid'. */
  validate?(key: string, value: V): void;
  /** Whether two values need no change; JSON equality when absent. */
  equivalent?(key: string, a: V, b: V): boolean;

  create(key: string, value: V, ctx: ApplyContext): Promise<M | undefined>;
  /** In-place change; when absent every change is a delete + create. */
  update?(
    key: string,
    oldValue: V,
    newValue: V,
    oldMetadata: M | undefined,
    ctx: ApplyContext,
  ): Promise<M | undefined>;
  /** True when this particular change cannot be done in place (e.g. a changed VRF). */
  updateWithRecreate?(key: string, oldValue: V, newValue: V): boolean;
  delete(key: string, value: V, metadata: M | undefined, ctx: ApplyContext): Promise<void>;

  /** Reads back this family's real state; absent means the family cannot be resynced (trusted). */
  retrieve?(ctx: RetrieveContext<V>): Promise<Retrieved<V, M>[]>;
  /** Families (descriptor names) whose retrieve must run first, for their metadata. */
  readonly retrieveAfter?: readonly string[];
  /**
   * The scheduler may run this family's create/update/delete for different keys at the same
   * time within a transaction (items nothing depends on), so a driver can coalesce them into one
   * kernel transaction (one `nft -f`). The descriptor must be safe for that.
   */
  readonly concurrent?: boolean;

  /** Whether a failure is worth retrying; by default the error's `retriable` mark. */
  isRetriable?(err: unknown): boolean;

  /** Items this one needs first. Pure. */
  dependencies?(key: string, value: V): readonly Dependency[];
  /**
   * Items implied by this one (Ligato's derived values): created after it, deleted before it,
   * handled by whichever descriptor owns their key. Pure.
   */
  derivedValues?(key: string, value: V): readonly Item[];
}

/** A data plane: the descriptors of every item family it implements. */
export interface Driver {
  readonly name: string;
  readonly descriptors: readonly Descriptor<unknown, unknown>[];
  /** Releases connections; the scheduler never calls the descriptors afterwards. */
  close?(): Promise<void>;
  /**
   * Tells `listener` each time the data plane came back after losing it (a VPP restarted, maybe
   * empty): what it holds is unknown, so its owner resyncs.
   */
  onRestart?(listener: () => void): void;
}
