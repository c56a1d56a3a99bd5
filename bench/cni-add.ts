// CNI ADD latency (exec to result, pod wired and routed) and ADD+DEL pairs per second, netloom
// (the shim as production builds it, a Bun single-file executable (ADR 0009) → the production
// agent assembly on a real etcd → linux driver) beside the
// reference `bridge` + `host-local` plugins, in the same node namespace. Both run through the
// same libcni-style runner (plugins exec'd inside the node namespace, as kubelet's runtime runs
// them on a node), so what differs is the plugin.
//
// Runs, each printed with p50/p99/max and pairs/s, and the ratio to the reference:
//   start-up  — VERSION exec to exit, the shim against `bridge` (the floor of any exec);
//   sequential — one ADD then its DEL at a time, interleaved pod by pod between the subjects;
//   concurrent — `--in-flight` (8) pairs at a time, as a kubelet starting pods in parallel, the
//                subjects alternating in rounds;
// then where netloom's ADD time goes (shim start, agent phases from its own histograms, the rest:
// connect, gRPC, runner), and with `--churn N`, N netloom pairs at `--in-flight` followed by a count
// of everything that could be left behind (links, routes, nft elements, IPAM keys, attachments).
//
// `--process-relay on|off` sets the agent's processRelay (lib/process-relay.ts) and
// `--pod-wiring auto|iproute2|netlink` its podWiring (agent/dataplane/linux/netlink/); default: the
// configuration's; the header line says which ran and the load average.
//
// Usage: npm run bench:cni -- [--pods 100] [--in-flight 8] [--churn 10000] [--process-relay on|off]
//                             [--pod-wiring auto|iproute2|netlink]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCni } from '../scripts/build-cni.ts';
import { startEtcd } from '../test/harness/etcd.ts';
import { CLUSTER, LabAgent, singleLabNode, type LabNode } from '../test/lab/agent.ts';
import { Keyspace } from '../lib/keyspace.ts';
import type { Store } from '../lib/etcd/store.ts';
import { CniRunner, k8sArgs, type ConfList, type RuntimeConf } from '../cli/lab/kubelet/cni-runner.ts';
import { Lab } from '../test/lab/netns.ts';
import { runTool } from '../lib/iproute.ts';
import { agentConfigSchema } from '../agent/config.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) || dflt : dflt;
};
const pods = arg('--pods', 100);
const inFlight = arg('--in-flight', 8);
const churn = process.argv.includes('--churn') ? arg('--churn', 10_000) : 0;
const relayArg = process.argv[process.argv.indexOf('--process-relay') + 1];
const processRelay = process.argv.includes('--process-relay') ? relayArg === 'on' : undefined;
const wiringArg = process.argv[process.argv.indexOf('--pod-wiring') + 1];
const podWiring = process.argv.includes('--pod-wiring')
  ? wiringArg === 'netlink' || wiringArg === 'auto'
    ? wiringArg
    : ('iproute2' as const)
  : undefined;
const REFERENCE_DIR = '/usr/lib/cni';

const pct = (xs: readonly number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const fmt = (ms: number): string => ms.toFixed(1).padStart(6);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Exec to exit of a plugin's VERSION (no netns, no agent): what starting the binary costs. */
function versionExec(path: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], {
      env: { PATH: process.env['PATH'] ?? '', CNI_COMMAND: 'VERSION' },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', reject);
    child.on('close', () => resolve(performance.now() - t0));
    child.stdin.on('error', () => undefined); // a plugin may exit without reading it
    child.stdin.end('{"cniVersion":"1.0.0"}');
  });
}

interface Subject {
  name: string;
  conf: ConfList;
  binary: string;
  start: number[];
  add: number[];
  del: number[];
  concurrentAdd: number[];
  concurrentPairsPerSec: number[];
}

function line(s: Subject, ref: Subject, xs: readonly number[], refXs: readonly number[], extra = ''): string {
  return (
    `  ${s.name.padEnd(38)} p50 ${fmt(pct(xs, 50))} ms  p99 ${fmt(pct(xs, 99))} ms  max ${fmt(Math.max(...xs))} ms` +
    `  (p50 ${(pct(xs, 50) / pct(refXs, 50)).toFixed(2)}× ${s === ref ? 'itself' : 'reference'})${extra}`
  );
}

async function main(): Promise<void> {
  // Ctrl-C or a timeout: exit normally, so the lab's exit hook deletes its namespaces.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  const lab = new Lab();
  const tmp = mkdtempSync(join(tmpdir(), 'netloom-bench-cni-'));
  const etcd = await startEtcd();
  let agent: LabAgent | undefined;
  try {
    const store = etcd.store();
    const node: LabNode = await singleLabNode(lab, tmp);
    agent = await LabAgent.start({
      node,
      store,
      ...(processRelay !== undefined ? { processRelay } : {}),
      ...(podWiring !== undefined ? { podWiring } : {}),
    });
    const bin = join(tmp, 'bin');
    const shim = await buildCni(join(bin, 'netloom'));
    const runner = new CniRunner({ cniPath: [bin, REFERENCE_DIR], netns: node.netns });
    const subjects: Subject[] = [
      {
        name: 'netloom (shim + agent + linux driver)',
        conf: {
          cniVersion: '1.0.0',
          name: 'netloom',
          plugins: [{ type: 'netloom', agentSocket: node.socketPath }],
        },
        binary: shim,
        start: [],
        add: [],
        del: [],
        concurrentAdd: [],
        concurrentPairsPerSec: [],
      },
      {
        name: 'reference bridge + host-local',
        conf: {
          cniVersion: '1.0.0',
          name: 'reference',
          plugins: [
            {
              type: 'bridge',
              bridge: 'nlbench0',
              isGateway: true,
              ipMasq: false,
              ipam: {
                type: 'host-local',
                ranges: [[{ subnet: '10.99.0.0/16' }]],
                dataDir: join(tmp, 'host-local'),
              },
            },
          ],
        },
        binary: join(REFERENCE_DIR, 'bridge'),
        start: [],
        add: [],
        del: [],
        concurrentAdd: [],
        concurrentPairsPerSec: [],
      },
    ];
    const [netloom, ref] = subjects as [Subject, Subject];
    let seq = 0;
    /** A fresh pod namespace and its runtime config; the namespace goes after DEL. */
    const pod = async (s: number): Promise<{ rt: RuntimeConf; name: string }> => {
      const i = seq++;
      const name = await lab.netns(`s${s}p${i}`);
      return {
        name,
        rt: {
          containerId: `bench${s}x${i}`,
          netns: `/run/netns/${name}`,
          ifname: 'eth0',
          args: k8sArgs({ namespace: 'bench', name: `p${s}-${i}`, uid: `u${s}-${i}` }, `bench${s}x${i}`),
        },
      };
    };
    const pair = async (s: number, subject: Subject, record?: { add: number[]; del: number[] }) => {
      const { rt, name } = await pod(s);
      const add = await timed(() => runner.add(subject.conf, rt));
      const del = await timed(() => runner.del(subject.conf, rt));
      await lab.deleteNetns(name);
      record?.add.push(add);
      record?.del.push(del);
    };

    // Start-up alone.
    for (let i = 0; i < Math.max(pods, 50); i++)
      for (const s of subjects) s.start.push(await versionExec(s.binary));

    // Sequential, interleaved; the first pairs warm caches and are not counted.
    for (let i = 0; i < 5; i++) for (const [s, subject] of subjects.entries()) await pair(s, subject);
    agent.resetMetrics();
    for (let i = 0; i < pods; i++)
      for (const [s, subject] of subjects.entries()) await pair(s, subject, subject);
    const phases = await Promise.all(
      (['ipam', 'record', 'commit', 'answer'] as const).map(
        async (p) => [p, await agent!.meanMs('netloom_cni_add_phase_seconds', 'phase', p)] as const,
      ),
    );
    const agentAdd = await agent.meanCniMs('add');
    const agentDel = await agent.meanCniMs('del');

    // Concurrent: `inFlight` workers, subjects alternating in rounds so noise hits both.
    const rounds = 4;
    const perRound = Math.max(inFlight, Math.round(pods / rounds));
    for (let r = 0; r < rounds; r++) {
      for (const [s, subject] of subjects.entries()) {
        let left = perRound;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: inFlight }, async () => {
            while (left-- > 0) {
              const rec = { add: [] as number[], del: [] as number[] };
              await pair(s, subject, rec);
              subject.concurrentAdd.push(...rec.add);
            }
          }),
        );
        subject.concurrentPairsPerSec.push((perRound * 1000) / (performance.now() - t0));
      }
    }

    const pairsPerSec = (s: Subject): number =>
      1000 / ((s.add.reduce((a, b) => a + b, 0) + s.del.reduce((a, b) => a + b, 0)) / s.add.length);
    const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(
      `CNI plugin benchmark: ${pods} sequential pairs and ${rounds}×${perRound} concurrent pairs each` +
        `; process relay ${(processRelay ?? agentConfigSchema.shape.processRelay.parse(undefined)) ? 'on' : 'off'}` +
        `; pod wiring ${podWiring ?? agentConfigSchema.shape.podWiring.parse(undefined)}` +
        `; load ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
    console.log(`\nstart-up (VERSION, exec to exit):`);
    for (const s of subjects) console.log(line(s, ref, s.start, ref.start));
    console.log(`\nsequential ADD (exec to result, pod wired and routed):`);
    for (const s of subjects)
      console.log(line(s, ref, s.add, ref.add, `  ${pairsPerSec(s).toFixed(1)} pairs/s`));
    console.log(`sequential DEL:`);
    for (const s of subjects) console.log(line(s, ref, s.del, ref.del));
    console.log(`\nconcurrent, ${inFlight} in flight — ADD and ADD+DEL pairs per second:`);
    for (const s of subjects)
      console.log(
        line(
          s,
          ref,
          s.concurrentAdd,
          ref.concurrentAdd,
          `  ${mean(s.concurrentPairsPerSec).toFixed(1)} pairs/s`,
        ),
      );
    const shimStart = pct(netloom.start, 50);
    const addP50 = pct(netloom.add, 50);
    console.log(`\nwhere a sequential netloom ADD goes (p50 ${addP50.toFixed(1)} ms exec to result):`);
    console.log(`  shim start (VERSION p50)              ${fmt(shimStart)} ms`);
    for (const [p, ms] of phases) console.log(`  agent ${p.padEnd(32)} ${fmt(ms)} ms (mean)`);
    console.log(
      `  agent total (request in → result out) ${fmt(agentAdd)} ms (mean); DEL ${agentDel.toFixed(1)} ms`,
    );
    console.log(
      `  the rest: connect, gRPC, runner        ${fmt(addP50 - shimStart - agentAdd)} ms (p50 − start − agent mean)`,
    );

    if (churn > 0) await churnRun({ n: churn, inFlight, subject: netloom, pair, agent, node, store });
  } finally {
    await agent?.kill().catch(() => undefined);
    await lab.destroy();
    await etcd.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** N netloom pairs at `inFlight`, then everything that could be left behind, counted. */
async function churnRun(run: {
  n: number;
  inFlight: number;
  subject: Subject;
  pair: (s: number, subject: Subject) => Promise<void>;
  agent: LabAgent;
  node: LabNode;
  store: Store;
}): Promise<void> {
  const { n, inFlight, subject, pair, agent, node, store } = run;
  // Every veth and route the lab node has, and which of them are a pod's (netloom names host
  // veths nl + 12 hex digits and marks its routes proto 78); the node's own uplink veth and the
  // reference bridge's subnet route are there before and after.
  const count = async (): Promise<Record<string, number>> => {
    const links = JSON.parse(
      await runTool('ip', ['-j', 'link', 'show', 'type', 'veth'], { netns: node.netns }),
    ) as { ifname: string }[];
    const routes = (await runTool('ip', ['-4', 'route', 'show'], { netns: node.netns }))
      .split('\n')
      .filter((l) => l.trim() !== '');
    const nft = (await runTool('nft', ['list', 'ruleset'], { netns: node.netns }))
      .split('\n')
      .filter((l) => l.includes('elements =')).length;
    const ipam = (await store.list(new Keyspace(CLUSTER).prefix('ipam', node.name))).kvs.length;
    const podVeth = /^nl[0-9a-f]{12}$/;
    return {
      'veths (all)': links.length,
      'pod host veths': links.filter((l) => podVeth.test(l.ifname)).length,
      'routes (all)': routes.length,
      'pod routes (proto 78 via a pod veth)': routes.filter(
        (l) => /proto 78/.test(l) && / dev nl[0-9a-f]{12}\b/.test(l),
      ).length,
      'nft element lines': nft,
      'IPAM keys': ipam,
      attachments: agent.agent.attachments.all().length,
    };
  };
  const before = await count();
  let left = n;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (left-- > 0) {
        await pair(0, subject);
        if (++done % 1000 === 0)
          console.log(
            `  churn: ${done} pairs, ${((done * 1000) / (performance.now() - t0)).toFixed(1)} pairs/s`,
          );
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const after = await count();
  console.log(
    `\nchurn: ${n} netloom ADD+DEL pairs, ${inFlight} in flight, ${(n / seconds).toFixed(1)} pairs/s`,
  );
  for (const k of Object.keys(after))
    console.log(
      `  ${k.padEnd(38)} before ${String(before[k]).padStart(4)}  after ${String(after[k]).padStart(4)}`,
    );
}

await main();
