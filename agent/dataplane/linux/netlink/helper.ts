// The netlink helper: a long-lived process, run by Bun (whose FFI opens the netlink sockets Node
// cannot), that wires and unwires pod veths with rtnetlink requests (codec.ts) instead of two
// `ip` processes per pod. The agent starts one and talks to it over stdin/stdout, one JSON line
// per request and per answer (protocol.ts); requests run one at a time, in order. Nothing is
// cached between requests but the socket in the node's namespace: links are found by name on
// the kernel's word each time (iproute2's name cache is what made a long-lived `ip -batch -`
// unsafe, ADR 0007).
//
// A pod's namespace is entered only to open a socket there: setns(2) on this thread, socket(2),
// setns back. A socket stays in the namespace it was made in.
//
// Usage: bun agent/dataplane/linux/netlink/helper.ts [<node netns path>]
import { dlopen, FFIType, ptr, read } from 'bun:ffi';
import { createInterface } from 'node:readline';
import {
  addAddress,
  delLink,
  errnoOf,
  getLink,
  linkIndexOf,
  newVeth,
  NLMSG_ERROR,
  replaceNeighbour,
  replaceRoute,
  replies,
  RTPROT_BOOT,
  setLinkUp,
} from './codec.ts';
import type { HelperAnswer, HelperRequest, WireRequest } from './protocol.ts';

const libc = dlopen('libc.so.6', {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  open: { args: [FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  setns: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  __errno_location: { args: [], returns: FFIType.ptr },
});
const c = libc.symbols;

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_ROUTE = 0;
const O_RDONLY = 0;
const O_CLOEXEC = 0x80000;
const CLONE_NEWNET = 0x40000000;

const errno = (): number => read.i32(c.__errno_location(), 0);

/** A failed step: the iproute2 command it stands for, and the kernel's errno. */
class StepError extends Error {
  readonly step: string;
  readonly errno: number;
  readonly netns: boolean;
  constructor(step: string, errno: number, netns = false) {
    super(`${step}: errno ${errno}`);
    this.step = step;
    this.errno = errno;
    this.netns = netns;
  }
}

const cPath = (s: string): Buffer => Buffer.from(`${s}\0`);

function openNetns(path: string): number {
  const fd = c.open(ptr(cPath(path)), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new StepError(`open network namespace ${path}`, errno(), true);
  return fd;
}

/** The namespace this thread runs in, to come back to. */
const home = openNetns('/proc/thread-self/ns/net');

class NlSocket {
  private seq = 0;
  private readonly buf = new Uint8Array(64 * 1024);
  private readonly fd: number;
  constructor(fd: number) {
    this.fd = fd;
  }

  /** Sends one request and waits for its ack; returns the replies before it. */
  request(step: string, make: (seq: number) => Uint8Array): Uint8Array[] {
    const seq = ++this.seq;
    const msg = make(seq);
    if (Number(c.send(this.fd, ptr(msg), msg.length, 0)) !== msg.length) throw new StepError(step, errno());
    const got: Uint8Array[] = [];
    for (;;) {
      const n = Number(c.recv(this.fd, ptr(this.buf), this.buf.length, 0));
      if (n < 0) throw new StepError(step, errno());
      for (const r of replies(this.buf.subarray(0, n))) {
        if (r.seq !== seq) continue; // an answer to an earlier, abandoned request
        if (r.type !== NLMSG_ERROR) {
          got.push(r.body.slice());
          continue;
        }
        const e = errnoOf(r);
        if (e !== 0) throw new StepError(step, e);
        return got;
      }
    }
  }

  /** A link's index by name. */
  index(name: string): number {
    const [link] = this.request(`ip link show ${name}`, (s) => getLink(s, name));
    if (link === undefined) throw new StepError(`ip link show ${name}`, 19);
    return linkIndexOf({ type: 0, seq: 0, body: link });
  }

  close(): void {
    c.close(this.fd);
  }
}

/** A netlink socket in the namespace at `path` ('' or undefined: this one). */
function socketIn(path: string | undefined): NlSocket {
  if (path === undefined || path === '') {
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw new StepError('netlink socket', errno());
    return new NlSocket(fd);
  }
  const ns = openNetns(path);
  let fd: number;
  try {
    if (c.setns(ns, CLONE_NEWNET) !== 0)
      throw new StepError(`enter network namespace ${path}`, errno(), true);
    fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw new StepError('netlink socket', errno());
  } finally {
    if (c.setns(home, CLONE_NEWNET) !== 0) {
      process.stderr.write('netlink helper: cannot return to its own network namespace\n');
      process.exit(70); // nothing after this could be trusted
    }
    c.close(ns);
  }
  return new NlSocket(fd);
}

const node = socketIn(process.argv[2]);

function wire(w: WireRequest): void {
  const h = w.hostIfName;
  try {
    node.request(`ip link del ${h}`, (s) => delLink(s, h)); // a stale pair from a crashed attempt
  } catch (err) {
    if (!(err instanceof StepError && err.errno === 19)) throw err; // ENODEV: none
  }
  const podNs = openNetns(w.netns);
  try {
    node.request(`ip link add ${h} type veth peer name ${w.ifname} netns ${w.netns}`, (s) =>
      newVeth(s, {
        name: h,
        mac: w.hostMac,
        mtu: w.mtu,
        peerName: w.ifname,
        peerMac: w.mac,
        peerNetnsFd: podNs,
      }),
    );
  } finally {
    c.close(podNs);
  }
  // From here on a failure takes the pair away again: nothing is left half-wired.
  try {
    const hostIndex = node.index(h);
    node.request(`ip link set ${h} alias … up`, (s) => setLinkUp(s, hostIndex, w.alias));
    for (const dst of w.hostRoutes)
      node.request(`ip route replace ${dst} dev ${h}`, (s) =>
        replaceRoute(s, { dst, index: hostIndex, table: w.hostTable, protocol: w.routeProto }),
      );

    const pod = socketIn(w.netns);
    try {
      const i = pod.index(w.ifname);
      for (const step of w.pod) {
        const what = `${step.op} ${JSON.stringify(step)} on ${w.ifname}`;
        if (step.op === 'address') pod.request(what, (s) => addAddress(s, i, step.cidr));
        else if (step.op === 'up') pod.request(what, (s) => setLinkUp(s, i));
        else if (step.op === 'neighbour') pod.request(what, (s) => replaceNeighbour(s, i, step.ip, step.mac));
        else
          pod.request(what, (s) =>
            replaceRoute(s, {
              dst: step.dst,
              index: i,
              table: 'main',
              protocol: RTPROT_BOOT,
              ...(step.gateway !== undefined ? { gateway: step.gateway } : {}),
              ...(step.onlink === true ? { onlink: true } : {}),
            }),
          );
      }
    } finally {
      pod.close();
    }
  } catch (err) {
    try {
      unwire(h);
    } catch {
      // reported by the next ADD's stale-pair delete, or by retrieve
    }
    throw err;
  }
}

function unwire(hostIfName: string): void {
  try {
    node.request(`ip link del ${hostIfName}`, (s) => delLink(s, hostIfName));
  } catch (err) {
    if (!(err instanceof StepError && err.errno === 19)) throw err;
  }
}

function answer(a: HelperAnswer): void {
  process.stdout.write(`${JSON.stringify(a)}\n`);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let req: HelperRequest;
  try {
    req = JSON.parse(line) as HelperRequest;
  } catch {
    return answer({ id: -1, error: { step: 'request', errno: 22, netns: false } });
  }
  try {
    if (req.op === 'wire') wire(req.wiring);
    else if (req.op === 'unwire') unwire(req.hostIfName);
    else throw new StepError(`unknown operation`, 22);
    answer({ id: req.id });
  } catch (err) {
    const e = err instanceof StepError ? err : new StepError(String((err as Error)?.message ?? err), 22);
    answer({ id: req.id, error: { step: e.step, errno: e.errno, netns: e.netns } });
  }
});
lines.on('close', () => process.exit(0));
answer({ id: 0 }); // ready
