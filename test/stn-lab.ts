// A throwaway lab for the STN daemon tests: two network namespaces joined by a veth pair.
// "host" holds the NIC (nic0) with addresses, routes in the main table and in table 100,
// IPv4 and IPv6 default routes and a policy rule; "peer" plays the network (gateway .1 and
// 10.251.0.1 behind it). Nothing touches the machine's own interfaces. Also: a fake sysfs
// tree that claims nic0 is a virtio-pci device, and a daemon started as a real child process.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeSysfs } from '../stn/fake-sysfs.ts';
import { TestProcess } from './harness/process.ts';
import { sleep } from '../lib/timing.ts';

export const NIC = 'nic0';
export const PCI = '0000:00:03.0';
export const KERNEL_DRIVER = 'virtio-pci';
const ROOT = new URL('..', import.meta.url).pathname;

export function ip(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** What `ip -json` shows of the NIC: link basics, every address, routes of both families in all tables. */
export interface IpView {
  link: { mtu: number; address: string; up: boolean };
  addresses: unknown[];
  routes: string[];
}

export class StnLab {
  readonly id = randomBytes(3).toString('hex');
  readonly host = `nl${this.id}h`;
  readonly peer = `nl${this.id}p`;
  dir = '';
  sysfs!: FakeSysfs;

  async setup(): Promise<this> {
    this.dir = await mkdtemp(join(tmpdir(), `nl-stn-${this.id}-`));
    execFileSync('ip', ['netns', 'add', this.host]);
    execFileSync('ip', ['netns', 'add', this.peer]);
    execFileSync('ip', [
      'link',
      'add',
      NIC,
      'netns',
      this.host,
      'type',
      'veth',
      'peer',
      'name',
      'up0',
      'netns',
      this.peer,
    ]);
    const h = (...a: string[]): string => ip(this.host, ...a);
    const p = (...a: string[]): string => ip(this.peer, ...a);
    h('link', 'set', 'lo', 'up');
    p('link', 'set', 'lo', 'up');
    p('link', 'set', 'up0', 'up');
    p('address', 'add', '10.250.0.1/24', 'dev', 'up0');
    p('address', 'add', '10.250.1.1/24', 'dev', 'up0');
    p('address', 'add', 'fd00:250::1/64', 'dev', 'up0', 'nodad');
    p('address', 'add', '10.251.0.1/32', 'dev', 'lo');
    p('route', 'add', '10.9.0.0/16', 'via', '10.250.0.2');
    h('link', 'set', NIC, 'up');
    h('address', 'add', '10.250.0.2/24', 'dev', NIC);
    h('address', 'add', '10.250.1.2/24', 'dev', NIC, 'label', `${NIC}:1`);
    h('address', 'add', 'fd00:250::2/64', 'dev', NIC);
    h('address', 'add', 'fd00:251::2/64', 'dev', NIC, 'noprefixroute');
    h('route', 'add', 'default', 'via', '10.250.0.1');
    h('-6', 'route', 'add', 'default', 'via', 'fd00:250::1', 'metric', '50');
    h('route', 'add', 'default', 'via', '10.250.1.1', 'table', '100', 'metric', '10');
    h('route', 'add', '10.9.0.0/16', 'via', '10.250.1.1', 'table', '100', 'proto', 'static');
    h('route', 'add', '10.8.0.0/16', 'dev', NIC, 'scope', 'link', 'src', '10.250.1.2', 'table', '100');
    h('-6', 'route', 'add', 'fd00:9::/64', 'via', 'fd00:250::1', 'table', '100');
    h('rule', 'add', 'from', '10.250.1.2', 'lookup', '100');
    await this.settled();
    this.sysfs = await new FakeSysfs(join(this.dir, 'sys'), [
      { pci: PCI, driver: KERNEL_DRIVER, ifname: NIC },
    ]).create();
    this.sysfs.start();
    return this;
  }

  /** Waits until IPv6 duplicate address detection is over, so views compare equal. */
  async settled(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const tentative = ip(this.host, '-6', 'address', 'show', 'dev', NIC, 'tentative').trim();
      const local = ip(this.host, '-6', 'route', 'show', 'table', 'local', 'dev', NIC).trim();
      if (tentative === '' && (local !== '' || !this.view().link.up)) return;
      await sleep(50);
    }
    throw new Error(`${NIC} still has tentative IPv6 addresses after ${timeoutMs} ms`);
  }

  view(): IpView {
    const [link] = JSON.parse(ip(this.host, '-json', 'link', 'show', 'dev', NIC)) as {
      mtu: number;
      address: string;
      flags: string[];
    }[];
    const [addr] = JSON.parse(ip(this.host, '-json', 'address', 'show', 'dev', NIC)) as {
      addr_info: unknown[];
    }[];
    const routes = ['-4', '-6'].flatMap((f) =>
      (JSON.parse(ip(this.host, '-json', f, 'route', 'show', 'table', 'all', 'dev', NIC)) as unknown[]).map(
        (r) => JSON.stringify(r),
      ),
    );
    return {
      link: { mtu: link!.mtu, address: link!.address, up: link!.flags.includes('UP') },
      addresses: addr?.addr_info ?? [],
      routes: routes.sort(),
    };
  }

  /** One ICMP echo from a namespace; throws (not false) when ping itself is missing. */
  ping(from: string, to: string): boolean {
    try {
      execFileSync('ip', ['netns', 'exec', from, 'ping', '-c', '1', '-W', '1', to], { stdio: 'pipe' });
      return true;
    } catch (err) {
      const stderr = String((err as { stderr?: Buffer }).stderr ?? '');
      if (/No such file|not found|exec of "ping" failed/i.test(stderr)) {
        throw new Error('ping is not installed: apt-get install iputils-ping', { cause: err });
      }
      return false;
    }
  }

  /** A daemon as a real child process managing the lab's host namespace. */
  daemon(name: string, flags: Record<string, string | number> = {}): StnDaemonProcess {
    const args = [
      join(ROOT, 'cli/netloom.ts'),
      'stn',
      '--netns',
      this.host,
      '--socket',
      this.socket,
      '--state-dir',
      this.stateDir,
      '--sysfs-root',
      this.sysfs.root,
      '--metrics-addr',
      '127.0.0.1:0',
      '--agent-readyz-url',
      '',
      // The daemon's production defaults probe /run/vpp/api.sock and want 10 s of failures;
      // these tests pick their probes and count alone (flags below override).
      '--data-plane-api-socket',
      '',
      '--watchdog-period-ms',
      '0',
      '--kernel-timeout-ms',
      '5000',
      '--release-retry-ms',
      '500',
      ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, String(v)]),
    ];
    return new StnDaemonProcess(
      new TestProcess({
        name,
        command: join(ROOT, 'node_modules/.bin/node'),
        args,
        logFile: join(this.dir, `${name}.log`),
        cwd: ROOT,
      }),
      this.socket,
    );
  }

  get socket(): string {
    return join(this.dir, 'stn.sock');
  }

  get stateDir(): string {
    return join(this.dir, 'state');
  }

  stateFile(): { phase: string } | undefined {
    const path = join(this.stateDir, `${NIC}.json`);
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { phase: string }) : undefined;
  }

  async cleanup(): Promise<void> {
    await this.sysfs?.stop();
    for (const ns of [this.host, this.peer]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    if (this.dir && !process.env['STN_KEEP_LAB']) await rm(this.dir, { recursive: true, force: true });
  }
}

export interface LogLine {
  msg?: string;
  operation?: string;
  step?: string;
  time?: string;
  action?: string;
  reason?: string;
  url?: string;
}

export class StnDaemonProcess {
  readonly proc: TestProcess;
  private readonly socket: string;
  /** Log lines before the current run (the log file is appended across restarts). */
  private from = 0;

  constructor(proc: TestProcess, socket: string) {
    this.proc = proc;
    this.socket = socket;
  }

  lines(): LogLine[] {
    let text: string;
    try {
      text = readFileSync(this.proc.logFile, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as LogLine];
      } catch {
        return [];
      }
    });
  }

  /** Polls this run's log every 10 ms for a matching line. */
  async waitForLog(match: (l: LogLine) => boolean, timeoutMs = 15_000, what = 'log line'): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const hit = this.lines().slice(this.from).find(match);
      if (hit) return hit;
      if (!this.proc.running)
        throw new Error(`${this.proc.name} exited while waiting for ${what}:\n${this.proc.tail()}`);
      await sleep(10);
    }
    throw new Error(`${this.proc.name}: no ${what} after ${timeoutMs} ms:\n${this.proc.tail()}`);
  }

  async start(): Promise<this> {
    const before = this.lines().length;
    this.from = before;
    this.proc.start();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (
        this.lines()
          .slice(before)
          .some((l) => l.msg === 'stn daemon ready') &&
        existsSync(this.socket)
      )
        return this;
      if (!this.proc.running) throw new Error(`${this.proc.name} exited at start:\n${this.proc.tail()}`);
      await sleep(20);
    }
    throw new Error(`${this.proc.name} not ready:\n${this.proc.tail()}`);
  }
}

/**
 * The lab's VPP for STN (agent/dataplane/vpp/testing/stn-fake-vpp.ts) as a child process: the
 * fake API server with the lab NIC as its DPDK interface, and the packet stand-in that makes
 * VPP's host TAP real in the host namespace. kill() is VPP dying: the TAP goes with it.
 */
export function fakeVppProcess(lab: StnLab, name: string, socket: string): TestProcess {
  return new TestProcess({
    name,
    command: join(ROOT, 'node_modules/.bin/node'),
    args: [
      join(ROOT, 'agent/dataplane/vpp/testing/stn-fake-vpp.ts'),
      '--socket',
      socket,
      '--netns',
      lab.host,
      '--nic',
      NIC,
      '--pci',
      PCI,
    ],
    logFile: join(lab.dir, `${name}.log`),
    cwd: ROOT,
  });
}

/** RX/TX packet counters of an interface in a namespace; undefined when it does not exist. */
export function packetCounters(ns: string, dev: string): { rx: number; tx: number } | undefined {
  try {
    const [l] = JSON.parse(ip(ns, '-s', '-json', 'link', 'show', 'dev', dev)) as {
      stats64: { rx: { packets: number }; tx: { packets: number } };
    }[];
    return { rx: l!.stats64.rx.packets, tx: l!.stats64.tx.packets };
  } catch {
    return undefined;
  }
}
