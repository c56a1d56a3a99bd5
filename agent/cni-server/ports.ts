// What the CNI service needs from the rest of the agent, narrowed to the calls it makes: the
// node's IPAM (agent/ipam PodIpam fits), the KV scheduler (agent/scheduler KvScheduler fits)
// and the node's attachment store (agent/attachments AttachmentStore fits).
import type { Attachment } from '../attachments/attachment.ts';
import type { Allocation, AllocationRequest } from '../ipam/allocator.ts';
import type { TxnRecord } from '../scheduler/txn-log.ts';
import type { ItemStatus } from '../scheduler/status.ts';

export interface IpamPort {
  /** Allocates (or returns the existing) address, persisted before it resolves. */
  allocate(req: AllocationRequest): Promise<Allocation>;
  /** Releases a container's addresses; nothing to release is fine. */
  release(containerId: string, ifname?: string): Promise<string[]>;
  records(): { ip: string; entry: { containerId: string; ifname: string; network: string } }[];
}

export interface SchedulerPort {
  commit(changes: Iterable<{ key: string; value: unknown }>, description?: string): Promise<TxnRecord>;
  waitSettled(keys: readonly string[], signal?: AbortSignal): Promise<ItemStatus[]>;
  status(key: string): ItemStatus | undefined;
  appliedItems(): { key: string; metadata: unknown }[];
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
