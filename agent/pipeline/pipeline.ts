// The agent's pipeline: the view in, desired items out, through the renderers, into the KV
// scheduler. A full render feeds a resync; a view change re-renders only the sources it
// touches (a peer). Local pod items come from a PodSource (whoever wires pods: the CNI
// server commits each pod's items itself and lists them all here for full resyncs).
import type { Logger } from '../../lib/logging.ts';
import type { Item } from '../scheduler/descriptor.ts';
import type { Change, KvScheduler } from '../scheduler/scheduler.ts';
import type { TxnRecord } from '../scheduler/txn-log.ts';
import type { NodeContext, PeerNode } from '../renderers/context.ts';
import { renderNodeBase } from '../renderers/node.ts';
import { peerFor } from '../renderers/peer-select.ts';
import { renderPeer } from '../renderers/peers.ts';
import type { ClusterView, ViewChange } from '../view/view.ts';
import { DesiredState } from './desired.ts';

/** Every local pod's items, as they are desired now. */
export interface PodSource {
  items(): Item[];
}

export interface PipelineOptions {
  ctx: NodeContext;
  view: ClusterView;
  scheduler: KvScheduler;
  pods: PodSource;
  subnetOf: (id: number) => string | undefined;
  gatewayOffset: number;
  logger: Logger;
}

export class Pipeline {
  private readonly opts: PipelineOptions;
  private desired = new DesiredState();
  private readonly lastKnown = new Map<string, PeerNode>();

  constructor(opts: PipelineOptions) {
    this.opts = opts;
  }

  /** Renders everything and resyncs the scheduler to it (reading the data plane back if asked). */
  resync(retrieve: boolean, description: string): Promise<TxnRecord> {
    this.desired = new DesiredState();
    this.desired.set('node', renderNodeBase(this.opts.ctx));
    for (const name of this.peerNames()) this.desired.set(`peer:${name}`, this.renderPeerNamed(name));
    return this.opts.scheduler.resync({
      desired: [...this.desired.items(), ...this.opts.pods.items()],
      retrieve,
      description,
    });
  }

  /** Applies the consequences of view changes; undefined when nothing the agent renders changed. */
  async onViewChanges(changes: readonly ViewChange[]): Promise<TxnRecord | undefined> {
    const peers = new Set<string>();
    for (const c of changes) {
      if (c.kind === 'nodeInfo' || c.kind === 'node') peers.add(c.name);
      if (c.kind === 'nodeId') for (const n of [c.old, c.new]) if (n) peers.add(n);
    }
    peers.delete(this.opts.ctx.node);
    const out: Change[] = [];
    for (const name of peers) out.push(...this.desired.set(`peer:${name}`, this.renderPeerNamed(name)));
    if (out.length === 0) return undefined;
    return this.opts.scheduler.commit(out, `peers ${[...peers].join(',')}`);
  }

  /** The node's and peers' items (pods' are the PodSource's). */
  desiredItems(): Item[] {
    return this.desired.items();
  }

  private peerNames(): Set<string> {
    const { view } = this.opts;
    const names = new Set([
      ...view.nodeInfos.items.keys(),
      ...view.nodes.items.keys(),
      ...this.lastKnown.keys(),
    ]);
    names.delete(this.opts.ctx.node);
    return names;
  }

  private renderPeerNamed(name: string): Item[] {
    const { view } = this.opts;
    const info = view.nodeInfos.get(name);
    const k8sNode = view.nodes.get(name);
    const ids = [...view.idsOfNode(name)];
    const peer = peerFor(name, {
      ...(info ? { info } : {}),
      ...(k8sNode ? { k8sNode } : {}),
      ...(ids.length === 1 ? { claimedId: Number(ids[0]) } : {}),
      ...(this.lastKnown.has(name) ? { lastKnown: this.lastKnown.get(name)! } : {}),
      subnetOf: this.opts.subnetOf,
    });
    if (peer && info) this.lastKnown.set(name, peer);
    if (!k8sNode && !info) this.lastKnown.delete(name);
    return peer ? renderPeer(this.opts.ctx, peer, this.opts.gatewayOffset) : [];
  }
}
