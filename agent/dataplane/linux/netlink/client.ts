// Pod veths through the netlink helper (helper.ts): the same PodLinkPort as kernel/pod-links.ts,
// wiring a pod with rtnetlink requests in one long-lived process instead of two `ip` processes;
// reading back (hostVeths, podSide) stays with iproute2, so retrieve sees both paths alike.
//
// The helper is started on first use and again after it dies (its requests in flight fail as
// busy, so the scheduler retries them); a request it does not answer in time kills it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { netnsPath } from '../../../../lib/iproute.ts';
import { LinuxCommandError, type Condition } from '../errors.ts';
import { podSteps } from '../kernel/pod-links.ts';
import { HOST_VETH_MAC, type LinuxNames } from '../naming.ts';
import type { HostVeth, PodLinkPort, PodSide, PodWiring } from '../ports.ts';
import type { HelperAnswer, HelperCall, HelperRequest, WireRequest } from './protocol.ts';

const DEFAULT_TIMEOUT_MS = 30_000;

/** The condition an errno stands for (errno numbers: asm-generic/errno-base.h, errno.h). */
export function conditionOf(errno: number, netns: boolean): Condition {
  if (netns) return 'netns';
  switch (errno) {
    case 17: // EEXIST
      return 'exists';
    case 2: // ENOENT
    case 3: // ESRCH
    case 19: // ENODEV
    case 99: // EADDRNOTAVAIL
      return 'missing';
    case 4: // EINTR
    case 11: // EAGAIN
    case 16: // EBUSY
    case 105: // ENOBUFS
      return 'busy';
    case 1: // EPERM
    case 22: // EINVAL
    case 34: // ERANGE
    case 95: // EOPNOTSUPP
      return 'invalid';
    default:
      return 'other';
  }
}

export interface NetlinkPodLinksOptions {
  /** The helper's command line (locate.ts helperCommand): a compiled helper, or Bun and its source. */
  command: readonly string[];
  /** The node side's namespace (unset: the agent's own). */
  hostNetns?: string;
  names: LinuxNames;
  /** Reads back (hostVeths, podSide): iproute2's. */
  reader: Pick<PodLinkPort, 'hostVeths' | 'podSide'>;
  timeoutMs?: number;
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  command: string;
}

export class NetlinkPodLinks implements PodLinkPort {
  private readonly opts: NetlinkPodLinksOptions;
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(opts: NetlinkPodLinksOptions) {
    this.opts = opts;
  }

  async wire(w: PodWiring): Promise<void> {
    const wiring: WireRequest = {
      hostIfName: w.hostIfName,
      hostMac: w.hostMac ?? HOST_VETH_MAC,
      alias: `${this.opts.names.aliasPrefix}${w.key}`,
      netns: netnsPath(w.netns),
      ifname: w.ifname,
      mtu: w.mtu,
      mac: w.mac,
      pod: podSteps(w),
      hostRoutes: w.hostRoutes,
      hostTable:
        w.hostTable === undefined || w.hostTable === 'main'
          ? 'main'
          : w.hostTable === 'local'
            ? 255
            : w.hostTable,
      routeProto: this.opts.names.routeProto,
    };
    await this.call({ op: 'wire', wiring }, `wire ${w.hostIfName} (${w.key})`);
  }

  async unwire(hostIfName: string): Promise<void> {
    await this.call({ op: 'unwire', hostIfName }, `unwire ${hostIfName}`);
  }

  hostVeths(): Promise<HostVeth[]> {
    return this.opts.reader.hostVeths();
  }

  podSide(netns: string, ifname: string): Promise<PodSide | undefined> {
    return this.opts.reader.podSide(netns, ifname);
  }

  /** Stops the helper; requests in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    const kill = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(kill);
  }

  private async call(req: HelperCall, command: string): Promise<void> {
    if (this.closed)
      throw new LinuxCommandError(`${command}: netlink helper closed`, { command, condition: 'other' });
    await this.start();
    const id = this.nextId++;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new LinuxCommandError(`${command}: the netlink helper did not answer in time`, {
            command,
            condition: 'busy',
          }),
        );
        this.child?.kill('SIGKILL'); // whatever it is stuck in, a new one starts clean
      }, this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer, command });
      const line: HelperRequest = { ...req, id };
      this.child!.stdin!.write(`${JSON.stringify(line)}\n`);
    });
  }

  /** The helper running and ready, started if need be. */
  private start(): Promise<void> {
    if (this.ready && this.child && this.child.exitCode === null && this.child.signalCode === null)
      return this.ready;
    const [cmd = '', ...rest] = this.opts.command;
    const args = [...rest, ...(this.opts.hostNetns ? [netnsPath(this.opts.hostNetns)] : [])];
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2_000)));
    child.stdin?.on('error', () => undefined); // reported by 'exit'
    this.ready = new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        let a: HelperAnswer;
        try {
          a = JSON.parse(line) as HelperAnswer;
        } catch {
          return;
        }
        if (a.id === 0) return resolve();
        const p = this.pending.get(a.id);
        if (!p) return;
        this.pending.delete(a.id);
        clearTimeout(p.timer);
        if (!a.error) return p.resolve();
        const { step, errno, netns } = a.error;
        p.reject(
          new LinuxCommandError(`${p.command}: ${step}: ${errnoText(errno)}`, {
            command: p.command,
            condition: conditionOf(errno, netns),
          }),
        );
      });
      child.once('error', (err) => reject(err));
      child.once('exit', (code, signal) => {
        const why = `the netlink helper exited (${signal ?? code})${stderr ? `: ${stderr.trim()}` : ''}`;
        reject(new Error(why));
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          clearTimeout(p.timer);
          p.reject(new LinuxCommandError(`${p.command}: ${why}`, { command: p.command, condition: 'busy' }));
        }
      });
    });
    return this.ready.catch((err: Error) => {
      throw new LinuxCommandError(`netlink helper: ${err.message}`, {
        command: 'netlink helper',
        condition: 'busy',
        cause: err,
      });
    });
  }
}

const ERRNO_TEXT: Record<number, string> = {
  1: 'Operation not permitted',
  2: 'No such file or directory',
  3: 'No such process',
  16: 'Device or resource busy',
  17: 'File exists',
  19: 'No such device',
  22: 'Invalid argument',
  34: 'Numerical result out of range',
  95: 'Operation not supported',
  99: 'Cannot assign requested address',
  105: 'No buffer space available',
};

const errnoText = (errno: number): string => `${ERRNO_TEXT[errno] ?? 'error'} (errno ${errno})`;
