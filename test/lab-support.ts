// Shared by the lab suites: a lab made through the real `netloom lab` commands (as a person
// would run them), with a unique name and a throwaway state dir, plus kubectl, etcdctl and the
// checks that nothing is left behind. `destroy()` always runs `lab down` and verifies it.
import { tailLines } from '../lib/files.ts';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { findEtcd, findKubeApiserver } from '../cli/lab/binaries.ts';
import { markedProcesses, readPidFile } from '../cli/lab/daemon.ts';
import { labLayout, type LabLayout } from '../cli/lab/layout.ts';
import { listNetns } from '../cli/lab/netns.ts';
import { etcdAccess, etcdEndpoint, type LabState } from '../cli/lab/state.ts';
import type { EtcdConfig } from '../lib/etcd/client.ts';
import type { LabStatus } from '../cli/lab/status.ts';
import type { CheckResult } from '../cli/lab/check.ts';
import {
  allOf,
  cniPluginsAvailable,
  fromFound,
  kubeControllerManagerAvailable,
  netnsAvailable,
  type Availability,
} from './harness/availability.ts';
import { sleep } from '../lib/timing.ts';
import { inNetns, runProcess } from '../lib/iproute.ts';
import { get } from '../cli/lab/http.ts';
import type { SimulatorStatus } from '../cli/lab/kubelet/simulator.ts';

const ROOT = join(import.meta.dirname, '..');
const NETLOOM = join(ROOT, 'cli', 'netloom.ts');
const SERVICE_PROBE = join(ROOT, 'test', 'lab', 'service-probe.ts');

/** Runs test/lab/service-probe.ts in `netns` (`http`, `get`, `connect`, `udp`): its JSON answer. */
export async function serviceProbe(netns: string, args: string[]): Promise<unknown> {
  const [cmd, argv] = inNetns(netns, process.execPath, [SERVICE_PROBE, ...args]);
  const res = await runProcess(cmd, argv, { timeoutMs: 120_000 });
  if (res.code !== 0) throw new Error(`service-probe ${args.join(' ')} in ${netns}: ${res.stderr}`);
  return JSON.parse(res.stdout) as unknown;
}

/**
 * Which lab echo pod answered each of `n` HTTP requests from `netns` to ip:port, and the client
 * address it saw ("hello from default/<pod> on <node> (…), you are <ip>").
 */
export async function echoAnswers(
  netns: string,
  ip: string,
  port: number,
  n: number,
): Promise<{ pod: string; client: string }[]> {
  const bodies = (await serviceProbe(netns, ['http', ip, String(port), String(n)])) as string[];
  return bodies.map((body) => {
    const m = /^hello from [^/]+\/(\S+) on \S+ \(.*\), you are (\S+)$/.exec(body);
    return m ? { pod: m[1]!, client: m[2]! } : { pod: body, client: '' };
  });
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function labAvailable(): Availability {
  // The lab runs kubectl and etcdctl by absolute path, so those are what must exist.
  const tool = (component: 'kubectl' | 'etcdctl', path: string, pkg: string): Availability =>
    existsSync(path)
      ? { ok: true, detail: path }
      : { ok: false, component, reason: `${path} is missing (apt-get install ${pkg})` };
  return allOf(
    netnsAvailable(),
    fromFound(findEtcd(), 'etcd'),
    fromFound(findKubeApiserver(), 'kube-apiserver'),
    // Without it the lab comes up, but a Deployment never gets pods.
    kubeControllerManagerAvailable(),
    // Each lab node's conflist chains Debian's portmap after netloom.
    cniPluginsAvailable(),
    tool('kubectl', '/usr/bin/kubectl', 'kubernetes-client'),
    tool('etcdctl', '/usr/bin/etcdctl', 'etcd-client'),
  );
}

function exec(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 180_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : null
          : 0;
        resolve({ code, stdout, stderr, ms: performance.now() - t0 });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

export class TestLab {
  readonly name: string;
  readonly stateDir: string;
  readonly layout: LabLayout;
  private readonly nodes: number;
  private readonly extra: string[];

  constructor(opts: { nodes: number; args?: string[] }) {
    this.name = `t${randomBytes(3).toString('hex')}`;
    this.stateDir = join(mkdtempSync(join(tmpdir(), 'netloom-labtest-')), 'lab');
    this.nodes = opts.nodes;
    this.extra = opts.args ?? [];
    this.layout = labLayout({
      name: this.name,
      stateDir: this.stateDir,
      nodes: opts.nodes,
      underlayCidr: '192.168.100.0/24',
    });
  }

  /** `netloom lab <args> --name … --state-dir …`, run to completion. */
  netloom(args: string[], timeoutMs = 240_000): Promise<Run> {
    return exec(
      process.execPath,
      [NETLOOM, 'lab', ...args, '--name', this.name, '--state-dir', this.stateDir],
      { timeoutMs },
    );
  }

  /** `lab up` as a child process that the caller may kill (the crash test). */
  spawnUp(): ChildProcess {
    return spawn(
      process.execPath,
      [
        NETLOOM,
        'lab',
        'up',
        '--nodes',
        String(this.nodes),
        '--name',
        this.name,
        '--state-dir',
        this.stateDir,
        ...this.extra,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  }

  async up(): Promise<Run> {
    const res = await this.netloom(['up', '--nodes', String(this.nodes), ...this.extra]);
    if (res.code !== 0) throw new Error(`lab up failed (${res.code}):\n${res.stdout}\n${res.stderr}`);
    return res;
  }

  state(): LabState {
    return JSON.parse(readFileSync(this.layout.files.state, 'utf8')) as LabState;
  }

  get kubeconfig(): string {
    return this.layout.files.kubeconfig;
  }

  get etcdEndpoint(): string {
    return etcdEndpoint(this.state());
  }

  /** netloom's etcd as a test's own client reaches it: TLS with the lab's admin certificate. */
  get etcdConfig(): EtcdConfig {
    const a = etcdAccess(this.state());
    return { etcdEndpoints: [a.endpoint], etcdCa: a.ca, etcdCert: a.cert, etcdKey: a.key };
  }

  async kubectl(args: string[], input?: string): Promise<string> {
    const res = await exec('/usr/bin/kubectl', ['--kubeconfig', this.kubeconfig, ...args], {
      ...(input ? { input } : {}),
      timeoutMs: 60_000,
    });
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  }

  async etcdctl(args: string[]): Promise<string> {
    const a = etcdAccess(this.state());
    const tls = ['--endpoints', a.endpoint, '--cacert', a.ca, '--cert', a.cert, '--key', a.key];
    const res = await exec('/usr/bin/etcdctl', [...tls, ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      timeoutMs: 30_000,
    });
    if (res.code !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  }

  async status(): Promise<LabStatus> {
    const res = await this.netloom(['status', '--json'], 60_000);
    return JSON.parse(res.stdout) as LabStatus;
  }

  async check(): Promise<CheckResult> {
    const res = await this.netloom(['check', '--json'], 120_000);
    return JSON.parse(res.stdout) as CheckResult;
  }

  pid(component: string): number | undefined {
    return readPidFile(join(this.layout.files.pids, `${component}.pid`))?.pid;
  }

  /**
   * How many backends each node's agent has applied for a Service item (`service/0/tcp/…`),
   * from its API; undefined where the item is not applied.
   */
  async appliedBackends(key: string): Promise<(number | undefined)[]> {
    return Promise.all(
      this.layout.nodes.map(async (n) => {
        const res = await get(`http://agent/api/v1/items/applied?prefix=${encodeURIComponent(key)}`, {
          socketPath: n.apiSocket,
        });
        const items = JSON.parse(res.body) as { key: string; value: { backends: unknown[] } }[];
        return items.find((i) => i.key === key)?.value.backends.length;
      }),
    );
  }

  /** Pods as the API server reports them: name → {phase, ip, node}. */
  async pods(
    selector?: string,
    namespace = 'default',
  ): Promise<Map<string, { phase: string; ip: string; node: string; ready: boolean; uid: string }>> {
    const out = JSON.parse(
      await this.kubectl([
        'get',
        'pods',
        '-n',
        namespace,
        '-o',
        'json',
        ...(selector ? ['-l', selector] : []),
      ]),
    ) as {
      items: {
        metadata: { name: string; uid: string; deletionTimestamp?: string };
        spec: { nodeName?: string };
        status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
      }[];
    };
    return new Map(
      out.items.map((p) => [
        p.metadata.name,
        {
          phase: p.metadata.deletionTimestamp ? 'Terminating' : (p.status.phase ?? ''),
          ip: p.status.podIP ?? '',
          node: p.spec.nodeName ?? '',
          ready: p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
          uid: p.metadata.uid,
        },
      ]),
    );
  }

  /** The simulated kubelet's pods: name → network namespace. */
  async podNetns(): Promise<Map<string, string>> {
    const res = await get('http://kubelet/status', { socketPath: join(this.stateDir, 'kubelet.sock') });
    const sim = JSON.parse(res.body) as SimulatorStatus;
    return new Map(sim.pods.map((p) => [p.name, p.netns]));
  }

  /** What of this lab is still on the machine: namespaces, processes, the state dir. */
  async leftovers(): Promise<string[]> {
    return [
      ...(await listNetns()).filter((n) => n.startsWith(this.layout.netnsPrefix)).map((n) => `netns ${n}`),
      ...markedProcesses(this.layout.marker).map((p) => `process ${p.pid}`),
      ...(existsSync(this.stateDir) ? [`dir ${this.stateDir}`] : []),
    ];
  }

  /** `lab down`, then the temp dir; returns what `lab down` could not remove. */
  async destroy(): Promise<string[]> {
    await this.netloom(['down'], 120_000);
    const left = await this.leftovers();
    rmSync(join(this.stateDir, '..'), { recursive: true, force: true });
    return left;
  }

  /** The last lines of a component's log, for failure messages. */
  log(component: string, lines = 20): string {
    return tailLines(join(this.layout.files.logs, `${component}.log`), lines);
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    await sleep(everyMs);
  }
}
