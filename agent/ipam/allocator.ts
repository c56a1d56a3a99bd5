// Pod IP allocation for one node: every allocation is a create-only write of
// ipam/<node>/<ip> in etcd, done before the caller gets the address, so two allocators (two
// concurrent ADDs, or a second agent wrongly serving the same node) can never hand out the
// same IP: the loser of a create sees the winner's record and moves on to the next address.
// In-process, candidates are picked synchronously and held while their write is in flight.
import type { Logger } from '../../lib/logging.ts';
import type { Keyspace } from '../../lib/keyspace.ts';
import type { Store } from '../../lib/etcd/store.ts';
import type { IpamEntry } from '../../proto/gen/netloom/model/v1/IpamEntry.ts';
import { contains, formatIp, parseIp, sizeOf } from '../../lib/cidr.ts';
import { AddressTakenError, ForeignAddressError, SubnetFullError } from './errors.ts';
import type { NodeSubnet } from './plan.ts';

export interface AllocationRequest {
  namespace: string;
  pod: string;
  containerId: string;
  ifname: string;
  network?: string;
  /** The pod's network namespace path (kept in the record: see IpamEntry.netns). */
  netns?: string;
  /** An extra interface, and the MAC it asked for (kept so a lost attachment is rebuilt as it was). */
  extra?: boolean;
  mac?: string;
}

export interface IpamRecord {
  ip: string;
  entry: Required<IpamEntry>;
  modRevision: number;
}

export interface Allocation {
  ip: string;
  /** The node subnet's prefix length (the pod gets ip/32 or ip/len, the renderer decides). */
  prefixLength: number;
  gateway: string;
  /** True when the (containerId, ifname) already had this address (a repeated ADD). */
  existing: boolean;
}

export interface PodIpamOptions {
  store: Store;
  keyspace: Keyspace;
  node: string;
  subnet: NodeSubnet;
  logger: Logger;
  /**
   * The network this allocator serves ('' or absent: the default network). The node's records
   * of every network share ipam/<node>/; each allocator loads only its own network's.
   */
  network?: string;
}

const ownerKey = (containerId: string, ifname: string): string => `${containerId}/${ifname}`;

const entryOf = (req: AllocationRequest): Required<IpamEntry> => ({
  namespace: req.namespace,
  pod: req.pod,
  containerId: req.containerId,
  ifname: req.ifname,
  network: req.network ?? '',
  netns: req.netns ?? '',
  extra: req.extra ?? false,
  mac: req.mac ?? '',
});

export function encodeEntry(e: Required<IpamEntry>): string {
  // proto3 JSON: defaults omitted.
  const out: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(e)) if (v !== '' && v !== false) out[k] = v;
  return JSON.stringify(out);
}

export function decodeEntry(text: string): Required<IpamEntry> {
  const raw = JSON.parse(text) as IpamEntry;
  return {
    namespace: raw.namespace ?? '',
    pod: raw.pod ?? '',
    containerId: raw.containerId ?? '',
    ifname: raw.ifname ?? '',
    network: raw.network ?? '',
    netns: raw.netns ?? '',
    extra: raw.extra === true,
    mac: typeof raw.mac === 'string' ? raw.mac : '',
  };
}

export class PodIpam {
  readonly node: string;
  readonly subnet: NodeSubnet;
  readonly network: string;
  private readonly store: Store;
  private readonly keyspace: Keyspace;
  private readonly logger: Logger;
  /** offset -> record, for every address known to be taken. */
  private readonly used = new Map<number, IpamRecord>();
  private readonly byOwner = new Map<string, number>();
  private readonly inFlight = new Set<number>();
  private readonly pending = new Map<string, Promise<Allocation>>();
  private cursor = 0;
  private readonly size: number;

  constructor(opts: PodIpamOptions) {
    this.store = opts.store;
    this.keyspace = opts.keyspace;
    this.node = opts.node;
    this.subnet = opts.subnet;
    this.network = opts.network ?? '';
    this.logger = opts.logger;
    this.size = sizeOf(opts.subnet.subnet.length);
  }

  get usable(): number {
    return this.size - this.subnet.reserved.size;
  }

  /** Loads the node's allocations from etcd; call once before allocating. */
  async load(): Promise<void> {
    const { kvs } = await this.store.list(this.keyspace.prefix('ipam', this.node));
    this.used.clear();
    this.byOwner.clear();
    for (const kv of kvs) {
      const ref = this.keyspace.tryParse(kv.key);
      if (ref?.kind !== 'ipam') continue;
      const entry = decodeEntry(kv.value);
      if (entry.network !== this.network) continue; // another network's allocator holds it
      const offset = this.offsetOf(ref.ip);
      if (offset === undefined || this.subnet.reserved.has(offset)) {
        this.logger.warn(
          { key: kv.key, subnet: this.subnet.cidr },
          'ignoring an IPAM record outside the usable node subnet',
        );
        continue;
      }
      this.remember(offset, { ip: ref.ip, entry, modRevision: kv.modRevision });
    }
  }

  /** Allocates (or returns the existing) address of one pod interface, persisted before it returns. */
  allocate(req: AllocationRequest): Promise<Allocation> {
    const owner = ownerKey(req.containerId, req.ifname);
    const known = this.byOwner.get(owner);
    if (known !== undefined) return Promise.resolve(this.result(known, true));
    let p = this.pending.get(owner);
    if (!p) {
      p = this.claim(req).finally(() => this.pending.delete(owner));
      this.pending.set(owner, p);
    }
    return p;
  }

  /** Releases every address of a container (one interface when `ifname` is given). */
  async release(containerId: string, ifname?: string): Promise<string[]> {
    const released: string[] = [];
    for (const [offset, rec] of [...this.used]) {
      if (rec.entry.containerId !== containerId || (ifname !== undefined && rec.entry.ifname !== ifname))
        continue;
      await this.store.deleteIf(
        this.keyspace.key({ kind: 'ipam', node: this.node, ip: rec.ip }),
        rec.modRevision,
      );
      this.forget(offset);
      released.push(rec.ip);
    }
    return released;
  }

  records(): IpamRecord[] {
    return [...this.used.values()].sort((a, b) => (parseIp(a.ip) ?? 0) - (parseIp(b.ip) ?? 0));
  }

  recordOf(containerId: string, ifname: string): IpamRecord | undefined {
    const offset = this.byOwner.get(ownerKey(containerId, ifname));
    return offset === undefined ? undefined : this.used.get(offset);
  }

  /**
   * Deletes the records `isLeak` condemns, unless they changed meanwhile (compare on mod
   * revision). The caller decides what a leak is (pod gone from Kubernetes and no interface).
   */
  async collect(isLeak: (r: IpamRecord) => boolean): Promise<string[]> {
    const deleted: string[] = [];
    for (const [offset, rec] of [...this.used]) {
      if (!isLeak(rec)) continue;
      const key = this.keyspace.key({ kind: 'ipam', node: this.node, ip: rec.ip });
      if (await this.store.deleteIf(key, rec.modRevision)) {
        this.forget(offset);
        deleted.push(rec.ip);
        continue;
      }
      // Changed since it was read: keep whatever it is now.
      this.forget(offset);
      const now = await this.store.get(key);
      if (now)
        this.remember(offset, { ip: rec.ip, entry: decodeEntry(now.value), modRevision: now.modRevision });
    }
    return deleted;
  }

  /**
   * Takes in allocations this node knows from its own records (its attachments) that etcd
   * does not hold — lost in a restore. `reassert()` then writes them back. Returns how many.
   */
  adopt(known: readonly { ip: string; entry: Required<IpamEntry> }[]): number {
    let added = 0;
    for (const k of known) {
      const offset = this.offsetOf(k.ip);
      if (offset === undefined || this.subnet.reserved.has(offset) || this.used.has(offset)) continue;
      this.remember(offset, { ip: k.ip, entry: k.entry, modRevision: 0 });
      added++;
    }
    return added;
  }

  /**
   * Writes back records etcd lost (a restore from an older backup) from what this agent
   * knows: its own records stay its own, so no other allocator can take them.
   */
  async reassert(): Promise<number> {
    let rewritten = 0;
    for (const [offset, rec] of [...this.used]) {
      const key = this.keyspace.key({ kind: 'ipam', node: this.node, ip: rec.ip });
      const res = await this.store.create(key, encodeEntry(rec.entry));
      if (res.created) {
        rewritten++;
        this.used.set(offset, { ...rec, modRevision: res.revision });
      } else if (decodeEntry(res.existing.value).containerId !== rec.entry.containerId) {
        this.logger.error(
          { ip: rec.ip, ours: rec.entry, theirs: res.existing.value },
          'IPAM record taken by another allocator',
        );
      }
    }
    return rewritten;
  }

  /**
   * Picks the address at once and persists it in the background, so the caller can wire the pod
   * while the write is in flight. `persisted` resolves with the allocation once it is in etcd —
   * normally the address picked; a different one when another allocator had taken it meanwhile
   * (the caller then undoes what it did with `ip`). Undefined when nothing can be picked at once
   * (a write for this interface already in flight, or the subnet full): use allocate().
   */
  reserve(req: AllocationRequest): { ip: string; persisted: Promise<Allocation> } | undefined {
    const owner = ownerKey(req.containerId, req.ifname);
    const known = this.byOwner.get(owner);
    if (known !== undefined) {
      const result = this.result(known, true);
      return { ip: result.ip, persisted: Promise.resolve(result) };
    }
    if (this.pending.has(owner)) return undefined;
    const offset = this.nextFree();
    if (offset === undefined) return undefined;
    const entry = entryOf(req);
    this.inFlight.add(offset);
    const persisted = this.tryOffset(offset, entry)
      .then((got) => got ?? this.claim(req))
      .finally(() => this.pending.delete(owner));
    this.pending.set(owner, persisted);
    return { ip: formatIp(this.subnet.subnet.base + offset), persisted };
  }

  /**
   * Allocates exactly `ip` (an address the pod asked for), persisted before it resolves; refused
   * when it is outside this node's block, reserved, or held by another interface.
   */
  async allocateExact(req: AllocationRequest, ip: string): Promise<Allocation> {
    const offset = this.offsetOf(ip);
    if (offset === undefined || this.subnet.reserved.has(offset))
      throw new ForeignAddressError(
        `${ip} is not a usable address of ${this.subnet.cidr}, node ${this.node}'s block` +
          (this.network === '' ? '' : ` of network ${this.network}`),
      );
    const held = this.used.get(offset);
    if (held) {
      if (held.entry.containerId === req.containerId && held.entry.ifname === req.ifname)
        return this.result(offset, true);
      throw new AddressTakenError(ip, `${held.entry.namespace}/${held.entry.pod} (${held.entry.ifname})`);
    }
    if (this.inFlight.has(offset)) throw new AddressTakenError(ip, 'an allocation in flight');
    this.inFlight.add(offset);
    const got = await this.tryOffset(offset, entryOf(req));
    if (!got) throw new AddressTakenError(ip, 'another allocator');
    return got;
  }

  private async claim(req: AllocationRequest): Promise<Allocation> {
    const entry = entryOf(req);
    for (;;) {
      const offset = this.nextFree();
      if (offset === undefined)
        throw new SubnetFullError(this.node, this.subnet.cidr, this.used.size, this.usable);
      this.inFlight.add(offset);
      const got = await this.tryOffset(offset, entry);
      if (got) return got;
    }
  }

  /**
   * The create-only write of one address (already held in `inFlight`, released here): the
   * allocation, or undefined when another allocator holds it (recorded as theirs).
   */
  private async tryOffset(offset: number, entry: Required<IpamEntry>): Promise<Allocation | undefined> {
    const ip = formatIp(this.subnet.subnet.base + offset);
    try {
      const res = await this.store.create(
        this.keyspace.key({ kind: 'ipam', node: this.node, ip }),
        encodeEntry(entry),
      );
      if (res.created) {
        this.remember(offset, { ip, entry, modRevision: res.revision });
        return this.result(offset, false);
      }
      const theirs = decodeEntry(res.existing.value);
      this.remember(offset, { ip, entry: theirs, modRevision: res.existing.modRevision });
      if (theirs.containerId === entry.containerId && theirs.ifname === entry.ifname)
        return this.result(offset, true);
      this.logger.warn({ ip, holder: theirs }, 'address taken by another allocator; trying the next one');
      return undefined;
    } finally {
      this.inFlight.delete(offset);
    }
  }

  /** Next-fit from the cursor, so a just-released address is the last to be reused. */
  private nextFree(): number | undefined {
    for (let i = 0; i < this.size; i++) {
      const offset = (this.cursor + i) % this.size;
      if (this.subnet.reserved.has(offset) || this.used.has(offset) || this.inFlight.has(offset)) continue;
      this.cursor = (offset + 1) % this.size;
      return offset;
    }
    return undefined;
  }

  private result(offset: number, existing: boolean): Allocation {
    return {
      ip: formatIp(this.subnet.subnet.base + offset),
      prefixLength: this.subnet.subnet.length,
      gateway: this.subnet.gateway,
      existing,
    };
  }

  private offsetOf(ip: string): number | undefined {
    const n = parseIp(ip);
    if (n === undefined || !contains(this.subnet.subnet, n)) return undefined;
    return n - this.subnet.subnet.base;
  }

  private remember(offset: number, rec: IpamRecord): void {
    if (this.subnet.reserved.has(offset))
      throw new ForeignAddressError(`${rec.ip} is reserved in ${this.subnet.cidr}`);
    this.used.set(offset, rec);
    this.byOwner.set(ownerKey(rec.entry.containerId, rec.entry.ifname), offset);
  }

  private forget(offset: number): void {
    const rec = this.used.get(offset);
    if (!rec) return;
    this.used.delete(offset);
    if (this.byOwner.get(ownerKey(rec.entry.containerId, rec.entry.ifname)) === offset) {
      this.byOwner.delete(ownerKey(rec.entry.containerId, rec.entry.ifname));
    }
  }
}
