// Time to program pod interfaces with their routes on a real VPP (issue 18), beside the same
// commit against the fake VPP (in a worker thread) in the same run, rounds interleaved.
//
// Both go through the assembly production uses for a node without /dev/vhost-net: the KV
// scheduler over `vppDriverWith(client, { podInterface: 'veth', podLinks })`, the pod links being
// the Linux driver's (`kernelPorts({ hostNetns }).links`) in VPP's network namespace, netloom's
// VppClient with the v25.10 definitions. Items are the fixtures the real-VPP tests use:
// nodeItems(n1, nodes) once, then podItems(n1, pod) for every pod in ONE commit, timed. Every pod
// has a real network namespace of its own (made before, not timed: "setup"); its veth pair is
// wired by the commit. After the commit a new scheduler resyncs the same desired state (an
// agent restart): it must change nothing, and its time and counts are printed. The pods are then
// deleted in one commit (timed too), so that the next subject wires the same namespaces.
//
// How many pods: --pods (default 1,000), but at most
//   - what the node's pod subnet holds besides its gateway: podSubnet() of test-items.ts is a
//     /24, nodeItems() gives the gateway x.x.x.1/24, and nothing there takes another prefix;
//   - on the real VPP, what memory allows: an af_packet interface's rings are 160 RX blocks of
//     64 KiB plus one TX block of `tx_frames_per_block` × 67,584 B, allocated by the kernel as a
//     power-of-two number of pages (src/plugins/af_packet/af_packet.c). VPP's default TX ring
//     (1,024 frames) made that ~138 MiB per pod interface, which this bench found; the driver now
//     asks for TX_FRAMES_PER_BLOCK (32: ~14 MiB). The bench takes at most --memory-share (0.5)
//     of MemAvailable.
//   - on the real VPP while IPv6 is on (as it is by default), 14: VPP's main loop livelocks once
//     16 or more af_packet fds hold unread frames at once (src/vlib/file.c: vlib_file_poll takes
//     16 epoll events and, when it gets 16, polls again at once, forever: only the input nodes it
//     never returns to would drain them). IPv6 chatter (router solicitations, MLD) of the pods
//     and of the veths' host ends (VPP's af_packet sockets also see what the host end sends: no
//     PACKET_IGNORE_OUTGOING) while VPP sits in the kernel for an af_packet_create did it at pod
//     20 and at pod 62 in two runs here, and at pod 228 with IPv6 off in the pods only. 14 pods
//     and the uplink are 15 af_packet fds: it cannot happen. --ipv6 off (not production: the
//     bench sets disable_ipv6 in every pod namespace and in VPP's, in the setup; nothing then
//     sends to VPP) lifts this cap.
// The caps and their reasons are printed. --tx-frames-per-block N (not production's request unless
// N is the driver's TX_FRAMES_PER_BLOCK: the bench puts it in every af_packet_create_v3; 1024 is
// VPP's default) shows what the ring costs in time and memory; the output says so loudly. A machine without a VPP prints one loud
// "real VPP: skipped (<reason>)" line and still measures the fake.
//
// Names: pod namespaces nlbp-<pid>-p<i>, the fake's node namespace nlbp-<pid>-node, the real
// node's and its underlay's those of test/vpp-real-support.ts (nv<tag>…, nvu<tag>…). All are
// removed at the end, after a failure and on SIGINT/SIGTERM too, then swept by prefix (and the
// nlbp-<pid>- namespaces of earlier runs whose process is gone, at the start).
// Usage: npm run bench:vpp-pods [-- --pods 1000 --rounds 2 --memory-share 0.5]
//        npm run bench:vpp-pods -- --ipv6 off   (the subnet's 253 pods)
//        npm run bench:vpp-pods -- --ipv6 off --node-prefix 22 --memory-share 0.7 --rounds 1   (1,000)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { silentLogger } from '../lib/logging.ts';
import { addressOf, formatIp, networkOf, parseIp, parsePrefix, sizeOf } from '../lib/cidr.ts';
import { runOk } from '../cli/lab/exec.ts';
import { addNetns, delNetns, listNetns } from '../cli/lab/netns.ts';
import { findVpp } from '../cli/lab/vpp.ts';
import type { Address } from '../agent/items/values.ts';
import type { Item } from '../agent/scheduler/descriptor.ts';
import { KvScheduler } from '../agent/scheduler/scheduler.ts';
import type { TxnRecord } from '../agent/scheduler/txn-log.ts';
import { nodeItems, podItems, podSubnet, type TestPod } from '../agent/dataplane/linux/test-items.ts';
import { VppClient } from '../agent/dataplane/vpp/api/client.ts';
import type { Uplink } from '../agent/dataplane/vpp/descriptors/snat.ts';
import { TX_FRAMES_PER_BLOCK } from '../agent/dataplane/vpp/calls/af-packet.ts';
import { loadV25Definitions } from '../agent/dataplane/vpp/testing/definitions.ts';
import { UPLINK } from '../agent/dataplane/vpp/testing/driver-lab.ts';
import { nodes } from '../agent/dataplane/vpp/testing/items.ts';
import type { VppFields } from '../agent/dataplane/vpp/api/field-codecs.ts';
import type { VppApi } from '../agent/dataplane/vpp/vpp-api.ts';
import { netnsAvailable } from '../test/harness/availability.ts';
import { runTag, startRealVppNode, startUnderlay, vethScheduler } from '../test/vpp-real-support.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) || fallback : fallback;
}

const PODS_ASKED = arg('pods', 1_000);
const ROUNDS = arg('rounds', 2);
const MEMORY_SHARE = arg('memory-share', 0.5);
/**
 * The node gateway's prefix length (24: the test items as they are). Below 24 the bench widens
 * the gateway to /N around 10.1.<id>.1 and leaves the peers out (their /24s would overlap), so a
 * node can hold more pods than a /24: not the test items' node, and the output says so.
 */
const NODE_PREFIX = arg('node-prefix', 24);
/** Namespaces made or removed at once (each is one or two `ip` processes). */
const PARALLEL = 8;
/** false (--ipv6 off): the bench disables IPv6 in the pods' and VPP's namespaces (see the header). */
const IPV6 = !(process.argv.includes('--ipv6') && process.argv[process.argv.indexOf('--ipv6') + 1] === 'off');
/** Pods at most on the real VPP while IPv6 is on (VPP's livelock; see the header). */
const LIVELOCK_GUARD = 14;
/** The TX ring asked for; the driver's own by default. */
const TX_FRAMES = arg('tx-frames-per-block', TX_FRAMES_PER_BLOCK);

/**
 * Kernel memory of one af_packet interface (src/plugins/af_packet/af_packet.c: RX 160 blocks of
 * 32 × 2,048 B; TX one block of `txFrames` × 67,584 B), each block allocated by the kernel as a
 * power-of-two number of pages.
 */
function ringMiB(txFrames: number): number {
  const block = (bytes: number): number => 4096 * 2 ** Math.ceil(Math.log2(bytes / 4096));
  return (160 * block(32 * 2048) + block((txFrames || 1024) * 67_584)) / 2 ** 20;
}
const RING_MIB = ringMiB(TX_FRAMES);

const SELF = nodes[0]!;
const NS_PREFIX = 'nlbp-';
const TAG = `${NS_PREFIX}${process.pid.toString(36)}-`;
/** Namespaces of this run: ours, and those test/vpp-real-support.ts names with its runTag. */
const ours = (ns: string): boolean =>
  ns.startsWith(TAG) || ns.startsWith(`nv${runTag}`) || ns.startsWith(`nvu${runTag}`);

const memAvailableMiB = (): number => {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

async function inParallel<T>(items: readonly T[], f: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await f(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, lane));
}

/** The node's items: the test items', or (--node-prefix below 24) a wider gateway and no peers. */
function nodeItemsFor(prefix: number): Item[] {
  if (prefix >= 24) return nodeItems(SELF, nodes);
  return nodeItems(SELF, [SELF]).map((i) => {
    const v = i.value as Partial<Address>;
    return v.role === 'pod-gateway' ? { ...i, value: { ...v, address: `10.1.${SELF.id}.1/${prefix}` } } : i;
  });
}

/** Every address of the node's pod subnet but its network, broadcast and gateway addresses. */
function podAddresses(node: Item[]): { subnet: string; gateway: string; addresses: string[] } {
  const gw = node.find((i) => (i.value as Partial<Address>).role === 'pod-gateway');
  const gatewayCidr = (gw?.value as Address | undefined)?.address ?? '';
  const gateway = addressOf(gatewayCidr);
  const subnet = NODE_PREFIX >= 24 ? podSubnet(SELF.id) : networkOf(gatewayCidr);
  const p = parsePrefix(subnet, 'podSubnet');
  const gwNum = parseIp(gateway);
  const addresses: string[] = [];
  for (let a = p.base + 1; a < p.base + sizeOf(p.length) - 1; a++)
    if (a !== gwNum) addresses.push(formatIp(a));
  return { subnet, gateway, addresses };
}

/** Calls of one message: how many, and their summed latency. */
interface CallStat {
  calls: number;
  ms: number;
}

/** A VppApi that counts what passes (requests and dumps) and sums each message's latency. */
class CountedApi implements VppApi {
  calls = 0;
  readonly byName = new Map<string, CallStat>();
  private readonly api: VppApi;

  constructor(api: VppApi) {
    this.api = api;
  }

  request(name: string, fields?: VppFields): Promise<VppFields> {
    const sent =
      name === 'af_packet_create_v3' && TX_FRAMES !== TX_FRAMES_PER_BLOCK
        ? { ...fields, tx_frames_per_block: TX_FRAMES }
        : fields;
    return this.timed(name, () => this.api.request(name, sent));
  }

  dump(name: string, fields?: VppFields): Promise<VppFields[]> {
    return this.timed(name, () => this.api.dump(name, fields));
  }

  private async timed<T>(name: string, call: () => Promise<T>): Promise<T> {
    this.calls++;
    const t = performance.now();
    try {
      return await call();
    } finally {
      const st = this.byName.get(name) ?? { calls: 0, ms: 0 };
      st.calls++;
      st.ms += performance.now() - t;
      this.byName.set(name, st);
    }
  }
}

interface Subject {
  name: 'real' | 'fake';
  client: VppClient;
  api: CountedApi;
  uplink: Uplink;
  /** VPP's network namespace: where the veths' host ends live. */
  hostNetns: string;
  /** af_packet interfaces VPP holds besides the pods' (the real node's uplink). */
  baseAfPackets: number;
}

interface RoundResult {
  nodeMs: number;
  commitMs: number;
  commitCalls: number;
  /** Summed latency of the commit's API calls (the vpp driver's families run one call at a time). */
  apiMs: number;
  /** The commit's messages by summed latency, slowest first. */
  slowest: [string, CallStat][];
  memDropMiB: number;
  afPackets: number;
  resyncMs: number;
  resyncCounts: TxnRecord['counts'];
  deleteMs: number;
}

const newScheduler = (s: Subject): KvScheduler => vethScheduler(s.api, s.uplink, s.hostNetns);

function must(rec: TxnRecord, what: string, subject: string): void {
  if (rec.errors.length === 0) return;
  const first = rec.errors
    .slice(0, 5)
    .map((e) => `  ${e.operation} ${e.key}: ${e.error}`)
    .join('\n');
  const stuck = rec.errors.some((e) => /no reply within/.test(e.error))
    ? '\n  (VPP stopped answering: if vpp_main spins at 100 % in epoll_wait, that is the livelock of the header)'
    : '';
  throw new Error(`${subject} VPP, ${what}: ${rec.errors.length} errors, the first:\n${first}${stuck}`);
}

async function round(s: Subject, nodeIt: Item[], podIt: Item[]): Promise<RoundResult> {
  const schedulers = [newScheduler(s)];
  try {
    const first = schedulers[0]!;
    let t = performance.now();
    must(await first.resync({ desired: nodeIt }), 'node items', s.name);
    const nodeMs = performance.now() - t;

    const mem0 = memAvailableMiB();
    const calls0 = s.api.calls;
    s.api.byName.clear();
    t = performance.now();
    const rec = await first.commit(podIt, `${podIt.length / 2} pods`);
    const commitMs = performance.now() - t;
    const commitCalls = s.api.calls - calls0;
    const slowest = [...s.api.byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 3);
    const apiMs = [...s.api.byName.values()].reduce((a, st) => a + st.ms, 0);
    const memDropMiB = mem0 - memAvailableMiB();
    must(rec, 'pods commit', s.name);
    const unsettled = podIt.filter((i) => first.status(i.key)?.state !== 'configured');
    if (unsettled.length > 0)
      throw new Error(`${s.name} VPP: ${unsettled.length} items not configured, e.g. ${unsettled[0]!.key}`);
    const afPackets = (await s.client.dump('af_packet_dump')).length - s.baseAfPackets;

    const again = newScheduler(s);
    schedulers.push(again);
    t = performance.now();
    const resync = await again.resync({ desired: [...nodeIt, ...podIt] });
    const resyncMs = performance.now() - t;
    must(resync, 'resync after commit', s.name);

    t = performance.now();
    must(
      await again.commit(
        podIt.map((i) => ({ key: i.key, value: null })),
        'delete pods',
      ),
      'pods delete',
      s.name,
    );
    const deleteMs = performance.now() - t;
    return {
      nodeMs,
      commitMs,
      commitCalls,
      apiMs,
      slowest,
      memDropMiB,
      afPackets,
      resyncMs,
      resyncCounts: resync.counts,
      deleteMs,
    };
  } finally {
    for (const x of schedulers) await x.close();
  }
}

async function startFakeWorker(socketPath: string): Promise<Worker> {
  const w = new Worker(new URL('./vpp-fake-node-worker.ts', import.meta.url), { workerData: { socketPath } });
  await new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  });
  return w;
}

/** --ipv6 off: no IPv6 in `netns` (its existing interfaces and those made later). */
async function quiet(netns: string): Promise<void> {
  if (IPV6) return;
  await runOk('ip', [
    ...['netns', 'exec', netns, 'sysctl', '-qw'],
    ...['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
  ]);
}

/** Removes namespaces; what could not be removed is returned. */
async function removeNetns(names: readonly string[]): Promise<string[]> {
  const failed: string[] = [];
  await inParallel(names, async (ns) => {
    await delNetns(ns).catch(() => failed.push(ns));
  });
  return failed;
}

/** nlbp-<pid>- namespaces whose bench process is gone (a run killed before its cleanup). */
async function sweepStale(): Promise<number> {
  const stale = (await listNetns()).filter((ns) => {
    const m = /^nlbp-([0-9a-z]+)-/.exec(ns);
    if (!m || ns.startsWith(TAG)) return false;
    try {
      process.kill(parseInt(m[1]!, 36), 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  });
  await removeNetns(stale);
  return stale.length;
}

const closers: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;

async function cleanupOnce(): Promise<void> {
  while (closers.length > 0) {
    const close = closers.pop()!;
    await close().catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
  }
  const left = (await listNetns()).filter(ours);
  const failed = await removeNetns(left);
  const still = (await listNetns()).filter(ours);
  console.log(
    `cleanup: ${left.length - failed.length} leftover namespaces swept; ${still.length === 0 ? 'none of this run left' : `*** LEFT: ${still.join(' ')} ***`}`,
  );
  if (still.length > 0) process.exitCode = 1;
}
const cleanup = (): Promise<void> => (cleaning ??= cleanupOnce());

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    console.error(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });

const fmtS = (ms: number): string => `${(ms / 1000).toFixed(2)} s`.padStart(10);
const fmtMs = (ms: number): string => `${ms.toFixed(1)} ms`.padStart(10);
const ratio = (real: number | undefined, fake: number): string =>
  real === undefined ? '' : `${(real / fake).toFixed(2)}`.padStart(10);
const counts = (c: TxnRecord['counts']): string => `${c.create}/${c.update}/${c.delete}`.padStart(10);
const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const slowestText = (r: RoundResult, pods: number): string =>
  r.slowest
    .map(
      ([name, st]) =>
        `${name} ${st.calls}× ${(st.ms / 1000).toFixed(2)} s (${(st.ms / st.calls).toFixed(1)} ms each)`,
    )
    .join(', ') + ` — of ${(r.commitMs / 1000).toFixed(2)} s for ${pods} pods`;

async function main(): Promise<void> {
  const netns = netnsAvailable();
  if (!netns.ok) {
    console.log(`*** real VPP: skipped (${netns.reason}) ***`);
    console.log(`*** fake VPP: skipped (the veth form wires real namespaces: ${netns.reason}) ***`);
    return;
  }
  const found = findVpp();
  const stale = await sweepStale();
  if (stale > 0) console.log(`(removed ${stale} namespaces left by earlier runs of this bench)`);

  const definitions = await loadV25Definitions();
  const nodeIt = nodeItemsFor(NODE_PREFIX);
  const plan = podAddresses(nodeIt);
  const limits: string[] = [];
  let count = Math.min(PODS_ASKED, plan.addresses.length);
  if (count < PODS_ASKED)
    limits.push(
      `node ${SELF.name}'s pod subnet ${plan.subnet} (test-items.ts) holds ${plan.addresses.length} besides the gateway ${plan.gateway}`,
    );
  if (found.ok) {
    const avail = memAvailableMiB();
    const byMemory = Math.floor((avail * MEMORY_SHARE) / RING_MIB);
    if (byMemory < count) {
      count = byMemory;
      limits.push(
        `the af_packet rings take ~${RING_MIB} MiB of kernel memory per pod; ${MEMORY_SHARE * 100} % of ${n(avail)} MiB available holds ${byMemory}`,
      );
    }
    if (IPV6 && LIVELOCK_GUARD < count) {
      count = LIVELOCK_GUARD;
      limits.push(
        `IPv6 chatter can livelock VPP's main loop once 16 af_packet fds hold unread frames (seen at pod 20 and pod 62 here): ${LIVELOCK_GUARD} pods + the uplink stay below (--ipv6 off lifts it)`,
      );
    }
  }
  const pods: TestPod[] = plan.addresses.slice(0, count).map((ip, i) => ({
    namespace: 'bench',
    name: `p${i}`,
    containerId: `c${i}`,
    netns: `/run/netns/${TAG}p${i}`,
    ip,
    hostIfName: `nlb${i}`,
  }));
  const podIt = pods.flatMap((p) => podItems(SELF, p));
  const podNs = pods.map((p) => p.netns.slice('/run/netns/'.length));

  // Setup, not measured below.
  let t = performance.now();
  closers.push(async () => {
    const failed = await removeNetns(podNs);
    if (failed.length > 0) throw new Error(`pod namespaces not removed: ${failed.join(' ')}`);
  });
  await inParallel(podNs, async (ns) => {
    await addNetns(ns);
    await quiet(ns);
  });
  const podNsMs = performance.now() - t;

  const subjects: Subject[] = [];
  let realSkip: string | undefined = found.ok ? undefined : found.reason;
  let realSetupMs = 0;
  if (found.ok) {
    t = performance.now();
    try {
      const underlay = await startUnderlay();
      closers.push(() => underlay.close());
      const node = await startRealVppNode({
        definitions,
        address: SELF.underlayIp,
        underlay,
        build: found.build,
      });
      closers.push(() => node.close());
      subjects.push({
        name: 'real',
        client: node.client,
        api: new CountedApi(node.client),
        uplink: node.uplink,
        hostNetns: node.netns,
        baseAfPackets: (await node.client.dump('af_packet_dump')).length,
      });
      await quiet(node.netns);
    } catch (err) {
      realSkip = `VPP ${found.build.version} found but its node did not start: ${String(err)}`;
      process.exitCode = 1;
    }
    realSetupMs = performance.now() - t;
  }
  const fakeNs = `${TAG}node`;
  await addNetns(fakeNs);
  await quiet(fakeNs);
  closers.push(() => delNetns(fakeNs));
  const dir = mkdtempSync(join(tmpdir(), 'netloom-bench-vpp-pods-'));
  closers.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
  const worker = await startFakeWorker(join(dir, 'fake.sock'));
  closers.push(async () => void (await worker.terminate()));
  const fakeClient = await VppClient.connect({
    socketPath: join(dir, 'fake.sock'),
    definitions,
    logger: silentLogger(),
    liveness: false,
  });
  closers.push(() => fakeClient.close());
  subjects.push({
    name: 'fake',
    client: fakeClient,
    api: new CountedApi(fakeClient),
    uplink: UPLINK,
    hostNetns: fakeNs,
    baseAfPackets: 0,
  });

  const results = new Map<Subject['name'], RoundResult[]>(subjects.map((s) => [s.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? subjects : [...subjects].reverse();
    for (const s of order) results.get(s.name)!.push(await round(s, nodeIt, podIt));
  }

  /** The fastest commit's round for the commit's figures, the best of each other figure. */
  const best = (name: Subject['name']): (RoundResult & { resyncNonZero: boolean }) | undefined => {
    const rs = results.get(name) ?? [];
    const changed = rs.filter(
      (x) => x.resyncCounts.create + x.resyncCounts.update + x.resyncCounts.delete > 0,
    );
    const fastest = rs.reduce<RoundResult | undefined>(
      (a, x) => (a && a.commitMs <= x.commitMs ? a : x),
      undefined,
    );
    if (fastest === undefined) return undefined;
    return {
      ...fastest,
      nodeMs: rs[0]!.nodeMs,
      afPackets: Math.min(...rs.map((x) => x.afPackets)),
      memDropMiB: Math.max(...rs.map((x) => x.memDropMiB)),
      resyncMs: Math.min(...rs.map((x) => x.resyncMs)),
      resyncCounts: changed[0]?.resyncCounts ?? fastest.resyncCounts,
      deleteMs: Math.min(...rs.map((x) => x.deleteMs)),
      resyncNonZero: changed.length > 0,
    };
  };
  const real = best('real');
  const fake = best('fake')!;
  const version = found.ok ? found.build.version : '';

  console.log(
    `VPP pods: ${count} pod interfaces with their routes (veth + af_packet) in one commit, ` +
      `real VPP ${real ? version : '(skipped)'} beside the fake VPP (worker thread), best of ${ROUNDS} rounds`,
  );
  console.log(
    `  assembly: KvScheduler + vppDriverWith(VppClient, veth, kernelPorts(VPP's netns).links); ` +
      `nodeItems(${SELF.name}, 3 nodes) + podItems (test-items.ts)`,
  );
  if (TX_FRAMES !== TX_FRAMES_PER_BLOCK)
    console.log(
      `  *** NOT production's request: the bench sends tx_frames_per_block ${TX_FRAMES} in af_packet_create_v3 (the driver sends ${TX_FRAMES_PER_BLOCK}) ***`,
    );
  if (NODE_PREFIX < 24)
    console.log(
      `  *** NOT the test items' node: its gateway widened to ${plan.gateway}/${NODE_PREFIX} (${plan.subnet}), no peers (--node-prefix ${NODE_PREFIX}) ***`,
    );
  if (!IPV6)
    console.log(
      `  *** NOT production's node: the bench disabled IPv6 in every pod namespace and in VPP's (--ipv6 off) ***`,
    );
  if (limits.length > 0)
    console.log(`  *** ${n(PODS_ASKED)} pods asked, ${count} measured: ${limits.join('; ')} ***`);
  console.log(
    `  setup (not in the figures): ${count} pod namespaces in ${fmtS(podNsMs).trim()} ` +
      `(${(podNsMs / count).toFixed(1)} ms each, ${PARALLEL} at a time)` +
      (real ? `; real VPP node (namespace, VPP, uplink, client) in ${fmtS(realSetupMs).trim()}` : ''),
  );
  if (!real) console.log(`*** real VPP: skipped (${realSkip ?? 'unknown'}) ***`);
  const row = (label: string, r: string, f: string, q = ''): void =>
    console.log(`  ${label.padEnd(46)}${(real ? r : '').padStart(16)}${f.padStart(12)}${q.padStart(11)}`);
  row('', 'real VPP', 'fake VPP', real ? 'real/fake' : '');
  row('node items, first round (resync)', real ? fmtS(real.nodeMs) : '', fmtS(fake.nodeMs));
  row(
    `commit ${count} pods (${podIt.length} items)`,
    real ? fmtS(real.commitMs) : '',
    fmtS(fake.commitMs),
    ratio(real?.commitMs, fake.commitMs),
  );
  row(
    'per pod',
    real ? fmtMs(real.commitMs / count) : '',
    fmtMs(fake.commitMs / count),
    ratio(real?.commitMs, fake.commitMs),
  );
  const calls = (b: RoundResult): string => `${b.commitCalls} (${(b.commitCalls / count).toFixed(1)})`;
  row('VPP API calls in the commit (per pod)', real ? calls(real) : '', calls(fake));
  row(
    '  their summed latency',
    real ? fmtS(real.apiMs) : '',
    fmtS(fake.apiMs),
    ratio(real?.apiMs, fake.apiMs),
  );
  if (real) console.log(`    real: ${slowestText(real, count)}`);
  console.log(`    fake: ${slowestText(fake, count)}`);
  row('af_packet interfaces VPP holds after it', real ? `${real.afPackets}` : '', `${fake.afPackets}`);
  row(
    `MemAvailable drop in a commit (per pod)`,
    real ? `${n(real.memDropMiB)} MiB (${(real.memDropMiB / count).toFixed(0)})` : '',
    `${n(fake.memDropMiB)} MiB`,
  );
  if (real)
    console.log(
      `    (the af_packet rings: ~${RING_MIB} MiB per pod expected; the largest round's drop shown)`,
    );
  row(
    'resync after commit, new scheduler',
    real ? fmtS(real.resyncMs) : '',
    fmtS(fake.resyncMs),
    ratio(real?.resyncMs, fake.resyncMs),
  );
  row(
    '  its changes (create/update/delete)',
    real ? counts(real.resyncCounts) : '',
    counts(fake.resyncCounts),
  );
  row(
    `delete ${count} pods (one commit)`,
    real ? fmtS(real.deleteMs) : '',
    fmtS(fake.deleteMs),
    ratio(real?.deleteMs, fake.deleteMs),
  );
  const problems: string[] = [];
  for (const [name, b] of [
    ['real', real],
    ['fake', fake],
  ] as const) {
    if (b === undefined) continue;
    if (b.resyncNonZero) problems.push(`${name}: the resync after commit made changes`);
    if (b.afPackets !== count)
      problems.push(`${name}: VPP holds ${b.afPackets} pod af_packet interfaces, not ${count}`);
  }
  if (problems.length > 0) {
    console.log(`  *** ${problems.join('; ')} ***`);
    process.exitCode = 1;
  } else console.log(`  resync after commit: zero changes${real ? ' on both' : ''}; every pod configured`);
}

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
