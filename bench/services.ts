// Service data plane: netloom (KSR → netloom's etcd → the agent's service path → the linux
// driver's nftables, in a namespace of its own) beside kube-proxy 1.37.2 in nftables mode (in a
// namespace of its own), against one real kube-apiserver + etcd, in the same run.
//
// The cluster: N selector-less Services (one TCP port each), each with a hand-written
// EndpointSlice of 10 ready endpoints (no pods: the data planes only read Services and
// EndpointSlices). For each N, each subject runs alone (the other stopped), so neither competes
// with the other for the machine's two cores:
// - full sync: kube-proxy from process spawn; netloom from agent start with KSR already synced
//   (etcd mirrors the API exactly) — until `nft monitor` in its namespace has printed every
//   Service's element added to the map that dispatches cluster IPs, `service-ips` (both write a
//   frontend and its backends in one `nft -f` transaction, so a frontend in the map has its
//   backends); one read of the map then confirms the count;
// - one endpoint change: an EndpointSlice rewritten with an 11th endpoint (a PUT; the clock
//   starts just before it) until the monitor prints the change that sends to that address:
//   kube-proxy's rule in that Service's chain, netloom's element (its hairpin element; see
//   netloomSubject). Changes are 1.2 s apart: kube-proxy's default
//   --nftables-min-sync-period is 1 s, and a change arriving sooner would be measured waiting;
// - first packet: 300 new connections from a client namespace to a probe Service's cluster IP,
//   each SYN judged by the subject's rules (and forwarded to a server namespace behind it),
//   timed from connect() to established (bench/connect-latency.ts), at each N.
// Why a monitor and not polling: a read costs what the whole table costs (nft loads its cache
// first): one `nft list chain` took 26–89 ms at 100–1,000 Services and 3.9 s at 10,000 here,
// on the cores the subject needs.
// Sizes grow in one run (--services 1000,10000 creates 1,000, measures, adds 9,000, measures).
//
// Usage: npm run bench:services [-- --services 200 --changes 20 --no-netloom]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, DiscoveryV1Api, type V1EndpointSlice } from '@kubernetes/client-node';
import { inNetns, runTool } from '../lib/iproute.ts';
import { Keyspace } from '../lib/keyspace.ts';
import { silentLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import { sleep } from '../lib/timing.ts';
import type { Agent } from '../agent/agent.ts';
import { assembleAgent } from '../agent/assemble.ts';
import { agentConfigSchema } from '../agent/config.ts';
import { frontendChain } from '../agent/dataplane/linux/service-plan.ts';
import { serviceKey } from '../agent/items/keys.ts';
import { startEtcd, type EtcdHandle } from '../test/harness/etcd.ts';
import { startKubeApiserver, type KubeApiserverHandle } from '../test/harness/kube-apiserver.ts';
import { KubeProxyNetns, startKubeProxy, type KubeProxyHandle } from '../test/harness/kube-proxy.ts';
import { startKsrProcess, waitConverged, type KsrProcess } from '../test/ksr-support.ts';
import { Lab } from '../test/lab/netns.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const SIZES = arg('services', '200')
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const CHANGES = Number(arg('changes', '20'));
/** How often the full sync checks what the monitor has seen. */
const POLL_MS = Number(arg('poll-ms', '2'));
const WITH_NETLOOM = !process.argv.includes('--no-netloom');
const ENDPOINTS = 10;
const PORT = 8080;
/** The one endpoint of the probe Service: a server in a namespace of its own, behind the subject. */
const PROBE_IP = '203.0.113.80';
const PROBE_CONNECTS = 300;
const CONNECT = new URL('./connect-latency.ts', import.meta.url).pathname;
const CLUSTER = 'bench';
const NAMESPACE = 'default';
/** kube-proxy's --nftables-min-sync-period (1 s by default) plus a margin. */
const CHANGE_GAP_MS = 1_200;
const FULL_SYNC_TIMEOUT_MS = 600_000;
const CHANGE_TIMEOUT_MS = 30_000;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** The k-th base endpoint address, from 10.64.0.0/10 (Services share none). */
const endpointIp = (k: number): string => `10.${64 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
/** The c-th added endpoint, from a range no base endpoint uses. */
const addedIp = (c: number): string => `10.250.${(c >> 8) & 255}.${c & 255}`;
const svcName = (i: number): string => `bench-${i}`;

/** A data plane under measurement. */
interface Subject {
  readonly name: string;
  /** The namespace it programs (valid once prepared). */
  readonly netns: string;
  /** Makes its namespace, empty, so a monitor can watch it before the start. */
  prepare(): Promise<void>;
  /** Starts it; resolves with the start instant (performance.now()). */
  start(): Promise<number>;
  /** Cluster-IP frontends in its `service-ips` map, read from the kernel. */
  frontends(): Promise<number>;
  /** How a backend `ip`:`port` is spelled in the rule that DNATs to it (as nft prints it). */
  backendText(ip: string): string[];
  /** Whether that rule (a line of `nft monitor`) belongs to Service `name` with cluster IP `vip`. */
  owns(line: string, vip: string, name: string): boolean;
  /** When an intermediate store first held `ip` for Service `name` (netloom: KSR's etcd write). */
  stored?(name: string, ip: string): Promise<number>;
  stop(): Promise<void>;
}

interface Figures {
  fullSyncMs: number;
  /**
   * Set when the monitor missed frontends (its socket overflows when one transaction adds
   * 10,000 elements): the full sync is then known only to lie between the monitor's last event
   * (`fullSyncMs`) and the kernel's confirmation of every frontend in the map (this).
   */
  fullSyncUpperMs?: number;
  changeMs: number[];
  /** Of each change, the part until the intermediate store held it (netloom: API → etcd by KSR). */
  storedMs: number[];
  /** Connection set-up through the probe Service from a client namespace, µs, sorted. */
  firstPacketUs: number[];
}

/**
 * `nft monitor` in a namespace: every rule, set and element change the kernel commits there,
 * one line each, stamped on arrival. A read of one chain costs 10–35 ms on this machine (nft
 * loads its cache first), so polling could not resolve a change to the few ms the figure needs;
 * the monitor sees the commit as it happens, whatever the size of the ruleset.
 */
class NftMonitor {
  private readonly child: ChildProcess;
  private readonly waiters: { texts: string[]; resolve: (seen: { t: number; line: string }) => void }[] = [];
  private partial = '';
  /** Distinct `vip . proto . port` keys added to the map `service-ips`, and when the last came. */
  private readonly frontends = new Set<string>();
  private lastFrontendAt = 0;

  constructor(netns: string) {
    const [cmd, args] = inNetns(netns, 'nft', ['monitor']);
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      const t = performance.now();
      const lines = (this.partial + chunk).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (/^add element ip \S+ service-ips /.test(line)) {
          for (const m of line.matchAll(/([\d.]+ \. \w+ \. \d+)/g)) this.frontends.add(m[1]!);
          this.lastFrontendAt = t;
        }
        for (const w of [...this.waiters]) {
          if (!w.texts.some((x) => line.includes(x))) continue;
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve({ t, line });
        }
      }
    });
  }

  /** Frontends added so far, and when the last of them arrived. */
  added(): { count: number; at: number } {
    return { count: this.frontends.size, at: this.lastFrontendAt };
  }

  /** Resolves with the first line containing one of `texts`, and its arrival time. */
  next(texts: string[], timeoutMs: number): Promise<{ t: number; line: string }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nft monitor: no ${texts[0]} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        texts,
        resolve: (seen) => {
          clearTimeout(timer);
          resolve(seen);
        },
      });
    });
  }

  close(): void {
    this.child.kill('SIGKILL');
  }
}

class Cluster {
  readonly core: CoreV1Api;
  readonly discovery: DiscoveryV1Api;
  /** Cluster IP and the current slice of every bench Service, by index. */
  readonly services: { vip: string; slice: V1EndpointSlice }[] = [];
  private added = 0;

  constructor(kube: KubeApiserverHandle) {
    const kc = kube.kubeConfig();
    this.core = kc.makeApiClient(CoreV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
  }

  /** Creates Services (and their slices) up to `n`, `concurrency` requests in flight. */
  async grow(n: number, concurrency = 24): Promise<void> {
    let next = this.services.length;
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        const svc = await this.core.createNamespacedService({
          namespace: NAMESPACE,
          body: { metadata: { name: svcName(i) }, spec: { ports: [{ port: 80, targetPort: PORT }] } },
        });
        const slice = await this.discovery.createNamespacedEndpointSlice({
          namespace: NAMESPACE,
          body: {
            metadata: { name: `${svcName(i)}-a`, labels: { 'kubernetes.io/service-name': svcName(i) } },
            addressType: 'IPv4',
            ports: [{ name: '', port: PORT, protocol: 'TCP' }],
            endpoints: Array.from({ length: ENDPOINTS }, (_, j) => ({
              addresses: [endpointIp(i * ENDPOINTS + j)],
              conditions: { ready: true },
            })),
          },
        });
        this.services[i] = { vip: svc.spec?.clusterIP ?? '', slice };
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /** The probe Service (one endpoint, PROBE_IP:PORT) for first-packet latency; its cluster IP. */
  async probe(): Promise<string> {
    const svc = await this.core.createNamespacedService({
      namespace: NAMESPACE,
      body: { metadata: { name: 'probe' }, spec: { ports: [{ port: 80, targetPort: PORT }] } },
    });
    await this.discovery.createNamespacedEndpointSlice({
      namespace: NAMESPACE,
      body: {
        metadata: { name: 'probe-a', labels: { 'kubernetes.io/service-name': 'probe' } },
        addressType: 'IPv4',
        ports: [{ name: '', port: PORT, protocol: 'TCP' }],
        endpoints: [{ addresses: [PROBE_IP], conditions: { ready: true } }],
      },
    });
    return svc.spec?.clusterIP ?? '';
  }

  /** Every Service in the API (the bench's and `kubernetes`): what a full sync must program. */
  async total(): Promise<number> {
    return (await this.core.listServiceForAllNamespaces()).items.length;
  }

  /** An address no endpoint has had yet. */
  nextAddedIp(): string {
    return addedIp(++this.added);
  }

  /** Adds the ready endpoint `ip` to Service `i`'s slice; returns when the write started. */
  async addEndpoint(i: number, ip: string): Promise<number> {
    const s = this.services[i]!;
    const body: V1EndpointSlice = {
      ...s.slice,
      endpoints: [...(s.slice.endpoints ?? []), { addresses: [ip], conditions: { ready: true } }],
    };
    const t0 = performance.now();
    s.slice = await this.discovery.replaceNamespacedEndpointSlice({
      name: s.slice.metadata?.name ?? '',
      namespace: NAMESPACE,
      body,
    });
    return t0;
  }
}

/** kube-proxy in its namespace. */
function kubeProxySubject(netns: KubeProxyNetns, kube: KubeApiserverHandle): Subject {
  let proxy: KubeProxyHandle | undefined;
  return {
    name: 'kube-proxy 1.37.2 (nftables)',
    netns: netns.name,
    async prepare() {
      // Its tables outlive it: each size's full sync starts from an empty namespace.
      await netns.nft(['flush', 'ruleset']);
    },
    async start() {
      proxy = startKubeProxy({ netns, server: kube.url, token: kube.token, nodeName: 'kp-node' });
      return proxy.startedAt;
    },
    async frontends() {
      if (!proxy?.running) throw new Error(`kube-proxy exited; log ${proxy?.logFile}`);
      return proxy.mapSize('service-ips');
    },
    // 1.37 writes the backends into the service chain's DNAT: `dnat ip to numgen random mod 11
    // map { 0 : <ip> . <port>, … }` (one backend: `dnat to <ip>:<port>`); older releases jump to
    // a chain per endpoint, `endpoint-<hash>-<svc>__<ip>/<port>`.
    backendText: (ip) => [`${ip} . ${PORT}`, `${ip}:${PORT}`, `__${ip}/${PORT}`],
    // Its chains are named `service-<hash>-<namespace>/<name>/tcp/<port name>`.
    owns: (line, _vip, name) => line.includes(`-${NAMESPACE}/${name}/tcp/`),
    async stop() {
      await proxy?.destroy();
      proxy = undefined;
    },
  };
}

/** Elements in `<table>`'s `service-ips` map (0 while the table does not exist). */
async function mapSize(nft: (args: string[]) => Promise<string>, table: string): Promise<number> {
  const out = await nft(['-j', 'list', 'map', 'ip', table, 'service-ips']).catch(() => '');
  if (out === '') return 0;
  const doc = JSON.parse(out) as { nftables: { map?: { elem?: unknown[] } }[] };
  return doc.nftables.find((x) => x.map)?.map?.elem?.length ?? 0;
}

/**
 * netloom's agent, assembled as `netloom agent` runs it (linux driver in its own namespace),
 * reading the etcd KSR fills. Its services are kube-proxy's nftables layout in `table ip
 * netloom-svc` (agent/dataplane/linux/service-plan.ts): `service-ips` → `svc-<h>`, whose rules
 * draw a backend (`numgen random mod N-i 0`) and DNAT to it inline.
 */
function netloomSubject(lab: Lab, etcd: EtcdHandle): Subject {
  let agent: Agent | undefined;
  let netns = '';
  let tmp = '';
  let round = 0;
  let watching: AbortController | undefined;
  const waiters: { name: string; ip: string; resolve: (t: number) => void }[] = [];
  const keyspace = new Keyspace(CLUSTER);
  /** Watches KSR's writes of the bench Services' folded endpoints in netloom's etcd. */
  const watchEndpoints = async (): Promise<void> => {
    watching = new AbortController();
    const store = etcd.store();
    const prefix = keyspace.prefix('endpoints', NAMESPACE);
    const events = store.watch(prefix, {
      startRevision: (await store.revision()) + 1,
      signal: watching.signal,
    });
    void (async () => {
      for await (const ev of events) {
        if (ev.type !== 'events') continue;
        const t = performance.now();
        for (const ch of ev.changes) {
          if (ch.type !== 'put') continue;
          for (const w of [...waiters]) {
            if (ch.key !== `${prefix}${w.name}` || !ch.value.includes(`"${w.ip}"`)) continue;
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(t);
          }
        }
      }
    })().catch(() => undefined);
  };
  const nft = (args: string[]): Promise<string> => runTool('nft', args, { netns, timeoutMs: 60_000 });
  return {
    name: 'netloom (KSR + agent, linux driver)',
    get netns() {
      return netns;
    },
    async prepare() {
      round++;
      netns = await lab.netns(`agent${round}`);
      // The node's address, on a port-less bridge (this kernel has no dummy driver).
      await lab.ip(netns, ['link', 'add', 'ul0', 'type', 'bridge']);
      await lab.ip(netns, ['addr', 'add', '192.168.77.1/24', 'dev', 'ul0']);
      await lab.ip(netns, ['link', 'set', 'ul0', 'up']);
    },
    async start() {
      tmp = mkdtempSync(join(tmpdir(), 'netloom-bench-services-'));
      const config = agentConfigSchema.parse({
        // A node name per round: the previous round's node ID claim is released on close, but a
        // fresh name keeps the rounds independent of how fast that happens.
        nodeName: `nl-node-${round}`,
        cluster: CLUSTER,
        stateDir: tmp,
        dataplane: 'linux',
        linuxNetns: netns,
        cniSocket: '',
        managementIp: '192.168.77.1',
        tunnelEndpoint: '',
        ...etcd.configFor('agent'),
        idSettleMs: 0,
        ownerWaitMs: 0,
        resyncIntervalSeconds: 0,
        ipamGcIntervalSeconds: 0,
        releaseDeletedNodesAfterSeconds: 0,
      });
      await watchEndpoints();
      const t0 = performance.now();
      agent = await assembleAgent(config, '192.168.77.1', {
        store: etcd.store(),
        logger: silentLogger(),
        registry: createRegistry('bench', { processMetrics: false }),
      });
      return t0;
    },
    frontends: () => mapSize(nft, 'netloom-svc'),
    // A backend is an element of the backend map, and its address one of the hairpin set, both
    // in the transaction that adds it. nft 1.0.6's monitor loses track of the backend map
    // ("Received event for an unknown set": it does not print elements of a map declared by
    // `typeof`), so the hairpin element is what it shows: each change here adds a new address.
    // A frontend with a chain of its own DNATs to it in a rule (`… dnat to <ip>:<port>`).
    backendText: (ip) => [`hairpin { ${ip} . ${ip} }`, `dnat to ${ip}:${PORT}`],
    owns: (line, vip) =>
      line.includes(' hairpin { ') || line.includes(` ${frontendChain(serviceKey(0, 'TCP', vip, 80))} `),
    stored: (name, ip) => new Promise((resolve) => waiters.push({ name, ip, resolve })),
    async stop() {
      watching?.abort();
      waiters.splice(0);
      await agent?.close();
      agent = undefined;
      await lab.deleteNetns(netns);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` every `intervalMs` until it holds; returns when. */
async function until(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs: number,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ok = await probe();
    const now = performance.now();
    if (ok) return now;
    if (now > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

let probes = 0;
/**
 * New connections to the probe Service's cluster IP, each one's SYN a first packet through the
 * subject's rules: a client namespace and a server namespace (PROBE_IP) on veths to the subject's
 * namespace, which forwards between them, as a node between a pod and a remote endpoint does.
 */
async function firstPacketUs(lab: Lab, subjectNetns: string, vip: string): Promise<number[]> {
  const tag = `${lab.prefix}${++probes}`;
  const [client, server] = [await lab.netns(`pc${probes}`), await lab.netns(`ps${probes}`)];
  const wire = async (ns: string, end: string, mine: string, theirs: string): Promise<void> => {
    await runTool('ip', ['link', 'add', `${tag}${end}a`, 'type', 'veth', 'peer', 'name', `${tag}${end}b`]);
    await runTool('ip', ['link', 'set', `${tag}${end}a`, 'netns', ns]);
    await runTool('ip', ['link', 'set', `${tag}${end}b`, 'netns', subjectNetns]);
    await lab.ip(ns, ['addr', 'add', `${mine}/30`, 'dev', `${tag}${end}a`]);
    await lab.ip(ns, ['link', 'set', `${tag}${end}a`, 'up']);
    await lab.ip(ns, ['route', 'add', 'default', 'via', theirs]);
    await lab.ip(subjectNetns, ['addr', 'add', `${theirs}/30`, 'dev', `${tag}${end}b`]);
    await lab.ip(subjectNetns, ['link', 'set', `${tag}${end}b`, 'up']);
  };
  try {
    await wire(client, 'c', '10.77.0.2', '10.77.0.1');
    await wire(server, 's', '10.77.0.6', '10.77.0.5');
    await lab.ip(server, ['addr', 'add', `${PROBE_IP}/32`, 'dev', 'lo']);
    await lab.ip(subjectNetns, ['route', 'replace', `${PROBE_IP}/32`, 'via', '10.77.0.6']);
    await runTool('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], { netns: subjectNetns });
    const srv = await lab.start(server, process.execPath, [CONNECT, 'serve', PROBE_IP, String(PORT)]);
    try {
      const [cmd, args] = inNetns(client, process.execPath, [
        CONNECT,
        'connect',
        vip,
        '80',
        String(PROBE_CONNECTS),
      ]);
      const out = await runTool(cmd, args, { timeoutMs: 120_000 });
      const r = JSON.parse(out) as { us: number[]; errors: number };
      if (r.errors > 0) throw new Error(`${r.errors} of ${PROBE_CONNECTS} probe connections failed`);
      return r.us;
    } finally {
      srv.kill('SIGKILL');
    }
  } finally {
    await lab.deleteNetns(client);
    await lab.deleteNetns(server);
  }
}

async function measure(
  subject: Subject,
  cluster: Cluster,
  target: number,
  n: number,
  probe: { lab: Lab; vip: string },
): Promise<Figures> {
  let monitor: NftMonitor | undefined;
  try {
    await subject.prepare();
    monitor = new NftMonitor(subject.netns);
    await sleep(200); // the monitor subscribes before anything is written
    const t0 = await subject.start();
    // Done when the monitor has seen every frontend added. Listing the map instead would cost a
    // second or more per read at 10k Services, on the cores the subject needs.
    const confirmedAt = await until(
      async () => {
        if (monitor!.added().count >= target) return true;
        // The monitor may miss events when its socket overflows: then the kernel decides.
        return (
          performance.now() - Math.max(monitor!.added().at, t0) > 5_000 &&
          (await subject.frontends()) >= target
        );
      },
      FULL_SYNC_TIMEOUT_MS,
      `${subject.name}: ${target} frontends`,
      POLL_MS,
    );
    const { count, at } = monitor.added();
    if ((await subject.frontends()) < target) throw new Error(`${subject.name}: monitor and map disagree`);
    // Missed events: every frontend is in the kernel's map, but when the last one came is known
    // only within [last event seen, kernel confirmation]; both are reported.
    const bounds = count < target ? { fullSyncUpperMs: confirmedAt - t0 } : {};
    if (count < target)
      console.log(`  ${subject.name}: nft monitor saw ${count} of ${target} frontends; full sync bounded`);
    const changeMs: number[] = [];
    const storedMs: number[] = [];
    for (let c = 0; c < CHANGES; c++) {
      await sleep(CHANGE_GAP_MS);
      const i = Math.floor(((c + 0.5) * n) / CHANGES);
      const vip = cluster.services[i]!.vip;
      const ip = cluster.nextAddedIp();
      const seen = monitor.next(subject.backendText(ip), CHANGE_TIMEOUT_MS);
      const stored = subject.stored?.(svcName(i), ip);
      const w = await cluster.addEndpoint(i, ip);
      const { t, line } = await seen;
      if (!subject.owns(line, vip, svcName(i)))
        throw new Error(`${subject.name}: ${ip} seen elsewhere: ${line}`);
      changeMs.push(t - w);
      if (stored) storedMs.push((await stored) - w);
    }
    const firstPacket = await firstPacketUs(probe.lab, subject.netns, probe.vip);
    return { fullSyncMs: at - t0, ...bounds, changeMs, storedMs, firstPacketUs: firstPacket };
  } finally {
    monitor?.close();
    await subject.stop();
  }
}

function report(n: number, target: number, results: [Subject, Figures | string][]): void {
  console.log(
    `\n${n.toLocaleString('en')} Services × ${ENDPOINTS} endpoints (${target} frontends incl. kubernetes), ` +
      `${CHANGES} endpoint changes ${CHANGE_GAP_MS} ms apart (seen by nft monitor)`,
  );
  const peer = results.find(([s]) => s.name.startsWith('kube-proxy'))?.[1];
  for (const [s, f] of results) {
    if (typeof f === 'string') {
      console.log(`  ${s.name.padEnd(38)} NOT MEASURED: ${f}`);
      continue;
    }
    const ratio = (mine: number, theirs: number | undefined): string =>
      theirs === undefined || f === peer ? '' : ` (${(mine / theirs).toFixed(2)}×)`;
    const p = typeof peer === 'object' ? peer : undefined;
    console.log(
      `  ${s.name.padEnd(38)} full sync ${(f.fullSyncMs / 1000).toFixed(2).padStart(7)} s${ratio(f.fullSyncMs, p?.fullSyncMs)}` +
        (f.fullSyncUpperMs !== undefined
          ? ` to ${(f.fullSyncUpperMs / 1000).toFixed(2)} s${ratio(f.fullSyncUpperMs, p?.fullSyncMs)}`
          : '') +
        `  change p50 ${pct(f.changeMs, 50).toFixed(1).padStart(7)} ms${ratio(pct(f.changeMs, 50), p && pct(p.changeMs, 50))}` +
        `  p99 ${pct(f.changeMs, 99).toFixed(1).padStart(7)} ms${ratio(pct(f.changeMs, 99), p && pct(p.changeMs, 99))}` +
        `  first packet p50 ${pct(f.firstPacketUs, 50).toFixed(0)} µs${ratio(pct(f.firstPacketUs, 50), p && pct(p.firstPacketUs, 50))}` +
        ` p99 ${pct(f.firstPacketUs, 99).toFixed(0)} µs${ratio(pct(f.firstPacketUs, 99), p && pct(p.firstPacketUs, 99))}` +
        (f.storedMs.length > 0
          ? `  (API → etcd by KSR p50 ${pct(f.storedMs, 50).toFixed(1)} ms, p99 ${pct(f.storedMs, 99).toFixed(1)} ms)`
          : ''),
    );
  }
}

async function main(): Promise<void> {
  // Interrupted, exit through 'exit' so the harness's handlers kill its children and delete the
  // namespaces (a signal's default action would skip them).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  const netns = await KubeProxyNetns.create();
  const lab = new Lab();
  let kube: KubeApiserverHandle | undefined;
  let etcd: EtcdHandle | undefined;
  let ksr: KsrProcess | undefined;
  try {
    kube = await startKubeApiserver({ bindAddress: netns.hostIp });
    const cluster = new Cluster(kube);
    const probeVip = await cluster.probe();
    // kube-proxy learns its node's addresses from its Node before it programs anything.
    await cluster.core.createNode({
      body: {
        metadata: { name: 'kp-node' },
        status: { addresses: [{ type: 'InternalIP', address: netns.nodeIp }] },
      },
    });
    const subjects: Subject[] = [kubeProxySubject(netns, kube)];
    if (WITH_NETLOOM) {
      etcd = await startEtcd({ name: 'netloom-etcd' });
      ksr = await startKsrProcess({
        kubeconfig: kube.kubeconfigPath,
        etcd: etcd.configFor('ksr'),
        cluster: CLUSTER,
        identity: 'bench',
        args: ['--log-level', 'info'],
      });
      subjects.push(netloomSubject(lab, etcd));
    }
    console.log(`kube-apiserver ${kube.version}, etcd ${kube.etcd.version}; kube-proxy in ${netns.name}`);
    for (const n of SIZES) {
      const t = performance.now();
      await cluster.grow(n);
      const target = await cluster.total();
      console.log(
        `created ${n} Services + EndpointSlices in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
      const results: [Subject, Figures | string][] = [];
      for (const s of subjects) {
        if (etcd && s !== subjects[0]) {
          // "KSR already synced": etcd mirrors the API exactly (endpoint changes included).
          await waitConverged(kube.kubeConfig(), etcd.store(), new Keyspace(CLUSTER), 600_000);
        }
        try {
          const f = await measure(s, cluster, target, n, { lab, vip: probeVip });
          results.push([s, f]);
          // At once, so a later subject that never finishes cannot take these figures with it.
          console.log(
            `  measured ${s.name}: full sync ${(f.fullSyncMs / 1000).toFixed(2)} s` +
              (f.fullSyncUpperMs !== undefined ? ` to ${(f.fullSyncUpperMs / 1000).toFixed(2)} s` : '') +
              `, change p50 ` +
              `${pct(f.changeMs, 50).toFixed(1)} ms p99 ${pct(f.changeMs, 99).toFixed(1)} ms`,
          );
        } catch (err) {
          results.push([s, err instanceof Error ? err.message : String(err)]);
        }
      }
      report(n, target, results);
    }
  } finally {
    await ksr?.destroy().catch(() => undefined);
    await etcd?.destroy().catch(() => undefined);
    await kube?.destroy().catch(() => undefined);
    await lab.destroy();
    await netns.destroy();
  }
}

await main();
