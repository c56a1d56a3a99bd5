// The node's pod attachments (one per container ID + interface): what the runtime told the
// agent and what IPAM gave it. Kept in memory and as one JSON file each under the state
// directory, written (atomically) before the pod's items are committed, so a restarted agent
// re-renders every pod it wired (the network namespace path exists nowhere else).
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../lib/logging.ts';

export interface Attachment {
  containerId: string;
  ifname: string;
  /** The pod's network namespace as the runtime passed it (CNI_NETNS). */
  netns: string;
  namespace: string;
  pod: string;
  podUid: string;
  /** Pod addresses (plain IPs). */
  ips: string[];
  /** The node's pod gateway in the pod's network. */
  gateway: string;
  hostIfName: string;
  mtu: number;
  createdAt: string;
}

export const attachmentId = (containerId: string, ifname: string): string => `${containerId}/${ifname}`;

const fileName = (a: Pick<Attachment, 'containerId' | 'ifname'>): string => `${a.containerId}_${a.ifname}.json`;

export class AttachmentStore {
  private readonly dir: string;
  private readonly logger: Logger;
  private readonly byId = new Map<string, Attachment>();

  constructor(dir: string, logger: Logger) {
    this.dir = dir;
    this.logger = logger;
  }

  /** Reads every attachment file; unreadable ones are logged and skipped. */
  load(): Attachment[] {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.byId.clear();
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const a = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as Attachment;
        this.byId.set(attachmentId(a.containerId, a.ifname), a);
      } catch (err) {
        this.logger.warn({ err, file: name }, 'skipping an unreadable attachment file');
      }
    }
    return this.all();
  }

  get(containerId: string, ifname: string): Attachment | undefined {
    return this.byId.get(attachmentId(containerId, ifname));
  }

  all(): Attachment[] {
    return [...this.byId.values()];
  }

  /** Attachments of one pod interface (normally one; two while a sandbox is replaced). */
  forPod(namespace: string, pod: string, ifname: string): Attachment[] {
    return this.all().filter((a) => a.namespace === namespace && a.pod === pod && a.ifname === ifname);
  }

  save(a: Attachment): void {
    const tmp = join(this.dir, `.${fileName(a)}.tmp`);
    writeFileSync(tmp, JSON.stringify(a, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, join(this.dir, fileName(a)));
    this.byId.set(attachmentId(a.containerId, a.ifname), a);
  }

  remove(containerId: string, ifname: string): void {
    rmSync(join(this.dir, fileName({ containerId, ifname })), { force: true });
    this.byId.delete(attachmentId(containerId, ifname));
  }
}
