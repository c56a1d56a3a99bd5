// The node's attachments, published in etcd as attachments/<node>/<namespace>/<pod>/<ifname>: the
// KSR leader turns a pod's records into its `k8s.v1.cni.cncf.io/network-status` annotation (the
// agents never write to Kubernetes). This agent is the only writer of its node's records, and
// the local attachment store is their truth: each sync makes etcd match it, so a failed write is
// repaired by the next one (after every ADD and DEL, and periodically), and records left by a
// crash are removed.
import type { Store } from '../../lib/etcd/store.ts';
import type { Keyspace } from '../../lib/keyspace.ts';
import type { Logger } from '../../lib/logging.ts';
import type { AttachmentRecord } from '../../proto/gen/netloom/model/v1/AttachmentRecord.ts';
import type { Attachment } from './attachment.ts';

/** The name network-status gives the default network (the conflist's name). */
export const DEFAULT_NETWORK_STATUS_NAME = 'netloom';

export interface PublisherOptions {
  store: Store;
  keyspace: Keyspace;
  node: string;
  /** The node's attachments now. */
  attachments: () => readonly Attachment[];
  /** The MAC the data plane gave a natively wired interface ('' when not known). */
  macOf: (a: Attachment) => string;
  logger: Logger;
}

/** One attachment as its record (pure; the MAC of a native interface comes from the data plane). */
export function attachmentRecord(a: Attachment, mac: string): AttachmentRecord {
  const d = a.delegated;
  const name = d ? d.attachmentDefinition : a.network !== '' ? a.network : DEFAULT_NETWORK_STATUS_NAME;
  return {
    containerId: a.containerId,
    ...(a.podUid ? { podUid: a.podUid } : {}),
    ...(d ? { network: d.attachmentDefinition } : a.network !== '' ? { network: a.network } : {}),
    name,
    ips: d
      ? d.ips.map((ip) => (ip.includes('/') ? ip : `${ip}/${ip.includes(':') ? 128 : 32}`))
      : [`${a.ip}/32`],
    ...((d ? d.mac : mac) !== '' ? { mac: d ? d.mac : mac } : {}),
    ...(a.extra === true ? {} : { default: true }),
    ...(a.index !== undefined && a.index > 0 ? { index: a.index } : {}),
    ...(a.defaultRoute !== undefined && a.defaultRoute.length > 0 ? { gateways: a.defaultRoute } : {}),
  };
}

export class AttachmentPublisher {
  private readonly opts: PublisherOptions;
  /** What etcd holds, as last read or written (key → JSON); undefined until first read. */
  private held: Map<string, string> | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(opts: PublisherOptions) {
    this.opts = opts;
  }

  /** Schedules a sync; calls made while one runs are folded into one more. */
  changed(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  /** Resolves once every change made so far is published (or has failed and been logged). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** One sync: etcd made equal to the local attachments. Throws when etcd fails. */
  async sync(): Promise<{ put: number; deleted: number }> {
    const { store, keyspace, node } = this.opts;
    if (!this.held) {
      const { kvs } = await store.list(keyspace.prefix('attachment', node));
      this.held = new Map(kvs.map((kv) => [kv.key, kv.value]));
    }
    const want = new Map<string, string>();
    for (const a of this.opts.attachments()) {
      const key = keyspace.key({
        kind: 'attachment',
        node,
        namespace: a.namespace,
        pod: a.pod,
        ifname: a.ifname,
      });
      want.set(key, JSON.stringify(attachmentRecord(a, this.opts.macOf(a))));
    }
    let put = 0;
    let deleted = 0;
    for (const [key, value] of want) {
      if (this.held.get(key) === value) continue;
      await store.put(key, value);
      this.held.set(key, value);
      put++;
    }
    for (const key of [...this.held.keys()]) {
      if (want.has(key)) continue;
      await store.delete(key);
      this.held.delete(key);
      deleted++;
    }
    return { put, deleted };
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.sync();
      } catch (err) {
        // The next change or the periodic sync repairs it; what etcd holds is read again.
        this.held = undefined;
        this.opts.logger.warn({ err }, 'publishing the node attachments failed; retried on the next sync');
      }
    } while (this.again);
  }
}
