// Giving a departed node's ID back: when its Kubernetes Node is deleted (an observed delete,
// never mere absence) and, after a grace period, it is still gone and no agent publishes it,
// its nodes/id claim (and the store-wide _shared/node-ids one), its ipam/<node>/ records and
// its attachments/<node>/ records (what network-status and the network registry's in-use
// check read) are deleted. Every agent may do it; the deletes are conditional and idempotent. A node whose agent comes back with its state file
// re-asserts its ID (or stops loudly if it was reissued meanwhile; see claim.ts).
import type { Store } from '../../lib/etcd/store.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Keyspace } from '../../lib/keyspace.ts';
import type { Logger } from '../../lib/logging.ts';
import type { ClusterView, ViewChange } from '../view/view.ts';
import { releaseClaim } from './claim.ts';

export interface DepartedNodesOptions {
  store: Store;
  keyspace: Keyspace;
  view: ClusterView;
  delayMs: number;
  logger: Logger;
}

export class DepartedNodes {
  private readonly opts: DepartedNodesOptions;
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(opts: DepartedNodesOptions) {
    this.opts = opts;
  }

  observe(changes: readonly ViewChange[]): void {
    for (const c of changes) {
      if (c.kind !== 'node' || !c.old || c.new || this.timers.has(c.name)) continue;
      const t = setTimeout(() => {
        this.timers.delete(c.name);
        this.release(c.name).catch((err: unknown) =>
          this.opts.logger.warn({ node: c.name, err: errorMessage(err) }, 'releasing a departed node failed'),
        );
      }, this.opts.delayMs);
      t.unref();
      this.timers.set(c.name, t);
    }
  }

  /** Releases now if the node is still gone; returns the IDs released. */
  async release(name: string): Promise<string[]> {
    const { store, keyspace, view, logger } = this.opts;
    if (view.nodes.get(name) || view.nodeInfos.get(name)) return [];
    const released: string[] = [];
    for (const id of [...view.idsOfNode(name)]) {
      const kv = await store.get(keyspace.key({ kind: 'nodeId', id }));
      // Both the cluster's claim and the store-wide one (_shared/node-ids), each only if still the node's.
      if (
        kv?.value === name &&
        (await releaseClaim({ store, keyspace, node: name }, Number(id), kv.modRevision))
      )
        released.push(id);
    }
    const records = await store.deletePrefix(keyspace.prefix('ipam', name));
    // Its pods are gone with it: a network they used must not stay held by their records.
    const attached = await store.deletePrefix(keyspace.prefix('attachment', name));
    if (released.length > 0 || records > 0 || attached > 0)
      logger.info(
        { node: name, ids: released, ipamRecords: records, attachmentRecords: attached },
        'released a departed node',
      );
    return released;
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
