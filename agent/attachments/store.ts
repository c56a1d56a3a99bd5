// The pod interfaces attached on this node, kept in the state directory: after a restart the
// agent renders the same pods without asking the runtime. Writes are atomic (temp file and
// rename) and grouped: changes made while a write runs go out together in the next one.
import { mkdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetloomError, errorMessage } from '../../lib/errors.ts';
import type { Attachment } from './attachment.ts';

export class AttachmentStoreError extends NetloomError {}

const idOf = (containerId: string, ifname: string): string => `${containerId}/${ifname}`;

export class AttachmentStore {
  readonly path: string;
  private readonly items = new Map<string, Attachment>();
  private writing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(stateDir: string, cluster: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.path = join(stateDir, `attachments-${cluster}.json`);
    let text: string | undefined;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new AttachmentStoreError(`cannot read ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
    if (text === undefined) return;
    let list: Attachment[];
    try {
      list = JSON.parse(text) as Attachment[];
    } catch (err) {
      throw new AttachmentStoreError(`${this.path} is corrupt: ${errorMessage(err)}`, { cause: err });
    }
    for (const a of list) this.items.set(idOf(a.containerId, a.ifname), a);
  }

  all(): Attachment[] {
    return [...this.items.values()];
  }

  get(containerId: string, ifname: string): Attachment | undefined {
    return this.items.get(idOf(containerId, ifname));
  }

  /** Records an attachment; resolves once it is on disk. */
  add(a: Attachment): Promise<void> {
    this.items.set(idOf(a.containerId, a.ifname), a);
    return this.save();
  }

  /** Removes a container's attachments (one interface when `ifname` is given); returns them. */
  async remove(containerId: string, ifname?: string): Promise<Attachment[]> {
    const gone = this.all().filter(
      (a) => a.containerId === containerId && (ifname === undefined || a.ifname === ifname),
    );
    for (const a of gone) this.items.delete(idOf(a.containerId, a.ifname));
    if (gone.length > 0) await this.save();
    return gone;
  }

  private save(): Promise<void> {
    if (this.queued) return this.queued;
    const run = async (): Promise<void> => {
      await this.writing?.catch(() => undefined);
      this.queued = undefined;
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, JSON.stringify(this.all(), null, 1));
      await rename(tmp, this.path);
    };
    const p = run();
    this.queued = p;
    this.writing = p;
    return p;
  }
}
