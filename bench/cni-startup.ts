// The CNI shim's start-up cost alone: VERSION, exec to exit, against the reference `bridge`
// plugin (Go) and a bare `node -e 0` measured in the same run, interleaved so machine noise
// hits all three alike. Usage: npm run bench:cni-startup [-- --runs 200]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCni } from '../scripts/build-cni.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 200;
const REFERENCE = '/usr/lib/cni/bridge';

function once(cmd: string, args: string[], env: NodeJS.ProcessEnv, stdin: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
    child.stdin.end(stdin);
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'netloom-bench-'));
  const shim = await buildCni(join(dir, 'netloom'), process.execPath);
  const env = { PATH: process.env['PATH'] ?? '', CNI_COMMAND: 'VERSION' };
  const stdin = '{"cniVersion":"1.0.0"}';
  const subjects: [string, () => Promise<number>][] = [
    ['netloom shim VERSION', () => once(shim, [], env, stdin)],
    ['node -e 0 (runtime floor)', () => once(process.execPath, ['-e', '0'], env, '')],
  ];
  if (existsSync(REFERENCE))
    subjects.push(['reference bridge VERSION (Go)', () => once(REFERENCE, [], env, stdin)]);
  else
    console.log(
      `*** ${REFERENCE} missing (apt-get install containernetworking-plugins): no reference peer ***`,
    );
  const times = new Map<string, number[]>(subjects.map(([n]) => [n, []]));
  for (let i = 0; i < 10; i++) for (const [, run] of subjects) await run(); // warm caches
  for (let i = 0; i < runs; i++) {
    for (const [name, run] of subjects) times.get(name)!.push(await run());
  }
  const rows = subjects.map(([name]) => {
    const t = times.get(name)!.sort((a, b) => a - b);
    return { name, p50: pct(t, 50), p99: pct(t, 99) };
  });
  const ref = rows.find((r) => r.name.startsWith('reference'));
  console.log(`CNI shim start-up, ${runs} runs each, interleaved`);
  for (const r of rows) {
    const ratio = ref ? `  (${(r.p50 / ref.p50).toFixed(2)}× reference p50)` : '';
    console.log(
      `  ${r.name.padEnd(32)} p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms${ratio}`,
    );
  }
}

await main();
