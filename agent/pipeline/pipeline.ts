// The agent's pipeline, and the only writer to the KV scheduler: the view and this node's pod
// attachments in, desired items out, through the pure renderers. A full render feeds a resync;
// a view change re-renders only the sources it touches (a peer, a Service with its endpoints);
// an attached or detached pod re-renders that pod interface alone.
//
// Pod ownership lives here and nowhere else. Several attachments can name one pod interface
// (`pod-interface/<ns>/<pod>/<if>`): a runtime that replaces a sandbox ADDs the new one before
// it DELs the old. The newest attachment of a pod interface renders it; when it goes, the next
// newest (the heir) takes over, and the difference between the two renderings is what the
// scheduler sees. Every change to the desired state is computed synchronously and committed in
// call order, so two concurrent ADD/DEL calls can never interleave their views of ownership.
import type { Logger } from '../../lib/logging.ts';
import { isNative, type Attachment } from '../attachments/attachment.ts';
import { isNetworkOnNode, networkOnNode, type NetworkOnNode } from '../networks/plan.ts';
import { podInterfaceKey, policyKey } from '../items/keys.ts';
import type { Item } from '../scheduler/descriptor.ts';
import type { Change, KvScheduler } from '../scheduler/scheduler.ts';
import type { TxnRecord } from '../scheduler/txn-log.ts';
import type { NodeContext, PeerNode } from '../renderers/context.ts';
import { renderNetworkBase, renderNetworkPeer } from '../renderers/networks.ts';
import { renderNodeBase } from '../renderers/node.ts';
import { peerFor } from '../renderers/peer-select.ts';
import { renderPeer } from '../renderers/peers.ts';
import { renderPodAttachment } from '../renderers/pods.ts';
import { renderPolicies, type LocalInterface } from '../renderers/policy.ts';
import { renderService } from '../renderers/services.ts';
import type { ClusterView, ViewChange } from '../view/view.ts';
import { DesiredState } from './desired.ts';

export interface PipelineOptions {
  ctx: NodeContext;
  view: ClusterView;
  scheduler: Pick<KvScheduler, 'commit' | 'resync'>;
  /** Attachments recorded before this start (the attachment store), oldest first. */
  attachments: readonly Attachment[];
  subnetOf: (id: number) => string | undefined;
  gatewayOffset: number;
  logger: Logger;
}

/** What committing a pod attachment asked of the data plane. */
export interface PodCommit {
  /** The attachment's items, its pod interface first. */
  items: Item[];
  record: TxnRecord;
}

/** The desired-state source of every policy item. */
const POLICY_SOURCE = 'policy';
/** The desired-state source of one network's items on this node (its base and its peers). */
const networkSource = (name: string): string => `net:${name}`;
/** View changes the policies are computed from. */
const POLICY_INPUTS: ReadonlySet<ViewChange['kind']> = new Set(['namespace', 'pod', 'policy', 'node']);

const podKeyOf = (a: Pick<Attachment, 'namespace' | 'pod' | 'ifname'>): string =>
  podInterfaceKey(a.namespace, a.pod, a.ifname);
const sameAttachment = (a: Attachment, b: Pick<Attachment, 'containerId' | 'ifname'>): boolean =>
  a.containerId === b.containerId && a.ifname === b.ifname;

export class Pipeline {
  private readonly opts: PipelineOptions;
  private desired = new DesiredState();
  private readonly lastKnown = new Map<string, PeerNode>();
  /** Attachments per pod interface key, oldest first: the last one renders the interface. */
  private readonly pods = new Map<string, Attachment[]>();
  /** Extra sources (setExtra): items from parts of the agent other than the renderers. */
  private readonly extras = new Map<string, Item[]>();
  /**
   * The custom networks usable on this node, by `<namespace>/<name>`. A network whose record
   * goes away (or turns unusable) while local pods still use it is kept as it was: its pods
   * keep working until they are deleted (the KSR also holds the record while pods use it).
   */
  private networks = new Map<string, NetworkOnNode>();

  constructor(opts: PipelineOptions) {
    this.opts = opts;
    for (const a of opts.attachments) if (isNative(a)) this.remember(a);
    this.networks = this.usableNetworks();
  }

  /** Renders everything and resyncs the scheduler to it (reading the data plane back if asked). */
  resync(retrieve: boolean, description: string): Promise<TxnRecord> {
    this.desired = new DesiredState();
    this.desired.set('node', renderNodeBase(this.opts.ctx));
    for (const name of this.peerNames()) this.desired.set(`peer:${name}`, this.renderPeerNamed(name));
    this.networks = this.usableNetworks();
    const peers = this.peerNodes();
    for (const name of this.networks.keys())
      this.desired.set(networkSource(name), this.renderNetwork(name, peers));
    for (const [key, list] of this.pods) this.desired.set(key, this.renderPod(list));
    for (const name of this.opts.view.services.items.keys())
      this.desired.set(`svc:${name}`, this.renderServiceNamed(name));
    this.desired.set(POLICY_SOURCE, this.renderPolicy());
    for (const [source, items] of this.extras) this.desired.set(`extra:${source}`, items);
    return this.opts.scheduler.resync({ desired: this.desired.items(), retrieve, description });
  }

  /**
   * Hook for parts of the agent outside the renderers (the multi-cluster mesh, agent/mesh/):
   * replaces the items of one extra source and commits the difference; kept across resyncs.
   * Extra sources are set last, so an extra item with the key of a rendered one replaces it
   * (the mesh's source NAT replaces the node's).
   */
  async setExtra(source: string, items: Item[], description: string): Promise<TxnRecord | undefined> {
    if (items.length === 0) this.extras.delete(source);
    else this.extras.set(source, items);
    const changes = this.desired.set(`extra:${source}`, items);
    return changes.length === 0 ? undefined : this.opts.scheduler.commit(changes, description);
  }

  /** Applies the consequences of view changes; undefined when nothing the agent renders changed. */
  async onViewChanges(changes: readonly ViewChange[]): Promise<TxnRecord | undefined> {
    const peers = new Set<string>();
    const services = new Set<string>();
    let policies = false;
    let networks = false;
    for (const c of changes) {
      if (c.kind === 'network') networks = true;
      if (c.kind === 'nodeInfo' || c.kind === 'node') peers.add(c.name);
      if (c.kind === 'nodeId') for (const n of [c.old, c.new]) if (n) peers.add(n);
      // Endpoints are keyed by their Service's namespace/name.
      if (c.kind === 'service' || c.kind === 'endpoints') services.add(c.name);
      if (POLICY_INPUTS.has(c.kind)) policies = true;
    }
    peers.delete(this.opts.ctx.node);
    const out: Change[] = [];
    for (const name of peers) out.push(...this.desired.set(`peer:${name}`, this.renderPeerNamed(name)));
    for (const name of services) out.push(...this.desired.set(`svc:${name}`, this.renderServiceNamed(name)));
    if (networks || peers.size > 0) out.push(...this.refreshNetworks());
    // Only the sets and pod policies whose value changed reach the scheduler (a label change:
    // set members).
    if (policies) out.push(...this.desired.set(POLICY_SOURCE, this.renderPolicy()));
    if (out.length === 0) return undefined;
    const what = [
      ...(networks ? ['networks'] : []),
      ...(peers.size > 0 ? [`peers ${[...peers].join(',')}`] : []),
      ...(services.size > 0
        ? [
            `services ${[...services].slice(0, 5).join(',')}${services.size > 5 ? ` (+${services.size - 5})` : ''}`,
          ]
        : []),
    ];
    return this.opts.scheduler.commit(out, what.join('; '));
  }

  /**
   * Makes `a` the newest attachment of its pod interface (a repeated ADD refreshes it) and
   * commits the difference; resolves once the transaction ran (not once items are configured).
   */
  async attachPod(a: Attachment, description: string): Promise<PodCommit> {
    this.remember(a);
    const key = podKeyOf(a);
    // The pod's policy goes in the same transaction as its interface, so its first packet is
    // already judged (and it is part of what ADD waits for).
    const policy = this.renderPolicy();
    const own = policyKey(a.namespace, a.pod, a.ifname);
    const items = [...this.itemsOf(a), ...policy.filter((i) => i.key === own)];
    const record = await this.opts.scheduler.commit(
      [
        ...this.desired.set(key, this.renderPod(this.pods.get(key)!)),
        ...this.desired.set(POLICY_SOURCE, policy),
      ],
      description,
    );
    return { items, record };
  }

  /**
   * Forgets an attachment and commits the difference: its items go, or the heir's replace
   * them. Returns the keys `a` rendered that nobody renders now (what must leave the data plane).
   */
  async detachPod(a: Attachment, description: string): Promise<{ gone: string[]; record?: TxnRecord }> {
    const key = podKeyOf(a);
    const list = (this.pods.get(key) ?? []).filter((o) => !sameAttachment(o, a));
    if (list.length > 0) this.pods.set(key, list);
    else this.pods.delete(key);
    const policy = this.renderPolicy();
    const kept = new Set([...this.renderPod(list), ...policy].map((i) => i.key));
    const gone = [...this.itemsOf(a).map((i) => i.key), policyKey(a.namespace, a.pod, a.ifname)].filter(
      (k) => !kept.has(k) && (k !== policyKey(a.namespace, a.pod, a.ifname) || this.desired.has(k)),
    );
    const changes = [
      ...this.desired.set(key, this.renderPod(list)),
      ...this.desired.set(POLICY_SOURCE, policy),
      // A network kept only for its pods goes with the last of them.
      ...(a.network !== '' ? this.refreshNetworks() : []),
    ];
    if (changes.length === 0) return { gone };
    return { gone, record: await this.opts.scheduler.commit(changes, description) };
  }

  /** The attachment that renders a pod interface now. */
  ownerOf(a: Pick<Attachment, 'namespace' | 'pod' | 'ifname'>): Attachment | undefined {
    return this.pods.get(podKeyOf(a))?.at(-1);
  }

  /** The items `a` renders (whether or not it owns its pod interface). */
  itemsOf(a: Attachment): Item[] {
    return renderPodAttachment(this.opts.ctx, a, this.networkOf(a));
  }

  /** The network an attachment would join on this node, if the node can use it. */
  network(name: string): NetworkOnNode | undefined {
    return this.networks.get(name);
  }

  /** Every item this pipeline wants, as it last committed them. */
  desiredItems(): Item[] {
    return this.desired.items();
  }

  private remember(a: Attachment): void {
    const key = podKeyOf(a);
    const list = (this.pods.get(key) ?? []).filter((o) => !sameAttachment(o, a));
    list.push(a);
    this.pods.set(key, list);
  }

  private renderPod(list: readonly Attachment[]): Item[] {
    const owner = list.at(-1);
    return owner ? this.itemsOf(owner) : [];
  }

  private networkOf(a: Attachment): NetworkOnNode | undefined {
    return a.network === '' ? undefined : this.networks.get(a.network);
  }

  /**
   * The networks this node can use now: every valid record of the view, and the last known
   * form of any network a local pod still uses (kept, not re-validated, until its pods go).
   */
  private usableNetworks(): Map<string, NetworkOnNode> {
    const { ctx, logger, view } = this.opts;
    const out = new Map<string, NetworkOnNode>();
    for (const [name, record] of view.networks.items) {
      const net = networkOnNode(record, ctx.id, ctx.vni);
      if (isNetworkOnNode(net) && net.name === name) out.set(name, net);
      else if (this.networks.get(name) === undefined)
        logger.warn(
          { network: name, problem: isNetworkOnNode(net) ? 'name differs from key' : net.problem },
          'network record not usable',
        );
    }
    const inUse = new Set([...this.pods.values()].map((l) => l.at(-1)!.network).filter((n) => n !== ''));
    for (const name of inUse) {
      const kept = this.networks.get(name);
      if (kept && out.get(name) === undefined) out.set(name, kept);
    }
    return out;
  }

  /** Every usable network's subnets, sorted (services keep these clients' addresses). */
  private networkSubnets(): string[] {
    return [...this.networks.values()].flatMap((n) => n.subnets).sort();
  }

  /** Re-renders every network (a network or a peer changed), and the pods of changed networks. */
  private refreshNetworks(): Change[] {
    const before = this.networks;
    const subnetsBefore = this.networkSubnets().join();
    this.networks = this.usableNetworks();
    const out: Change[] = [];
    if (this.networkSubnets().join() !== subnetsBefore)
      for (const name of this.opts.view.services.items.keys())
        out.push(...this.desired.set(`svc:${name}`, this.renderServiceNamed(name)));
    const peers = this.peerNodes();
    for (const name of new Set([...before.keys(), ...this.networks.keys()])) {
      out.push(
        ...this.desired.set(
          networkSource(name),
          this.networks.has(name) ? this.renderNetwork(name, peers) : [],
        ),
      );
      if (sameNetwork(before.get(name), this.networks.get(name))) continue;
      for (const [key, list] of this.pods)
        if (list.at(-1)!.network === name) out.push(...this.desired.set(key, this.renderPod(list)));
    }
    return out;
  }

  /** Every peer node now, judged once for all the networks rendered together. */
  private peerNodes(): PeerNode[] {
    return [...this.peerNames()].flatMap((name) => this.peerNode(name) ?? []);
  }

  /** One network's items on this node: its base and, per peer, tunnel and route. */
  private renderNetwork(name: string, peers: readonly PeerNode[]): Item[] {
    const net = this.networks.get(name)!;
    const all = [...this.networks.values()].flatMap((n) => n.subnets);
    const items = renderNetworkBase(this.opts.ctx, net, all);
    for (const p of peers) items.push(...renderNetworkPeer(this.opts.ctx, net, p));
    return items;
  }

  /** Every local pod interface's policy and the peer sets they name (one source: it is one computation). */
  private renderPolicy(): Item[] {
    const { view } = this.opts;
    const local: LocalInterface[] = [];
    for (const list of this.pods.values()) {
      const a = list.at(-1)!;
      local.push({ namespace: a.namespace, pod: a.pod, ifname: a.ifname, ips: [a.ip] });
    }
    return renderPolicies(
      this.opts.ctx,
      {
        namespaces: view.namespaces.items,
        pods: view.pods.items,
        policies: view.policies.items,
        nodes: view.nodes.items,
      },
      local,
    );
  }

  private renderServiceNamed(name: string): Item[] {
    const svc = this.opts.view.services.get(name);
    return svc
      ? renderService(this.opts.ctx, svc, this.opts.view.endpoints.get(name), this.networkSubnets())
      : [];
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
    const peer = this.peerNode(name);
    return peer ? renderPeer(this.opts.ctx, peer, this.opts.gatewayOffset) : [];
  }

  /** Which peer node `name` is now (and remembers it while its record is usable). */
  private peerNode(name: string): PeerNode | undefined {
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
    return peer;
  }
}

/** Whether two renderings of a network would wire its pods the same way. */
function sameNetwork(a: NetworkOnNode | undefined, b: NetworkOnNode | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.id === b.id &&
    a.block.cidr === b.block.cidr &&
    a.block.gateway === b.block.gateway &&
    a.subnets.join() === b.subnets.join()
  );
}
