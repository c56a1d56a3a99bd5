// kube-proxy (built by test/tools/build.sh) in a network namespace of its own. It programs
// nftables, sysctls and conntrack of whatever namespace it runs in, so it never runs in the one
// the tests run in. A namespace has its own loopback: KubeProxyNetns links one to the root
// namespace with a veth pair on a /30 from 198.18.0.0/15 (the benchmarking range, RFC 2544,
// which no real network here uses) and the API server is started on the root side's address
// (startKubeApiserver's `bindAddress`), which kube-proxy reaches over the link. Deleting the
// namespace removes the veth pair and every table kube-proxy made in it.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runTool } from '../../lib/iproute.ts';
import { findKubeProxy } from './binaries.ts';
import { TestProcess } from './process.ts';

const run = promisify(execFile);

/** A namespace for kube-proxy, linked to the root namespace by a veth pair. */
export class KubeProxyNetns {
  /** The namespace's name (/run/netns/<name>). */
  readonly name: string;
  /** The root namespace's end: start the API server on this address. */
  readonly hostIp: string;
  /** The namespace's end: the node's address as kube-proxy sees it. */
  readonly nodeIp: string;
  private readonly onExit = (): void => this.destroySync();

  private constructor(name: string, hostIp: string, nodeIp: string) {
    this.name = name;
    this.hostIp = hostIp;
    this.nodeIp = nodeIp;
  }

  static async create(): Promise<KubeProxyNetns> {
    const tag = randomBytes(3).toString('hex');
    const name = `nlkp-${tag}`;
    // Interface names are at most 15 bytes; the tag keeps concurrent runs apart.
    const hostIf = `nlkp${tag}h`;
    const base = await freeSlash30();
    const hostIp = `198.${18 + (base >> 16)}.${(base >> 8) & 255}.${(base & 255) + 1}`;
    const nodeIp = `198.${18 + (base >> 16)}.${(base >> 8) & 255}.${(base & 255) + 2}`;
    const ns = new KubeProxyNetns(name, hostIp, nodeIp);
    await run('ip', ['netns', 'add', name]);
    process.once('exit', ns.onExit);
    try {
      await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
      await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
      await run('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
      await run('ip', ['link', 'set', hostIf, 'up']);
      await run('ip', ['-n', name, 'addr', 'add', `${nodeIp}/30`, 'dev', 'eth0']);
      await run('ip', ['-n', name, 'link', 'set', 'eth0', 'up']);
    } catch (err) {
      await ns.destroy();
      throw err;
    }
    return ns;
  }

  /** `nft <args>` inside the namespace; returns stdout. */
  nft(args: readonly string[]): Promise<string> {
    return runTool('nft', args, { netns: this.name, timeoutMs: 60_000 });
  }

  /** Deletes the namespace: the veth pair and every nft table in it go with it. */
  async destroy(): Promise<void> {
    process.removeListener('exit', this.onExit);
    await run('ip', ['netns', 'del', this.name]).catch(() => undefined);
  }

  private destroySync(): void {
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

/** A /30 in 198.18.0.0/15 that no address of the root namespace is in (offset from 198.18.0.0). */
async function freeSlash30(): Promise<number> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show']);
  const taken = new Set<number>();
  for (const m of stdout.matchAll(/inet 198\.(18|19)\.(\d+)\.(\d+)\//g)) {
    taken.add(((Number(m[1]) - 18) << 16) | (Number(m[2]) << 8) | (Number(m[3]) & ~3));
  }
  for (;;) {
    const base = randomInt(0, 1 << 15) << 2;
    if (!taken.has(base)) return base;
  }
}

export interface KubeProxyOptions {
  netns: KubeProxyNetns;
  /** The API server's URL, reachable from the namespace (its host must be `netns.hostIp`). */
  server: string;
  token: string;
  /** The Node this kube-proxy serves (--hostname-override). */
  nodeName: string;
  clusterCidr?: string;
  extraArgs?: string[];
}

export interface KubeProxyHandle {
  readonly version: string;
  readonly logFile: string;
  /** performance.now() when the process was spawned. */
  readonly startedAt: number;
  readonly running: boolean;
  /** An HTTP GET of kube-proxy's healthz or metrics server, made from inside the namespace. */
  get(server: 'healthz' | 'metrics', path: string): Promise<{ status: number; body: string }>;
  /** Elements in `table ip kube-proxy`'s map `name` (0 while the table does not exist). */
  mapSize(name: string): Promise<number>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

function kubeconfigYaml(server: string, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: netloom-test
  cluster:
    server: ${server}
    insecure-skip-tls-verify: true
users:
- name: kube-proxy
  user:
    token: ${token}
contexts:
- name: netloom-test
  context:
    cluster: netloom-test
    user: kube-proxy
current-context: netloom-test
`;
}

/**
 * Starts kube-proxy in nftables mode inside `netns`; resolves once spawned (not once synced:
 * the benchmark times the first sync from the spawn). Its healthz and metrics servers listen on
 * the namespace's own loopback, on ports fixed per instance (kube-proxy refuses port 0 and
 * nothing else listens in the namespace).
 */
export function startKubeProxy(o: KubeProxyOptions): KubeProxyHandle {
  const found = findKubeProxy();
  if (!found.ok) throw new Error(`cannot start kube-proxy: ${found.reason}`);
  const dir = mkdtempSync(join(tmpdir(), 'netloom-kube-proxy-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(o.server, o.token), { mode: 0o600 });
  const ports = { healthz: 10256, metrics: 10249 };
  const args = [
    'netns',
    'exec',
    o.netns.name,
    found.path,
    '--proxy-mode=nftables',
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${o.nodeName}`,
    `--cluster-cidr=${o.clusterCidr ?? '10.1.0.0/16'}`,
    `--metrics-bind-address=127.0.0.1:${ports.metrics}`,
    `--healthz-bind-address=127.0.0.1:${ports.healthz}`,
    // The conntrack table size is one for the whole machine (nf_conntrack_max is only writable
    // from the root namespace): 0 leaves it and the timeouts as they are.
    '--conntrack-max-per-core=0',
    '--conntrack-tcp-timeout-established=0',
    '--conntrack-tcp-timeout-close-wait=0',
    '--v=2',
    ...(o.extraArgs ?? []),
  ];
  // `ip netns exec` also mounts the namespace's own /sys, which kube-proxy reads interfaces from.
  const proc = new TestProcess({
    name: 'kube-proxy',
    command: 'ip',
    args,
    logFile: join(dir, 'kube-proxy.log'),
  });
  const startedAt = performance.now();
  proc.start();
  return {
    version: found.version,
    logFile: proc.logFile,
    startedAt,
    get running() {
      return proc.running;
    },
    async get(server, path) {
      // Node cannot open a socket in another namespace; a short Node child inside it can.
      const url = `http://127.0.0.1:${ports[server]}${path}`;
      const script =
        `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) })` +
        `.then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))` +
        `.catch((e) => process.stdout.write(JSON.stringify({ status: 0, body: String(e) })))`;
      const out = await runTool(process.execPath, ['-e', script], { netns: o.netns.name, timeoutMs: 10_000 });
      return JSON.parse(out) as { status: number; body: string };
    },
    async mapSize(name) {
      const out = await o.netns.nft(['-j', 'list', 'map', 'ip', 'kube-proxy', name]).catch(() => '');
      if (out === '') return 0;
      const doc = JSON.parse(out) as { nftables: { map?: { elem?: unknown[] } }[] };
      return doc.nftables.find((x) => x.map)?.map?.elem?.length ?? 0;
    },
    stop: () => proc.stop(),
    async destroy() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
