// A real VPP as a plain process, for the real-VPP tests, benchmarks and labs: found where
// test/tools/build-vpp.sh left it (its vpp.env) or installed, started with a startup.conf that
// needs no DPDK, no hugepages and no root-owned paths (every socket in its own directory, a
// unique shared-memory prefix), optionally inside a network namespace so that its af_packet
// interfaces see that namespace's links. Facts behind the settings:
// ../shared/notes/vpp-binary-api.md ("A real VPP on these machines").
import { isExecutable, tailLines } from '../../lib/files.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  readdirSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from '../../lib/timing.ts';

const execFileAsync = promisify(execFile);

/** A VPP build or installation: what the env file of build-vpp.sh names. */
export interface VppBuild {
  bin: string;
  vppctl: string;
  /** Plugins directory ('' for VPP's compiled-in default). */
  pluginDir: string;
  /** vppapigen's .api.json tree of this VPP ('' when not installed with it). */
  apiDir: string;
  version: string;
}

export type VppFound = { ok: true; build: VppBuild } | { ok: false; reason: string };

const cacheDir = (): string =>
  join(process.env['NETLOOM_CACHE_DIR'] ?? join(homedir(), '.cache', 'netloom'), 'vpp');

/** KEY=VALUE lines (build-vpp.sh writes no quoting). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * The VPP to run: NETLOOM_VPP_ENV (an env file) or the one build-vpp.sh wrote in the cache.
 * Nothing is guessed beyond that: build-vpp.sh also records an installed `vpp` found on PATH.
 */
export function findVpp(): VppFound {
  const file = process.env['NETLOOM_VPP_ENV'] ?? join(cacheDir(), 'vpp.env');
  if (!existsSync(file))
    return {
      ok: false,
      reason: `no VPP (${file} missing: set NETLOOM_VPP_SRC to a VPP source tree and run test/tools/build-vpp.sh, or install vpp)`,
    };
  const env = parseEnvFile(readFileSync(file, 'utf8'));
  const bin = env['VPP_BIN'] ?? '';
  if (!isExecutable(bin))
    return { ok: false, reason: `${file} names VPP_BIN=${bin}, which is not executable` };
  return {
    ok: true,
    build: {
      bin,
      vppctl: env['VPPCTL_BIN'] ?? '',
      pluginDir: env['VPP_PLUGIN_DIR'] ?? '',
      apiDir: env['VPP_API_DIR'] ?? '',
      version: env['VPP_VERSION'] ?? 'unknown',
    },
  };
}

export interface VppPaths {
  dir: string;
  apiSocket: string;
  cliSocket: string;
  statsSocket: string;
  log: string;
}

export const vppPaths = (dir: string): VppPaths => ({
  dir,
  apiSocket: join(dir, 'api.sock'),
  cliSocket: join(dir, 'cli.sock'),
  statsSocket: join(dir, 'stats.sock'),
  log: join(dir, 'vpp.log'),
});

/**
 * startup.conf for a VPP without DPDK or hugepages (pure). `poll-sleep-usec` lets the main loop
 * sleep between polls: without it an af_packet VPP spins a core, and these machines have two.
 * The main heap is 1 GiB of address space (pages are populated as used): with cnat's tables in
 * it, 256 MiB ran out when the ACL plugin made its session pools for the first policy, and
 * VPP aborted (os_panic in acl_fa_enable_disable).
 */
export function startupConf(
  paths: VppPaths,
  opts: { pluginDir: string; prefix: string; startupConfig?: string },
): string {
  const plugins = opts.pluginDir === '' ? '' : `plugins {\n  path ${opts.pluginDir}\n}\n`;
  // CLI commands VPP runs once it is up: what a node's operator configures (its uplink).
  const exec = opts.startupConfig === undefined ? '' : `\n  startup-config ${opts.startupConfig}`;
  return [
    `unix {\n  nodaemon\n  cli-listen ${paths.cliSocket}\n  log ${paths.log}\n  poll-sleep-usec 100${exec}\n}`,
    `socksvr {\n  socket-name ${paths.apiSocket}\n}`,
    `api-segment {\n  prefix ${opts.prefix}\n}`,
    `memory {\n  main-heap-size 1G\n  main-heap-page-size 4k\n}`,
    `buffers {\n  buffers-per-numa 16384\n  page-size 4k\n}`,
    `statseg {\n  size 32M\n  page-size 4k\n  socket-name ${paths.statsSocket}\n}`,
    `cpu {\n  main-core 0\n}`,
    plugins,
  ].join('\n');
}

/**
 * The uplink as a node's startup configuration makes it (pure): the kernel link `link` taken by
 * af_packet (VPP's name for it: host-<link>), up, with `cidr`.
 */
export function uplinkCli(link: string, cidr: string): string {
  return [
    `create host-interface name ${link}`,
    `set interface state host-${link} up`,
    `set interface ip address host-${link} ${cidr}`,
    '',
  ].join('\n');
}

/**
 * Removes the shared-memory segments VPP leaves in /dev/shm under its api-segment prefix
 * (`<prefix>-vpe-api`, `<prefix>-global_vm`): a killed VPP never does, and one that exits
 * cleanly does not either.
 */
export function removeVppShm(prefix: string, shm = '/dev/shm'): void {
  let names: string[];
  try {
    names = readdirSync(shm);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(`${prefix}-`)) rmSync(join(shm, n), { force: true });
}

export interface VppInstanceOptions {
  build: VppBuild;
  /** Directory for its sockets, log and startup.conf (created). */
  dir: string;
  /** /run/netns name to run it in; unset: the caller's namespace. */
  netns?: string;
  /** Shared-memory prefix, unique on the machine (default: the directory's last part). */
  prefix?: string;
}

/** One VPP process: start (waits for its API socket), stop, kill -9, restart, vppctl. */
export class VppInstance {
  readonly paths: VppPaths;
  private readonly opts: VppInstanceOptions;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(opts: VppInstanceOptions) {
    this.opts = opts;
    this.paths = vppPaths(opts.dir);
  }

  /** The api-segment prefix: its shared memory in /dev/shm is named after it. */
  get prefix(): string {
    return this.opts.prefix ?? `nl${this.opts.dir.split('/').filter(Boolean).pop() ?? 'vpp'}`.slice(0, 40);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    const { build, dir, netns } = this.opts;
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'startup.conf');
    const prefix = this.prefix;
    writeFileSync(conf, startupConf(this.paths, { pluginDir: build.pluginDir, prefix }));
    // A socket left by a killed VPP would look ready before the new one listens.
    for (const s of [this.paths.apiSocket, this.paths.cliSocket]) rmSync(s, { force: true });
    const [command, args] =
      netns === undefined
        ? [build.bin, ['-c', conf]]
        : ['ip', ['netns', 'exec', netns, build.bin, '-c', conf]];
    const fd = openSync(join(dir, 'stdout.log'), 'a');
    const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(this.paths.apiSocket)) {
      if (!this.running) throw new Error(`VPP exited at start; ${join(dir, 'stdout.log')}:\n${this.tail()}`);
      if (Date.now() > deadline)
        throw new Error(`VPP's API socket not there after ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(50);
    }
  }

  /** SIGTERM, then SIGKILL after the grace period; its shared memory removed. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.running) {
      this.child?.kill('SIGTERM');
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    removeVppShm(this.prefix);
  }

  /** kill -9 (VPP crashing), and wait until it is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** One CLI command through vppctl (for tests' evidence and the lab's status, never for configuration). */
  async vppctl(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync(this.opts.build.vppctl, ['-s', this.paths.cliSocket, ...args], {
      timeout: 10_000,
    });
    return stdout;
  }

  tail(lines = 30): string {
    return tailLines(join(this.opts.dir, 'stdout.log'), lines);
  }
}
