// The coalescing nft table port over a recording runner: what starts together is one process,
// a failed batch is bisected so only the failing change fails (and in few processes), and a
// big script gets a longer bound than the driver's per-process one.
import { describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, Runner } from '../exec.ts';
import type { NftOp } from '../nft.ts';
import { serviceTableSpec } from '../service-plan.ts';
import { KernelTools, NFT_STATEMENTS_WITHIN_BOUND } from '../tools.ts';
import { KernelNftTable } from './nft-table.ts';

/** Records every nft script; a script naming a chain in `bad` fails as nft would (ENOENT). */
function recorder(bad: ReadonlySet<string>): Runner & { runs: { script: string; timeoutMs?: number }[] } {
  const runs: { script: string; timeoutMs?: number }[] = [];
  return {
    runs,
    run(_cmd: string, _args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
      const script = opts?.stdin ?? '';
      runs.push({ script, ...(opts?.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
      const failing = [...bad].some((c) => script.includes(` ${c} `));
      return Promise.resolve(
        failing
          ? { stdout: '', stderr: 'Error: Could not process rule: No such file or directory\n', code: 1 }
          : { stdout: '', stderr: '', code: 0 },
      );
    },
  };
}

const change = (i: number): NftOp[] => [
  { op: 'add-chain', chain: `c${i}` },
  { op: 'add-rule', chain: `c${i}`, rule: 'return' },
];

function table(bad: ReadonlySet<string>, timeoutMs?: number) {
  const runner = recorder(bad);
  const t = new KernelNftTable(
    new KernelTools(runner, undefined, timeoutMs),
    undefined,
    serviceTableSpec('netloom-svc'),
  );
  return { runner, t };
}

describe('the nft table port', () => {
  it('applies the changes started together in one process, the fixed part first', async () => {
    const { runner, t } = table(new Set());
    await Promise.all(Array.from({ length: 50 }, (_, i) => t.apply(change(i))));
    expect(runner.runs).toHaveLength(1);
    expect(runner.runs[0]!.script.startsWith('add table ip netloom-svc\n')).toBe(true);
    expect(runner.runs[0]!.script).toContain('add rule ip netloom-svc c49 return\n');
  });

  it('bisects a failed batch: only the failing change fails, in a few processes', async () => {
    const n = 1000;
    const { runner, t } = table(new Set(['c417']));
    const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => t.apply(change(i))));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([417]);
    expect((results[417] as PromiseRejectedResult).reason).toMatchObject({ condition: 'missing' });
    // The whole batch, then two halves per level down to the failing change: 1 + 2·⌈log2 n⌉.
    expect(runner.runs.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(n)));
    // Every good change was applied once by a process that succeeded.
    const applied = runner.runs.filter((r) => !r.script.includes(' c417 ')).map((r) => r.script);
    for (let i = 0; i < n; i++) {
      if (i === 417) continue;
      const line = `add rule ip netloom-svc c${i} return\n`;
      expect(applied.filter((s) => s.includes(line))).toHaveLength(1);
    }
  });

  it('gives a script past the bound 1 ms per statement more than the driver bound', async () => {
    const { runner, t } = table(new Set(), 5_000);
    await t.apply(change(0));
    const many = Array.from({ length: NFT_STATEMENTS_WITHIN_BOUND }, (_, i) => change(i)).flat();
    await t.apply(many);
    expect(runner.runs[0]!.timeoutMs).toBeUndefined(); // the runner's own bound
    expect(runner.runs[1]!.timeoutMs).toBe(5_000 + many.length);
  });
});
