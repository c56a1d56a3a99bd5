// Node ID claims: `nodes/id/<id>` → node name, written create-only.
//
// A node that has an ID (in its state file) re-asserts it: it re-creates the claim when etcd
// lost it (a restore from an older backup) and takes it back from a *tentative* claimant. A
// new node claims the lowest ID nobody uses, then holds it tentatively for `settleMs` —
// long enough for every running node to re-assert its own ID at least once — and commits
// (state file, nodes/info) only if the claim is still its own and no published node uses
// the ID. So after a restore, a joining node may briefly claim a running node's lost ID but
// never uses it: the running node takes it back and the newcomer moves on.
import type { Store } from '../../lib/etcd/store.ts';
import type { Keyspace } from '../../lib/keyspace.ts';
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

export interface ClaimContext {
  store: Store;
  keyspace: Keyspace;
  node: string;
  maxId: number;
  logger: Logger;
}

export type AssertResult = 'held' | 'recreated' | 'taken-back';

const idKey = (ctx: ClaimContext, id: number): string => ctx.keyspace.key({ kind: 'nodeId', id: String(id) });

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
    const res = await ctx.store.create(key, ctx.node);
    if (res.created) return 'recreated';
    const holder = res.existing.value;
    if (holder === ctx.node) return 'held';
    if ((await committedHolder(ctx, id)) === holder)
      throw new NodeIdConflictError(ctx.node, id, holder, since);
    // A tentative claim (or a stale one from before a restore): ours by seniority.
    ctx.logger.warn({ id, holder }, 'taking back this node ID from a tentative claim');
    if (await ctx.store.deleteIf(key, res.existing.modRevision)) {
      const again = await ctx.store.create(key, ctx.node);
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
    const res = await ctx.store.create(idKey(ctx, id), ctx.node);
    if (!res.created && res.existing.value !== ctx.node) {
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
  for (let id = 1; id <= ctx.maxId; id++) if (!used.has(id)) return id;
  return undefined;
}

async function settles(ctx: ClaimContext, id: number, opts: FreshClaimOptions): Promise<boolean> {
  const deadline = new Deadline(opts.settleMs);
  for (;;) {
    const claim = await ctx.store.get(idKey(ctx, id));
    if (claim?.value !== ctx.node) return false;
    if ((await committedHolder(ctx, id)) !== undefined) return false;
    if (deadline.expired()) return true;
    await deadline.pause(opts.checkMs, opts.signal);
    // An abort ends the claim attempt with the signal's reason, not with a half-settled claim.
    opts.signal?.throwIfAborted();
  }
}
