// The pod interfaces attached on this node, kept in the state directory: after a restart the
// agent renders the same pods without asking the runtime. Writes are atomic (lib/atomic-file:
// temp file, rename) and synchronous: a few hundred microseconds of blocking for a file of a few
// tens of kilobytes, against five thread-pool round trips that a busy node stretches to
// milliseconds. They are not fsync'd (ADR 0007): the file describes pod namespaces, which a
// machine crash ends anyway, while an agent's crash or kill loses nothing (the page cache
// outlives it); the two fsyncs were a third of an ADD inside the agent. A machine crash that leaves the file empty
// or old is the damaged case below, and the IPAM records (durable in etcd) rebuild it.
//
// A file that cannot be read as attachments (torn by a disk fault, edited by hand) is never
// fatal: it is set aside as `<file>.corrupt-<time>`, the store starts empty and says why in
// `damaged`, and the agent rebuilds it from its IPAM records (agent/assemble.ts). Entries that
// are not well-formed are dropped one by one, and counted, rather than trusted.
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../lib/atomic-file.ts';
import { errorMessage } from '../../lib/errors.ts';
import { isAttachment, type Attachment } from './attachment.ts';

const idOf = (containerId: string, ifname: string): string => `${containerId}/${ifname}`;

export class AttachmentStore {
  readonly path: string;
  /** Why the file on disk could not be used, when it could not ('' when it was fine or absent). */
  readonly damaged: string = '';
  /** Entries of the file dropped as malformed. */
  readonly dropped: number = 0;
  private readonly items = new Map<string, Attachment>();

  constructor(stateDir: string, cluster: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.path = join(stateDir, `attachments-${cluster}.json`);
    let text: string | undefined;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.damaged = `unreadable: ${errorMessage(err)}`;
    }
    if (text === undefined) return;
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch (err) {
      this.damaged = `not JSON: ${errorMessage(err)}`;
    }
    if (this.damaged === '' && !Array.isArray(list)) this.damaged = 'not a list of attachments';
    if (this.damaged !== '') {
      this.setAside();
      return;
    }
    for (const a of list as unknown[]) {
      if (isAttachment(a)) this.items.set(idOf(a.containerId, a.ifname), a);
      else this.dropped++;
    }
  }

  all(): Attachment[] {
    return [...this.items.values()];
  }

  get(containerId: string, ifname: string): Attachment | undefined {
    return this.items.get(idOf(containerId, ifname));
  }

  /** Records an attachment as the newest (a repeated ADD refreshes it); resolves once it is on disk. */
  add(a: Attachment): Promise<void> {
    const id = idOf(a.containerId, a.ifname);
    this.items.delete(id);
    this.items.set(id, a);
    return this.save();
  }

  /** Replaces every record (a rebuild); resolves once on disk. */
  replaceAll(list: readonly Attachment[]): Promise<void> {
    this.items.clear();
    for (const a of list) this.items.set(idOf(a.containerId, a.ifname), a);
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

  private setAside(): void {
    try {
      renameSync(this.path, `${this.path}.corrupt-${Date.now()}`);
    } catch {
      // Kept in place: the next save replaces it atomically anyway.
    }
  }

  /** Writes every record, synchronously; a failure comes back as a rejection, not a throw. */
  private save(): Promise<void> {
    try {
      writeFileAtomicSync(this.path, JSON.stringify(this.all()), { mode: 0o600, durable: false });
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
