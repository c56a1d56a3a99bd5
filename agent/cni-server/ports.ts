// What the CNI service needs from the rest of the agent, narrowed to the calls it makes: the
// node's IPAM (agent/ipam PodIpam fits), the node's attachment store (agent/attachments
// AttachmentStore fits), the pipeline that turns attachments into items (agent/pipeline Pipeline
// fits: the only writer to the scheduler) and the scheduler's read side (KvScheduler fits).
import type { Attachment } from '../attachments/attachment.ts';
import type { DelegateRequest, DelegateResult } from '../multinet/delegate.ts';
import type { Identity } from './request.ts';
import type { PodNetworks } from './pod-networks.ts';
import type { Allocation, AllocationRequest } from '../ipam/allocator.ts';
import type { PodCommit } from '../pipeline/pipeline.ts';
import type { Item } from '../scheduler/descriptor.ts';
import type { AppliedItem } from '../scheduler/scheduler.ts';
import type { TxnRecord } from '../scheduler/txn-log.ts';
import type { ItemStatus } from '../scheduler/status.ts';

export interface IpamPort {
  /** Allocates (or returns the existing) address, persisted before it resolves. */
  allocate(req: AllocationRequest): Promise<Allocation>;
  /**
   * Picks an address at once, persisting it meanwhile (`persisted` has the final allocation,
   * which names another address if the one picked was taken). Undefined: use allocate().
   */
  reserve?(req: AllocationRequest): { ip: string; persisted: Promise<Allocation> } | undefined;
  /** Allocates exactly `ip` (an address the pod asked for); refused when it cannot be had. */
  allocateExact?(req: AllocationRequest, ip: string): Promise<Allocation>;
  /** Releases a container's addresses (`network`: the attachment's, when known); nothing to release is fine. */
  release(containerId: string, ifname?: string, network?: string): Promise<string[]>;
  records(): { ip: string; entry: { containerId: string; ifname: string; network: string } }[];
}

/** Pod attachments in, items committed: the pipeline keeps who owns each pod interface. */
export interface PodsPort {
  attachPod(a: Attachment, description: string): Promise<PodCommit>;
  detachPod(a: Attachment, description: string): Promise<{ gone: string[]; record?: TxnRecord }>;
  ownerOf(a: Pick<Attachment, 'namespace' | 'pod' | 'ifname'>): Attachment | undefined;
  itemsOf(a: Attachment): Item[];
}

/** The scheduler's read side: a CNI call waits on items and reads one, never writes. */
export interface ItemsPort {
  waitSettled(keys: readonly string[], signal?: AbortSignal): Promise<ItemStatus[]>;
  status(key: string): ItemStatus | undefined;
  applied(key: string): AppliedItem | undefined;
}

export interface Readiness {
  ready: boolean;
  reason?: string;
}

export interface AttachmentsPort {
  /** Oldest first. */
  all(): Attachment[];
  get(containerId: string, ifname: string): Attachment | undefined;
  /** Resolves once the attachment is on disk. */
  add(a: Attachment): Promise<void>;
  remove(containerId: string, ifname?: string): Promise<Attachment[]>;
}

/** A delegated plugin call; where plugins live and run is the port's business. */
export type DelegateCall = Omit<DelegateRequest, 'binDirs' | 'runIn' | 'timeoutMs' | 'runner'>;

/** Multi-network: which networks a pod joins, other plugins, and publishing what was attached. */
export interface NetworksPort {
  /** The pod's networks; for a pod the view does not know yet, waits a little where it matters. */
  plan(id: Identity): Promise<PodNetworks>;
  delegateAdd(call: DelegateCall): Promise<DelegateResult>;
  delegateDel(call: DelegateCall): Promise<void>;
  delegateCheck(call: DelegateCall): Promise<void>;
  /** Points the pod's default route at `gateway` through `ifname` (a delegated interface's `default-route`). */
  setDefaultRoute(netns: string, ifname: string, gateway: string): Promise<void>;
  /** The node's attachments changed: publish them (attachments/<node>/…, for network-status). */
  changed(): void;
}
