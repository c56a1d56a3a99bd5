// Whether a CNI netns path really is a pod's network namespace, before anything is allocated
// or wired: the path's syntax is cni/validate.ts's; this is what the kernel would find there.
// A path that resolves to the agent's own namespace (the node's, in production) or PID 1's
// would wire the pod's interface, addresses and default route into the host; a path to a
// namespace of another kind, a plain file or a directory only fails later and less clearly.
//
// What is accepted, and how it is told (file-system calls only: this is the ADD hot path, and
// the kernel answers each from memory — no process, no disk):
//
// - A bind mount of a network namespace (`ip netns add`, containerd's and CRI-O's
//   /run/netns/<id>, also reached as /var/run/netns/<id>): lstat says a regular file (not a
//   symlink: what is checked is what the data plane will open); its st_dev is nsfs's (every
//   namespace file of every kind lives on the one nsfs superblock, so the device of
//   /proc/self/ns/net — examined once, with the host's namespaces — identifies nsfs without a
//   statfs); and /proc/self/mountinfo has a mount whose root is `net:[<st_ino>]` on nsfs.
//   Namespace inode numbers come from one allocator shared by every kind, so that line proves
//   this inode is a *network* namespace; `mnt:[…]`, `uts:[…]`… name the wrong kind. Nothing
//   cheaper tells the kind of a bind-mounted namespace without an ioctl (NS_GET_NSTYPE): its
//   readlink and /proc/self/fd name the mount point, not `net:[…]`. Reading mountinfo is this
//   check's one cost that grows with the node (the kernel formats every mount: ~0.1-0.3 ms at
//   150-180 mounts); a wrong kind that slipped through would still fail in the kernel (setns
//   and IFLA_NET_NS_FD refuse a namespace of another kind), later and less clearly.
// - /proc/<pid>/ns/net (or /proc/<pid>/task/<tid>/ns/net): a magic symlink whose readlink is
//   `net:[<ino>]` — the kind, without an ioctl — and whose stat gives that inode (the pid was
//   not reused between the two calls). Any other symlink is refused: the namespace it names
//   at check time need not be the one it names when the data plane opens it.
//
// The host: the namespace's (st_dev, st_ino) must differ from /proc/self/ns/net's (the agent's
// own) and /proc/1/ns/net's (PID 1's; where PID 1 cannot be examined — another user
// namespace, a container without hostPID — only the agent's own is compared), and from any
// further namespace the caller names (the node side, where the data plane runs elsewhere).
//
// Teardown (DEL) tolerates anything that is gone or no longer a namespace (the spec: DEL
// succeeds when resources are missing) but still refuses a path that is the host's.
import { closeSync, lstatSync, openSync, readSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { CniCode, CniError } from '../../cni/errors.ts';
import { netnsPath } from '../../lib/iproute.ts';

/** What the operation does with the namespace: ADD and CHECK enter it, DEL only tears down. */
export type NetnsUse = 'enter' | 'teardown';

export interface NetnsCheckOptions {
  /**
   * A path that does not exist, on ADD/CHECK: `refuse` answers code 8 before anything is
   * allocated; `defer` leaves it to the data plane, which fails with the kernel's reason and
   * rolls back (the fake data planes of unit tests name namespaces that exist only in them).
   */
  missing: 'refuse' | 'defer';
  /** More namespaces a pod may never be, as paths or /run/netns names (the node side's, when the data plane runs outside the agent's). */
  hostPaths?: readonly string[];
}

const SELF_NET = '/proc/self/ns/net';
const PID1_NET = '/proc/1/ns/net';
/** A namespace link of a process or thread: /proc/<pid|self|thread-self>[/task/<tid>]/ns/<kind>. */
const PROC_NS_LINK = /^\/proc\/(?:[0-9]+|self|thread-self)(?:\/task\/[0-9]+)?\/ns\/[a-z_]+$/;
/** What readlink gives for a namespace link: `<kind>:[<inode>]`. */
const NS_LINK_TARGET = /^([a-z_]+):\[([0-9]+)\]$/;

interface NsRef {
  dev: number;
  ino: number;
}

const invalid = (path: string, why: string): CniError =>
  new CniError(CniCode.InvalidNetns, `netns ${JSON.stringify(path)} ${why}`);

/**
 * One file-system call on `path`: undefined for a path that is not there (ENOENT, ENOTDIR);
 * any other failure (EACCES: a process of another user namespace) means it cannot be checked.
 */
function examine<T>(path: string, call: (p: string) => T): T | undefined {
  try {
    return call(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw invalid(path, `cannot be examined: ${(err as Error).message}`);
  }
}

/** The (dev, ino) of a reference namespace, or undefined where it cannot be examined. */
function refOf(path: string): NsRef | undefined {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st ? { dev: st.dev, ino: st.ino } : undefined;
  } catch {
    return undefined; // PID 1 in another user namespace: EACCES
  }
}

export class NetnsCheck {
  private readonly opts: NetnsCheckOptions;
  /** Reused for each mountinfo read (the kernel writes the whole table on every read). */
  private buf = Buffer.allocUnsafe(64 * 1024);
  /**
   * The host namespaces, examined once: a Node process never changes its network namespace,
   * nor does PID 1 — and PID 1 failing with EACCES on every ADD would cost an exception each time.
   */
  private hostRefs: [string, NsRef][] | undefined;

  constructor(opts: NetnsCheckOptions) {
    this.opts = opts;
  }

  /** Throws a CniError (code 8) unless `path` may be used as a pod's network namespace. */
  check(path: string, use: NetnsUse): void {
    const hosts = (this.hostRefs ??= this.examineHosts());
    const nsfs = hosts[0]![1].dev; // the agent's own namespace file is on nsfs
    const isHost = (st: Stats): void => {
      for (const [what, ref] of hosts)
        if (ref.dev === st.dev && ref.ino === st.ino) throw invalid(path, `is ${what}`);
    };

    if (use === 'teardown') {
      // Nothing is entered: only a path that is the host's is refused (symlinks followed).
      const st = examine(path, (p) => statSync(p));
      if (st) isHost(st);
      return;
    }

    const link = examine(path, (p) => lstatSync(p));
    if (!link) {
      if (this.opts.missing === 'refuse') throw invalid(path, 'does not exist');
      return;
    }
    if (link.isSymbolicLink()) {
      if (!PROC_NS_LINK.test(path)) throw invalid(path, 'is a symbolic link, not a namespace');
      const target = NS_LINK_TARGET.exec(examine(path, (p) => readlinkSync(p)) ?? '');
      if (!target) throw invalid(path, 'is not a namespace link (or its process exited)');
      if (target[1] !== 'net') throw invalid(path, `is a ${target[1]} namespace, not a network namespace`);
      const st = examine(path, (p) => statSync(p));
      if (!st) throw invalid(path, 'is gone (its process exited)');
      if (st.dev !== nsfs || String(st.ino) !== target[2])
        throw invalid(path, 'changed while it was checked (its process exited)');
      isHost(st);
      return;
    }
    if (link.isDirectory()) throw invalid(path, 'is a directory, not a namespace');
    if (!link.isFile() || link.dev !== nsfs)
      throw invalid(
        path,
        'is not a namespace (not a file on nsfs: a namespace path is a bind mount or /proc/<pid>/ns/net)',
      );
    isHost(link);
    const kind = this.mountedKind(link.ino);
    if (kind !== 'net')
      throw invalid(
        path,
        kind === undefined ? 'is not a mounted namespace' : `is a ${kind} namespace, not a network namespace`,
      );
  }

  /** The agent's own namespace first (it must be examinable), then PID 1's and the caller's. */
  private examineHosts(): [string, NsRef][] {
    const self = statSync(SELF_NET);
    const refs: [string, NsRef | undefined][] = [
      ["the agent's own network namespace", { dev: self.dev, ino: self.ino }],
      ["PID 1's network namespace", refOf(PID1_NET)],
      ...(this.opts.hostPaths ?? []).map((p): [string, NsRef | undefined] => [
        `the node's namespace ${p}`,
        refOf(netnsPath(p)),
      ]),
    ];
    return refs.filter((r): r is [string, NsRef] => r[1] !== undefined);
  }

  /** The kind of the namespace with inode `ino` that some mount has as its root (`net:[ino]`). */
  private mountedKind(ino: number): string | undefined {
    const text = this.readAll('/proc/self/mountinfo');
    const needle = `:[${ino}] `;
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      const start = text.lastIndexOf('\n', at) + 1;
      const end = text.indexOf('\n', at);
      const fields = text.slice(start, end < 0 ? undefined : end).split(' ');
      // id parent major:minor root mountpoint … - fstype source options
      const root = NS_LINK_TARGET.exec(fields[3] ?? '');
      const fstype = fields[fields.indexOf('-') + 1];
      if (root && root[2] === String(ino) && fstype === 'nsfs') return root[1];
    }
    return undefined;
  }

  /** A /proc file whole (its size is unknown: procfs says 0), into the reused buffer. */
  private readAll(path: string): string {
    const fd = openSync(path, 'r');
    try {
      let n = 0;
      for (;;) {
        if (n === this.buf.length) {
          const bigger = Buffer.allocUnsafe(this.buf.length * 2);
          this.buf.copy(bigger, 0, 0, n);
          this.buf = bigger;
        }
        const got = readSync(fd, this.buf, n, this.buf.length - n, null);
        if (got === 0) return this.buf.toString('latin1', 0, n);
        n += got;
      }
    } finally {
      closeSync(fd);
    }
  }
}
