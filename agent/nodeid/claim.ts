// Node ID claims: `nodes/id/<id>` → node name, written create-only.
//
// A node that has an ID (in its state file) re-asserts it: it re-creates the claim when etcd
// lost it (a restore from an older backup) and takes it back from a *tentative* claimant. A
// new node claims the lowest ID nobody uses, then holds it tentatively for `settleMs` —
// long enough for every running node to re-assert its own ID at least once — and commits
// (state file, nodes/info) only if the claim is still its own and no published node uses
// the ID. So after a restore, a joining node may briefly claim a running node's lost ID but
// never uses it: the running node takes it back and the newcomer moves on.
//
// IDs are unique across every cluster sharing the store (the overlay derives a node's MAC and
// next hop from its ID; two meshed clusters with one node 3 would collide): the claim creates
// the cluster's `nodes/id/<id>` and the store-wide `_shared/node-ids/<id>` (→ `<cluster>/<node>`)
// in one transaction, and a claim of this cluster that predates the shared key is adopted (the
// key is added). A cluster alone on its etcd sees no difference.
import { storeError, type KeyValue, type Store } from '../../lib/etcd/store.ts';
import {
  SharedKeyspace,
  parseSharedNodeIdHolder,
  sharedNodeIdHolder,
  type Keyspace,
} from '../../lib/keyspace.ts';
import type { Logger } from '../../lib/logging.ts';
import { Deadline } from '../../lib/timing.ts';
import { NetloomError } from '../../lib/errors.ts';
import type { NodeInfo } from '../../proto/gen/netloom/model/v1/NodeInfo.ts';

/** Two committed nodes hold one ID: going on would overlap their pod subnets. */
export class NodeIdConflictError extends NetloomError {
  readonly id: number;
  readonly holder: string;

  constructor(node: string, id: number, holder: string, since: string) {
    super(
      `node ID ${id} is claimed by node ${holder}, which has published it in nodes/info/${holder}, but node ${node} ` +
        `has held it since ${since} (its state file says so). Two nodes with one ID get overlapping pod subnets; ` +
        `refusing to use it. Drain one of the nodes, remove its state file and restart its agent to give it a new ID.`,
    );
    this.id = id;
    this.holder = holder;
  }
}

export class NoFreeNodeIdError extends NetloomError {}

/** Another cluster sharing the store holds this node's ID (`_shared/node-ids/<id>`). */
export class ForeignNodeIdError extends NodeIdConflictError {
  readonly cluster: string;

  constructor(node: string, id: number, cluster: string, holder: string) {
    super(node, id, `${holder} of cluster ${cluster}`, 'before this cluster shared its etcd');
    this.message =
      `node ID ${id} of node ${node} is held store-wide by node ${holder} of cluster ${cluster} ` +
      `(/netloom/v1/_shared/node-ids/${id}); meshed clusters with one node ID would share an overlay address. ` +
      `Drain node ${node}, remove its state file and restart its agent to give it a new ID.`;
    this.cluster = cluster;
  }
}

export interface ClaimContext {
  store: Store;
  keyspace: Keyspace;
  node: string;
  maxId: number;
  logger: Logger;
  /**
   * What another cluster holding this node's ID store-wide means: `refuse` (the default) —
   * ForeignNodeIdError, the agent stays unready; `warn` — log it and keep the ID (no mesh: the
   * clusters' overlays never meet, as before IDs were store-wide).
   */
  foreignIds?: 'refuse' | 'warn';
}

export type AssertResult = 'held' | 'recreated' | 'taken-back';

const SHARED = new SharedKeyspace();
type Claimant = Pick<ClaimContext, 'keyspace' | 'node'>;
const idKey = (ctx: Claimant, id: number): string => ctx.keyspace.key({ kind: 'nodeId', id: String(id) });
const sharedKey = (id: number): string => SHARED.key({ kind: 'sharedNodeId', id: String(id) });
const holderOf = (ctx: Claimant): string => sharedNodeIdHolder(ctx.keyspace.cluster, ctx.node);

type BothClaims = { created: true } | { created: false; local?: KeyValue; shared?: KeyValue };

/** Creates `nodes/id/<id>` and `_shared/node-ids/<id>` together, only if neither exists. */
async function createBoth(ctx: ClaimContext, id: number): Promise<BothClaims> {
  const local = Buffer.from(idKey(ctx, id));
  const shared = Buffer.from(sharedKey(id));
  try {
    const res = await ctx.store.client.kv.txn({
      compare: [
        { key: local, target: 'Create', result: 'Equal', create_revision: 0 },
        { key: shared, target: 'Create', result: 'Equal', create_revision: 0 },
      ],
      success: [
        { request_put: { key: local, value: Buffer.from(ctx.node) } },
        { request_put: { key: shared, value: Buffer.from(holderOf(ctx)) } },
      ],
      failure: [{ request_range: { key: local } }, { request_range: { key: shared } }],
    });
    if (res.succeeded) return { created: true };
    const kv = (i: number): KeyValue | undefined => {
      const raw = res.responses[i]?.response_range?.kvs[0];
      return raw
        ? {
            key: raw.key.toString(),
            value: raw.value.toString(),
            createRevision: Number(raw.create_revision),
            modRevision: Number(raw.mod_revision),
            version: Number(raw.version),
            lease: raw.lease,
          }
        : undefined;
    };
    const [l, s] = [kv(0), kv(1)];
    return { created: false, ...(l ? { local: l } : {}), ...(s ? { shared: s } : {}) };
  } catch (err) {
    throw storeError(`claim node ID ${id}`, err);
  }
}

/** The other cluster that holds `shared` store-wide, if it is another cluster's. */
function foreignHolder(
  ctx: ClaimContext,
  shared: KeyValue | undefined,
): { cluster: string; node: string } | undefined {
  if (!shared) return undefined;
  const h = parseSharedNodeIdHolder(shared.value);
  // An unreadable holder is nobody's we can name: treat it as foreign, it is not ours.
  if (!h) return { cluster: '?', node: shared.value };
  return h.cluster === ctx.keyspace.cluster ? undefined : h;
}

/**
 * Makes `_shared/node-ids/<id>` name this node, given that `nodes/id/<id>` does: adopts a claim
 * from before IDs were store-wide, replaces a stale holder of this same cluster. False when it
 * changed under us (the caller tries again).
 */
async function ensureShared(ctx: ClaimContext, id: number, shared: KeyValue | undefined): Promise<boolean> {
  if (shared?.value === holderOf(ctx)) return true;
  if (shared) {
    if (foreignHolder(ctx, shared)) return true; // only in `warn` mode: left to its holder
    if (!(await ctx.store.deleteIf(shared.key, shared.modRevision))) return false;
  }
  const res = await ctx.store.create(sharedKey(id), holderOf(ctx));
  if (res.created) ctx.logger.info({ id }, 'node ID claim made store-wide (_shared/node-ids)');
  return res.created || res.existing.value === holderOf(ctx);
}

/** Throws ForeignNodeIdError for another cluster's store-wide claim (unless `warn`: logs it). */
function checkForeign(ctx: ClaimContext, id: number, shared: KeyValue | undefined): void {
  const foreign = foreignHolder(ctx, shared);
  if (!foreign) return;
  const err = new ForeignNodeIdError(ctx.node, id, foreign.cluster, foreign.node);
  if ((ctx.foreignIds ?? 'refuse') === 'refuse') throw err;
  ctx.logger.warn({ id, cluster: foreign.cluster, holder: foreign.node }, `${err.message} (no mesh: kept)`);
}

/**
 * Deletes this node's claim of `id` in both places, each only if it still names the node
 * (`localModRevision`: the local claim as read). Idempotent.
 */
export async function releaseClaim(
  ctx: Pick<ClaimContext, 'store' | 'keyspace' | 'node'>,
  id: number,
  localModRevision: number,
): Promise<boolean> {
  const released = await ctx.store.deleteIf(idKey(ctx, id), localModRevision);
  const shared = await ctx.store.get(sharedKey(id));
  if (shared?.value === holderOf(ctx)) await ctx.store.deleteIf(shared.key, shared.modRevision);
  return released;
}

/** Published node infos: name → ID. */
export async function publishedIds(ctx: ClaimContext): Promise<Map<string, number>> {
  const { kvs } = await ctx.store.list(ctx.keyspace.prefix('nodeInfo'));
  const out = new Map<string, number>();
  for (const kv of kvs) {
    const info = JSON.parse(kv.value) as NodeInfo;
    if (info.name && info.id) out.set(info.name, info.id);
  }
  return out;
}

/** Who publishes `id` in nodes/info, other than this node. */
async function committedHolder(ctx: ClaimContext, id: number): Promise<string | undefined> {
  for (const [name, nid] of await publishedIds(ctx)) if (nid === id && name !== ctx.node) return name;
  return undefined;
}

/**
 * Makes sure `nodes/id/<id>` names this node. Throws NodeIdConflictError when another node
 * holds it and has committed it (published it in nodes/info).
 */
export async function assertClaim(ctx: ClaimContext, id: number, since: string): Promise<AssertResult> {
  const key = idKey(ctx, id);
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = await createBoth(ctx, id);
    if (res.created) return 'recreated';
    checkForeign(ctx, id, res.shared);
    if (!res.local) {
      // The cluster's claim is gone (a restore), the store-wide one is ours or absent.
      const again = await ctx.store.create(key, ctx.node);
      if (again.created && (await ensureShared(ctx, id, res.shared))) return 'recreated';
      continue;
    }
    const holder = res.local.value;
    if (holder === ctx.node) {
      if (await ensureShared(ctx, id, res.shared)) return 'held';
      continue;
    }
    if ((await committedHolder(ctx, id)) === holder)
      throw new NodeIdConflictError(ctx.node, id, holder, since);
    // A tentative claim (or a stale one from before a restore): ours by seniority.
    ctx.logger.warn({ id, holder }, 'taking back this node ID from a tentative claim');
    if (await ctx.store.deleteIf(key, res.local.modRevision)) {
      if (res.shared && !foreignHolder(ctx, res.shared))
        await ctx.store.deleteIf(res.shared.key, res.shared.modRevision);
      const again = await createBoth(ctx, id);
      if (again.created) return 'taken-back';
    }
  }
  throw new NetloomError(`could not re-assert node ID ${id}: the claim keeps changing`, { retriable: true });
}

export interface FreshClaimOptions {
  settleMs: number;
  checkMs: number;
  signal?: AbortSignal;
}

/** A new node's claim: lowest free ID, held tentatively for settleMs, then returned. */
export async function claimFreshId(ctx: ClaimContext, opts: FreshClaimOptions): Promise<number> {
  const avoid = new Set<number>();
  for (;;) {
    const id = await pickId(ctx, avoid);
    if (id === undefined) {
      throw new NoFreeNodeIdError(
        `no free node ID left (1..${ctx.maxId} are claimed); delete departed nodes or widen the pod CIDR`,
      );
    }
    const res = await createBoth(ctx, id);
    const mine =
      res.created ||
      (res.local?.value === ctx.node &&
        !foreignHolder(ctx, res.shared) &&
        (await ensureShared(ctx, id, res.shared)));
    if (!mine) {
      avoid.add(id);
      continue;
    }
    ctx.logger.info({ id, settleMs: opts.settleMs }, 'claimed a node ID tentatively');
    if (await settles(ctx, id, opts)) return id;
    ctx.logger.warn({ id }, 'node ID was taken back by its previous holder; claiming another');
    avoid.add(id);
  }
}

/** The ID this node already claims (a crash before commit), else the lowest unused one. */
async function pickId(ctx: ClaimContext, avoid: ReadonlySet<number>): Promise<number | undefined> {
  const { kvs } = await ctx.store.list(ctx.keyspace.prefix('nodeId'));
  const used = new Set<number>(avoid);
  for (const kv of kvs) {
    const ref = ctx.keyspace.tryParse(kv.key);
    if (ref?.kind !== 'nodeId') continue;
    const id = Number(ref.id);
    if (kv.value === ctx.node && !avoid.has(id)) return id;
    used.add(id);
  }
  for (const id of (await publishedIds(ctx)).values()) used.add(id);
  // Store-wide: an ID another cluster (or another node) holds is not free here either.
  for (const kv of (await ctx.store.list(SHARED.prefix('sharedNodeId'))).kvs) {
    const ref = SHARED.tryParse(kv.key);
    if (ref?.kind === 'sharedNodeId' && kv.value !== holderOf(ctx)) used.add(Number(ref.id));
  }
  for (let id = 1; id <= ctx.maxId; id++) if (!used.has(id)) return id;
  return undefined;
}

async function settles(ctx: ClaimContext, id: number, opts: FreshClaimOptions): Promise<boolean> {
  const deadline = new Deadline(opts.settleMs);
  for (;;) {
    const claim = await ctx.store.get(idKey(ctx, id));
    if (claim?.value !== ctx.node) return false;
    if ((await ctx.store.get(sharedKey(id)))?.value !== holderOf(ctx)) return false;
    if ((await committedHolder(ctx, id)) !== undefined) return false;
    if (deadline.expired()) return true;
    await deadline.pause(opts.checkMs, opts.signal);
    // An abort ends the claim attempt with the signal's reason, not with a half-settled claim.
    opts.signal?.throwIfAborted();
  }
}
