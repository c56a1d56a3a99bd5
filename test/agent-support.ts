// Agent processes for cross-process tests: `netloom agent` started through the real entry
// point, with the fake data plane (a JSON file in its state dir), its HTTP API on a free port,
// output to a log file, and helpers to read the API and wait for readiness.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../lib/free-ports.ts';
import { sleep } from '../lib/timing.ts';
import type { EtcdConfig } from '../lib/etcd/client.ts';
import { etcdFlags } from './harness/etcd.ts';

const root = join(import.meta.dirname, '..');
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface AgentProcessOptions {
  /** etcd settings (EtcdHandle.configFor('agent')). */
  etcd: EtcdConfig;
  node: string;
  cluster: string;
  stateDir: string;
  /** Further flags, e.g. ['--id-settle-ms', '3000']. */
  args?: string[];
}

/** Settings that make tests quick: short lease, frequent checks, short settle. */
export const FAST = [
  '--lease-ttl-seconds',
  '3',
  '--identity-check-ms',
  '200',
  '--id-settle-ms',
  '1500',
  '--owner-wait-ms',
  '1000',
];

export class AgentProcess {
  readonly opts: AgentProcessOptions;
  readonly logFile: string;
  url = '';
  private child: ChildProcess | undefined;
  private exit: Promise<number | null> = Promise.resolve(null);

  constructor(opts: AgentProcessOptions) {
    this.opts = opts;
    this.logFile = join(opts.stateDir, `agent-${Date.now()}.log`);
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const fd = openSync(this.logFile, 'a');
    const args = [
      join(root, 'cli/netloom.ts'),
      'agent',
      '--node-name',
      this.opts.node,
      '--cluster',
      this.opts.cluster,
      ...etcdFlags(this.opts.etcd),
      '--state-dir',
      this.opts.stateDir,
      '--metrics-addr',
      `127.0.0.1:${port}`,
      '--dataplane',
      'fake',
      '--management-ip',
      `192.168.77.${(hash(this.opts.node) % 250) + 1}`,
      ...FAST,
      ...(this.opts.args ?? []),
    ];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, NETLOOM_LOG_LEVEL: 'info' },
    });
    closeSync(fd);
    live.add(child);
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', (code) => (live.delete(child), resolve(code))));
  }

  /** Resolves with the exit code. */
  exited(): Promise<number | null> {
    return this.exit;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async api<T = unknown>(path: string): Promise<T> {
    const res = await fetch(this.url + path, { signal: AbortSignal.timeout(3_000) });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(
          `agent ${this.opts.node} exited (${this.child?.exitCode}); log:\n${this.log().slice(-3000)}`,
        );
      const ok = await fetch(this.url + '/readyz', { signal: AbortSignal.timeout(1_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await sleep(100);
    }
    throw new Error(
      `agent ${this.opts.node} not ready after ${timeoutMs} ms; log:\n${this.log().slice(-3000)}`,
    );
  }

  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGCONT');
    this.child?.kill('SIGTERM');
    const t = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await this.exit;
    clearTimeout(t);
  }
}

function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h;
}

export function tempStateDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `nl-agent-${name}-`));
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what} not met after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export interface NodeView {
  name: string;
  id: number;
  podSubnet: string;
  ready: string;
}
