// CNI ADD latency (exec to result, pod wired and routed) and ADD+DEL pairs per second, netloom
// (bundled shim → agent pipeline on a real etcd → linux driver) beside the reference `bridge` +
// `host-local` plugins, in the same node namespace, interleaved pod by pod so machine noise hits
// both alike. Both run through the same libcni-style runner (plugins exec'd inside the node
// namespace, as kubelet runs them on a node). Usage: npm run bench:cni -- [--pods 100]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCni } from '../scripts/build-cni.ts';
import { startEtcd } from '../test/harness/etcd.ts';
import { LabAgent, singleLabNode, type LabNode } from '../test/lab/agent.ts';
import { CniRunner, k8sArgs, type ConfList, type RuntimeConf } from '../cli/lab/kubelet/cni-runner.ts';
import { Lab } from '../test/lab/netns.ts';

const pods = Number(process.argv[process.argv.indexOf('--pods') + 1]) || 100;

const pct = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const lab = new Lab();
  const tmp = mkdtempSync(join(tmpdir(), 'netloom-bench-cni-'));
  const etcd = await startEtcd();
  let agent: LabAgent | undefined;
  try {
    const store = etcd.store();
    const node: LabNode = await singleLabNode(lab, tmp);
    agent = await LabAgent.start({ node, store });
    const bin = join(tmp, 'bin');
    await buildCni(join(bin, 'netloom'), process.execPath, join(tmp, 'compile-cache'));
    const runner = new CniRunner({ cniPath: [bin, '/usr/lib/cni'], netns: node.netns });
    const netloom: ConfList = {
      cniVersion: '1.0.0',
      name: 'netloom',
      plugins: [{ type: 'netloom', agentSocket: node.socketPath }],
    };
    const reference: ConfList = {
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
    };
    const subjects = [
      {
        name: 'netloom (shim + agent + linux driver)',
        conf: netloom,
        add: [] as number[],
        del: [] as number[],
      },
      { name: 'reference bridge + host-local', conf: reference, add: [] as number[], del: [] as number[] },
    ];
    const rt = (s: number, i: number, netns: string): RuntimeConf => ({
      containerId: `bench${s}x${i}`,
      netns: `/run/netns/${netns}`,
      ifname: 'eth0',
      args: k8sArgs({ namespace: 'bench', name: `p${s}-${i}`, uid: `u${s}-${i}` }, `bench${s}x${i}`),
    });
    const warm = 5;
    for (let i = 0; i < pods + warm; i++) {
      for (const [s, subject] of subjects.entries()) {
        const r = rt(s, i, await lab.netns(`s${s}p${i}`));
        const add = await timed(() => runner.add(subject.conf, r));
        const del = await timed(() => runner.del(subject.conf, r));
        if (i >= warm) {
          subject.add.push(add);
          subject.del.push(del);
        }
      }
    }
    const ref = subjects[1]!;
    console.log(
      `CNI ADD (exec to result) and ADD+DEL pairs, ${pods} pods each, interleaved, one node namespace`,
    );
    for (const s of subjects) {
      const pairs =
        1000 / ((s.add.reduce((a, b) => a + b, 0) + s.del.reduce((a, b) => a + b, 0)) / s.add.length);
      console.log(
        `  ${s.name.padEnd(40)} ADD p50 ${pct(s.add, 50).toFixed(1).padStart(6)} ms  p99 ${pct(s.add, 99).toFixed(1).padStart(6)} ms` +
          `  DEL p50 ${pct(s.del, 50).toFixed(1).padStart(6)} ms  ${pairs.toFixed(1).padStart(5)} pairs/s` +
          `  (ADD p50 ${(pct(s.add, 50) / pct(ref.add, 50)).toFixed(2)}× reference)`,
      );
    }
    console.log(
      `  agent-side mean: ADD ${(await agent.meanCniMs('add')).toFixed(1)} ms, DEL ${(await agent.meanCniMs('del')).toFixed(1)} ms`,
    );
  } finally {
    await agent?.kill().catch(() => undefined);
    await lab.destroy();
    await etcd.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
