// Process starts from a large Node process: a direct spawn (lib/iproute.ts runProcess, what the
// linux driver does by default) beside the spawn relay (lib/process-relay.ts: a long-lived
// /bin/sh forks the tool), in the same run, rounds alternating so noise hits both. Two commands:
// `ip link show dev lo` (no stdin) and a 3-line `ip -force -batch -` on stdin (the driver's
// shape: the relay passes it through a tmpfs file). Forking is what grows with the parent's size,
// so the process first takes `--ballast` MB of heap (default 60: about the RSS of an agent, ~110 MB).
//
// Usage: node bench/spawn.ts [--n 200] [--rounds 4] [--ballast 60] [--size 4]
import { loadavg } from 'node:os';
import { runProcess, type ProcessRunner } from '../lib/iproute.ts';
import { ProcessRelay } from '../lib/process-relay.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) || dflt : dflt;
};
const n = arg('--n', 200);
const rounds = arg('--rounds', 4);
const ballastMb = arg('--ballast', 60);
const size = arg('--size', 4);

// Ballast the size of an agent's heap: buffers and many small objects (page tables to copy).
const ballast: unknown[] = [];
for (let i = 0; i < ballastMb / 2; i++) ballast.push(Buffer.alloc(1 << 20, 1));
for (let i = 0; i < ballastMb * 2_000; i++) ballast.push({ i, s: `x${i}` });

const pct = (xs: readonly number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

interface Case {
  name: string;
  cmd: string;
  args: string[];
  stdin?: string;
}
const cases: Case[] = [
  { name: 'ip link show dev lo', cmd: 'ip', args: ['link', 'show', 'dev', 'lo'] },
  {
    name: 'ip -force -batch - (3 lines)',
    cmd: 'ip',
    args: ['-force', '-batch', '-'],
    stdin: 'link show dev lo\naddr show dev lo\nroute show table local dev lo\n',
  },
];

async function sample(runner: ProcessRunner, c: Case, out: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await runner.run(c.cmd, c.args, c.stdin !== undefined ? { stdin: c.stdin } : {});
    out.push(performance.now() - t0);
    if (res.code !== 0) throw new Error(`${c.name} failed: ${res.stderr}`);
  }
}

async function main(): Promise<void> {
  const direct: ProcessRunner = { run: runProcess };
  const relay = new ProcessRelay({ size });
  const load0 = loadavg();
  const times = new Map<string, number[]>();
  try {
    await relay.run('true', []); // the relay's own start is not a request's cost
    for (let r = 0; r < rounds; r++)
      for (const c of cases)
        for (const [name, runner] of [
          ['direct', direct],
          ['relay', relay],
        ] as const) {
          const key = `${c.name}|${name}`;
          times.set(key, times.get(key) ?? []);
          await sample(runner, c, times.get(key) as number[]);
        }
  } finally {
    await relay.close();
  }
  const rss = process.memoryUsage().rss / 1e6;
  console.log(
    `process starts: ${rounds} rounds × ${n} per subject, alternating; RSS ${rss.toFixed(0)} MB; ` +
      `load ${load0.map((l) => l.toFixed(1)).join(' ')} → ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (${String(navigatorCores())} cores)`,
  );
  for (const c of cases) {
    const d = times.get(`${c.name}|direct`) ?? [];
    const s = times.get(`${c.name}|relay`) ?? [];
    console.log(`\n${c.name}:`);
    console.log(`  direct spawn   p50 ${pct(d, 50).toFixed(2)} ms  p90 ${pct(d, 90).toFixed(2)} ms`);
    console.log(
      `  spawn relay    p50 ${pct(s, 50).toFixed(2)} ms  p90 ${pct(s, 90).toFixed(2)} ms` +
        `  (p50 ${(pct(s, 50) / pct(d, 50)).toFixed(2)}× direct)`,
    );
  }
  void ballast.length;
}

function navigatorCores(): number {
  return globalThis.navigator?.hardwareConcurrency ?? NaN;
}

await main();
