// What the CNI service needs from the rest of the agent, narrowed to the calls it makes: the
// node's IPAM (agent/ipam PodIpam fits), the node's attachment store (agent/attachments
// AttachmentStore fits), the pipeline that turns attachments into items (agent/pipeline Pipeline
// fits: the only writer to the scheduler) and the scheduler's read side (KvScheduler fits).
import type { Attachment } from '../attachments/attachment.ts';
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
  /** Releases a container's addresses; nothing to release is fine. */
  release(containerId: string, ifname?: string): Promise<string[]>;
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
