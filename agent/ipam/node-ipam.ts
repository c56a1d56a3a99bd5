// All of a node's pod addresses: the default network's allocator, and one allocator per custom
// network for this node's block of it. A network's allocator is made (and loads the node's
// records of that network) the first time a pod of the node joins the network, or at start for
// every network the node's attachments name. Every record lives under ipam/<node>/ with its
// network in the entry; network subnets never overlap (the KSR refuses a network that would),
// so an address names one record.
import { NetloomError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logging.ts';
import type { NetworkOnNode } from '../networks/plan.ts';
import type { Allocation, AllocationRequest, IpamRecord, PodIpam } from './allocator.ts';

/** A pod asked for a network this node cannot use (unknown, or without a block for the node). */
export class UnknownNetworkError extends NetloomError {}

export interface NodeIpamOptions {
  /** The default network's allocator (loaded). */
  defaults: PodIpam;
  /** Makes an (unloaded) allocator for this node's block of a network. */
  allocatorFor: (net: NetworkOnNode) => PodIpam;
  /** The network by `<namespace>/<name>`, as this node uses it now. */
  network: (name: string) => NetworkOnNode | undefined;
  logger: Logger;
}

export class NodeIpam {
  private readonly opts: NodeIpamOptions;
  /** By network name; the block is part of the value so a changed block gets a new allocator. */
  private readonly byNetwork = new Map<string, { block: string; ipam: Promise<PodIpam>; ready?: PodIpam }>();

  constructor(opts: NodeIpamOptions) {
    this.opts = opts;
  }

  get defaults(): PodIpam {
    return this.opts.defaults;
  }

  /** Loads the allocators of the networks named (those the node's attachments use), where known. */
  async loadNetworks(names: Iterable<string>): Promise<void> {
    for (const name of new Set(names)) {
      if (name === '') continue;
      await this.allocator(name).catch((err: unknown) =>
        this.opts.logger.warn({ network: name, err }, 'IPAM of a network in use not loaded'),
      );
    }
  }

  allocate(req: AllocationRequest): Promise<Allocation> {
    return this.allocator(req.network ?? '').then((a) => a.allocate(req));
  }

  /** Picks at once where the network's allocator is loaded; undefined sends the caller to allocate(). */
  reserve(req: AllocationRequest): { ip: string; persisted: Promise<Allocation> } | undefined {
    const name = req.network ?? '';
    if (name === '') return this.opts.defaults.reserve(req);
    const entry = this.byNetwork.get(name);
    const net = this.opts.network(name);
    return entry?.ready && net && entry.block === net.block.cidr ? entry.ready.reserve(req) : undefined;
  }

  /** Exactly `ip` (a requested address) in the request's network. */
  allocateExact(req: AllocationRequest, ip: string): Promise<Allocation> {
    return this.allocator(req.network ?? '').then((a) => a.allocateExact(req, ip));
  }

  /**
   * Releases a container's addresses in every loaded allocator, and first loads the allocator
   * of `network` (the attachment's) if it was not yet, so no address of it is left held.
   */
  async release(containerId: string, ifname?: string, network?: string): Promise<string[]> {
    if (network !== undefined && network !== '') await this.allocator(network).catch(() => undefined);
    const out: string[] = [];
    for (const a of this.loaded()) out.push(...(await a.release(containerId, ifname)));
    return out;
  }

  records(): IpamRecord[] {
    return this.loaded().flatMap((a) => a.records());
  }

  async collect(isLeak: (r: IpamRecord) => boolean): Promise<string[]> {
    const out: string[] = [];
    for (const a of this.loaded()) out.push(...(await a.collect(isLeak)));
    return out;
  }

  /** Every loaded allocator, the default first. */
  loaded(): PodIpam[] {
    return [this.opts.defaults, ...[...this.byNetwork.values()].flatMap((e) => (e.ready ? [e.ready] : []))];
  }

  private allocator(name: string): Promise<PodIpam> {
    if (name === '') return Promise.resolve(this.opts.defaults);
    const net = this.opts.network(name);
    if (!net)
      return Promise.reject(
        new UnknownNetworkError(
          `network ${name} is not usable on this node (no such netloom network, or no block for this node's ID)`,
        ),
      );
    const known = this.byNetwork.get(name);
    if (known && known.block === net.block.cidr) return known.ipam;
    const ipam = this.opts.allocatorFor(net);
    const entry: { block: string; ipam: Promise<PodIpam>; ready?: PodIpam } = {
      block: net.block.cidr,
      ipam: ipam.load().then(() => {
        entry.ready = ipam;
        return ipam;
      }),
    };
    // A failed load is forgotten, so the next ADD tries again.
    entry.ipam.catch(() => {
      if (this.byNetwork.get(name) === entry) this.byNetwork.delete(name);
    });
    this.byNetwork.set(name, entry);
    return entry.ipam;
  }
}
