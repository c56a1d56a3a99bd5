// Leaked allocations: an ipam/<node>/<ip> record whose pod is gone from Kubernetes and which
// has no interface on this node (a DEL that never came, a crash between allocation and
// wiring). A record is collected only when it was already a suspect, unchanged, one pass
// earlier — an ADD in flight (allocated, pod not yet mirrored) is never taken — and only once
// KSR has completed a full sync, so an empty mirror cannot condemn everything.
import type { Logger } from '../../lib/logging.ts';
import type { IpamRecord, PodIpam } from './allocator.ts';

/** What the collector reads and deletes (a PodIpam, or the node's allocators together). */
export type LeakSource = Pick<PodIpam, 'records' | 'collect'>;

export interface LeakInputs {
  /** KSR finished a full sync of Kubernetes into etcd. */
  mirrorComplete(): boolean;
  podExists(namespace: string, name: string): boolean;
  hasInterface(containerId: string, ifname: string): boolean;
}

/** Pure: which records to collect now, and the suspects for the next pass. */
export function judge(
  records: readonly IpamRecord[],
  inputs: Pick<LeakInputs, 'podExists' | 'hasInterface'>,
  suspects: ReadonlyMap<string, number>,
): { collect: Set<string>; suspects: Map<string, number> } {
  const collect = new Set<string>();
  const next = new Map<string, number>();
  for (const r of records) {
    const leaked =
      !inputs.podExists(r.entry.namespace, r.entry.pod) &&
      !inputs.hasInterface(r.entry.containerId, r.entry.ifname);
    if (!leaked) continue;
    if (suspects.get(r.ip) === r.modRevision) collect.add(r.ip);
    else next.set(r.ip, r.modRevision);
  }
  return { collect, suspects: next };
}

export class LeakCollector {
  private suspects = new Map<string, number>();
  private readonly ipam: LeakSource;
  private readonly inputs: LeakInputs;
  private readonly logger: Logger;

  constructor(ipam: LeakSource, inputs: LeakInputs, logger: Logger) {
    this.ipam = ipam;
    this.inputs = inputs;
    this.logger = logger;
  }

  /** One pass; returns the addresses released. */
  async run(): Promise<string[]> {
    if (!this.inputs.mirrorComplete()) return [];
    const verdict = judge(this.ipam.records(), this.inputs, this.suspects);
    this.suspects = verdict.suspects;
    if (verdict.collect.size === 0) return [];
    const released = await this.ipam.collect((r) => verdict.collect.has(r.ip));
    if (released.length > 0) this.logger.info({ released }, 'released leaked pod addresses');
    return released;
  }
}
