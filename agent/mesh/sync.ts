// The mesh at run time (`--mesh`): follows the store-wide registry (`_shared/`: every cluster's
// plan and who holds which node ID) and, for each other cluster this node may mesh with
// (plan.ts meshRefusal), that cluster's `nodes/` keys (its node ID claims and nodes/info) — never
// its Kubernetes objects. On every change it renders, per remote cluster, a tunnel and a route
// per trusted remote node (plan.ts, reusing the local peers' renderers) and this node's source
// NAT with the meshed pod CIDRs left alone, and hands them to the pipeline as extra sources.
// A remote node is routed while its nodes/info exists: unlike a local peer, its Kubernetes Node
// is not in this cluster's view to keep it alive after its agent dies.
import type { Store } from '../../lib/etcd/store.ts';
import { errorMessage } from '../../lib/errors.ts';
import { Keyspace, SharedKeyspace } from '../../lib/keyspace.ts';
import type { Logger } from '../../lib/logging.ts';
import { sleep } from '../../lib/timing.ts';
import type { NodeContext } from '../renderers/context.ts';
import type { Item } from '../scheduler/descriptor.ts';
import { decode, type NodeInfo } from '../view/decode.ts';
import {
  decodePlan,
  meshRefusal,
  remotePeers,
  renderMeshSnat,
  renderRemoteCluster,
  type ClusterPlan,
} from './plan.ts';

const SHARED = new SharedKeyspace();

export interface MeshSyncOptions {
  store: Store;
  /** This node's cluster and its registered plan. */
  cluster: string;
  plan: ClusterPlan;
  ctx: NodeContext;
  /** Replaces one extra source's items in the pipeline (Pipeline.setExtra). */
  apply(source: string, items: Item[], description: string): Promise<unknown>;
  logger: Logger;
  retryMs?: number;
}

interface Remote {
  nodeIds: Map<number, string>;
  infos: Map<string, NodeInfo>;
  stop: AbortController;
  task: Promise<void>;
}

/** Pipeline source names of the mesh's items. */
export const MESH_SNAT_SOURCE = 'mesh-snat';
export const meshSource = (cluster: string): string => `mesh:${cluster}`;

export class MeshSync {
  private readonly opts: MeshSyncOptions;
  private readonly stop = new AbortController();
  private readonly plans = new Map<string, ClusterPlan>();
  private readonly sharedIds = new Map<number, string>();
  private readonly remotes = new Map<string, Remote>();
  /** Sources of the remote clusters rendered last time (emptied when their cluster goes). */
  private rendered = new Set<string>();
  /** Why a remote cluster or node is not routed, as last logged. */
  private readonly refused = new Map<string, string>();
  private task: Promise<void> = Promise.resolve();
  private applying: Promise<void> = Promise.resolve();

  constructor(opts: MeshSyncOptions) {
    this.opts = opts;
  }

  /** Starts following the registry; renders the source NAT at once (no remote cluster yet). */
  start(): void {
    this.render('mesh start');
    this.task = this.follow(SHARED.root, this.stop.signal, {
      reset: () => {
        this.plans.clear();
        this.sharedIds.clear();
      },
      change: (key, value) => this.onShared(key, value),
      batch: () => {
        this.reconcileRemotes();
        this.render('store-wide registry changed');
      },
    });
  }

  /** The remote nodes routed now, by cluster (for the agent's API and tests). */
  routed(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [name, r] of this.remotes) out[name] = [...r.infos.keys()].sort();
    return out;
  }

  async close(): Promise<void> {
    this.stop.abort();
    for (const r of this.remotes.values()) r.stop.abort();
    await Promise.allSettled([this.task, ...[...this.remotes.values()].map((r) => r.task)]);
    await this.applying.catch(() => undefined);
  }

  private onShared(key: string, value: string | undefined): void {
    const ref = SHARED.tryParse(key);
    if (ref?.kind === 'cluster') {
      if (value === undefined) this.plans.delete(ref.cluster);
      else
        try {
          this.plans.set(ref.cluster, decodePlan(value));
        } catch (err) {
          this.plans.delete(ref.cluster);
          this.opts.logger.warn(
            { key, err: errorMessage(err) },
            'ignoring an unreadable cluster registration',
          );
        }
    } else if (ref?.kind === 'sharedNodeId') {
      if (value === undefined) this.sharedIds.delete(Number(ref.id));
      else this.sharedIds.set(Number(ref.id), value);
    }
  }

  /** Follows the nodes/ keys of every cluster this node meshes with, and no other. */
  private reconcileRemotes(): void {
    const wanted = new Set<string>();
    for (const [name, plan] of this.plans) {
      if (name === this.opts.cluster) continue;
      const why = meshRefusal(this.opts.plan, name, plan);
      this.note(`cluster ${name}`, why);
      if (why === undefined) wanted.add(name);
    }
    for (const [name, r] of this.remotes)
      if (!wanted.has(name)) {
        r.stop.abort();
        this.remotes.delete(name);
      }
    for (const name of wanted) {
      if (this.remotes.has(name)) continue;
      const ks = new Keyspace(name);
      const stop = new AbortController();
      const remote: Remote = { nodeIds: new Map(), infos: new Map(), stop, task: Promise.resolve() };
      const signal = AbortSignal.any([stop.signal, this.stop.signal]);
      remote.task = this.follow(ks.root + 'nodes/', signal, {
        reset: () => {
          remote.nodeIds.clear();
          remote.infos.clear();
        },
        change: (key, value) => applyRemote(ks, remote, key, value, this.opts.logger),
        batch: () => this.render(`cluster ${name}'s nodes changed`),
      });
      this.remotes.set(name, remote);
    }
  }

  /** Renders every remote cluster and the source NAT; the pipeline commits only what changed. */
  private render(description: string): void {
    const { ctx } = this.opts;
    const current: [string, Item[]][] = [];
    for (const [name, r] of this.remotes) {
      const plan = this.plans.get(name);
      if (!plan) continue;
      const remote = { name, plan, nodeIds: r.nodeIds, infos: r.infos };
      const { peers, distrusted } = remotePeers(remote, this.sharedIds);
      for (const node of r.infos.keys()) this.note(`node ${node} of cluster ${name}`, distrusted.get(node));
      current.push([meshSource(name), renderRemoteCluster(ctx, remote, peers)]);
    }
    const now = new Set(current.map(([source]) => source));
    const gone = [...this.rendered].filter((s) => !now.has(s)).map((s): [string, Item[]] => [s, []]);
    this.rendered = now;
    const cidrs = [...this.remotes.keys()].flatMap((n) => this.plans.get(n)?.podCidr ?? []);
    // Routes of departed clusters go before the source NAT forgets them, and the source NAT
    // knows a new cluster before its routes exist: no packet across is ever masqueraded.
    const batches = [...gone, [MESH_SNAT_SOURCE, renderMeshSnat(ctx, cidrs)] as [string, Item[]], ...current];
    // Applied in order, one after the other: a later render never lands before an earlier one.
    this.applying = this.applying.then(async () => {
      for (const [source, items] of batches)
        await this.opts
          .apply(source, items, `mesh: ${description}`)
          .catch((err: unknown) =>
            this.opts.logger.warn({ source, err: errorMessage(err) }, 'mesh items not committed'),
          );
    });
  }

  /** Logs why something is not meshed, once per change of the reason. */
  private note(what: string, why: string | undefined): void {
    const before = this.refused.get(what);
    if (before === why) return;
    if (why === undefined) {
      this.refused.delete(what);
      this.opts.logger.info({ what }, 'meshed');
    } else {
      this.refused.set(what, why);
      this.opts.logger.warn({ what, why }, `not meshed: ${why}`);
    }
  }

  /** List, then watch from the next revision; a compacted or failed watch lists again. */
  private async follow(
    prefix: string,
    signal: AbortSignal,
    on: { reset(): void; change(key: string, value: string | undefined): void; batch(): void },
  ): Promise<void> {
    const { store, logger } = this.opts;
    while (!signal.aborted) {
      try {
        const { kvs, revision } = await store.list(prefix);
        on.reset();
        for (const kv of kvs) on.change(kv.key, kv.value);
        on.batch();
        for await (const ev of store.watch(prefix, { startRevision: revision + 1, signal })) {
          if (ev.type === 'compacted') break;
          if (ev.type === 'progress') continue;
          for (const c of ev.changes) on.change(c.key, c.type === 'put' ? c.value : undefined);
          on.batch();
        }
      } catch (err) {
        if (signal.aborted) return;
        logger.warn({ prefix, err: errorMessage(err) }, 'mesh watch failed; listing again');
        await sleep(this.opts.retryMs ?? 1_000, signal);
      }
    }
  }
}

function applyRemote(
  ks: Keyspace,
  remote: Remote,
  key: string,
  value: string | undefined,
  logger: Logger,
): void {
  const ref = ks.tryParse(key);
  if (ref?.kind === 'nodeId') {
    if (value === undefined) remote.nodeIds.delete(Number(ref.id));
    else remote.nodeIds.set(Number(ref.id), value);
  } else if (ref?.kind === 'nodeInfo') {
    if (value === undefined) remote.infos.delete(ref.name);
    else
      try {
        remote.infos.set(ref.name, decode.nodeInfo(value));
      } catch (err) {
        remote.infos.delete(ref.name);
        logger.warn({ key, err: errorMessage(err) }, 'ignoring an unreadable remote nodes/info');
      }
  }
}
