// Property-based NetworkPolicy with real packets: random policies and random pod and namespace
// labels (the generator policy-oracle.test.ts checks the engine against cyclonus with,
// policy-model.ts) applied to a 3-node lab running the x/y/z × a/b/c model. For each case the
// engine's verdict on what KSR mirrored into etcd is the expected table (288 cells: 72 ordered
// pairs × TCP/UDP 80/81); a random sample of it, always holding some allowed and some denied
// cells, is probed with packets from inside the source pods and must agree, allowing the agents
// the same bounded time to converge as lab-policy.test.ts.
//
// The run is fixed by a seed printed at the start (NETLOOM_LAB_POLICY_SEED replays one, and
// NETLOOM_LAB_POLICY_CASES sets how many cases). A failing case is not shrunk: every shrink step
// would be another round trip through the lab, and the seed already reproduces it.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdClientOf } from '../lib/etcd/client.ts';
import { Store } from '../lib/etcd/store.ts';
import { skipUnless } from './harness/availability.ts';
import { labAvailable, TestLab } from './lab-support.ts';
import {
  ALL_PROBES,
  allCells,
  applyObjects,
  cellName,
  expected,
  namespaceManifest,
  NAMESPACES,
  podManifest,
  PODS,
  startModel,
  untilAgreed,
  waitMirrored,
  type Cell,
  type LabPod,
} from './lab/policy-lab.ts';
import { nsLabels, podLabels, policyScenario, type Scenario } from './policy-model.ts';

const skip = skipUnless('lab NetworkPolicy, random (test/lab-policy-random.test.ts)', labAvailable());
const SEED = Number(process.env['NETLOOM_LAB_POLICY_SEED'] ?? 20_140_514);
const CASES = Number(process.env['NETLOOM_LAB_POLICY_CASES'] ?? 8);
/** Cells probed per case, and how many of them are picked among the denied and among the allowed. */
const SAMPLE = 30;
const EACH_VERDICT = 5;

/**
 * `n` cells of `table` in an order fixed by `seed`: up to EACH_VERDICT the engine denies and as
 * many it allows first (a sample of a mostly open table would rarely test a deny), then any others.
 */
function sample(cells: readonly Cell[], want: Map<string, boolean>, seed: number, n: number): Cell[] {
  // A small linear congruential generator: the order only has to follow from the seed.
  let s = seed >>> 0;
  const next = (k: number): number => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return Math.floor((s / 2 ** 32) * k);
  };
  const shuffled = [...cells];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = next(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const denied = shuffled.filter((c) => !want.get(cellName(c))).slice(0, EACH_VERDICT);
  const allowed = shuffled.filter((c) => want.get(cellName(c))).slice(0, EACH_VERDICT);
  const first = new Set([...denied, ...allowed]);
  return [...first, ...shuffled.filter((c) => !first.has(c))].slice(0, n);
}

describe.skipIf(skip)(
  'netloom lab: random NetworkPolicies and labels, real packets agree with the engine',
  () => {
    const lab = new TestLab({ nodes: 3 });
    let store: Store;
    let pods: LabPod[] = [];
    const lines: string[] = [];

    beforeAll(async () => {
      await lab.up();
      store = new Store(etcdClientOf(lab.etcdConfig));
      pods = await startModel(lab);
      expect(pods).toHaveLength(9);
    }, 240_000);

    afterAll(async () => {
      store?.close();
      process.stdout.write(lines.map((l) => `[lab-policy-random] ${l}\n`).join(''));
      expect(await lab.destroy()).toEqual([]);
    });

    /** Replaces the policies and labels with the scenario's and waits until etcd has them. */
    async function applyScenario(s: Scenario): Promise<void> {
      for (const ns of NAMESPACES) await lab.kubectl(['delete', 'networkpolicy', '--all', '-n', ns]);
      await applyObjects(lab, [
        ...NAMESPACES.map((ns, i) => namespaceManifest(ns, nsLabels(s, i))),
        ...NAMESPACES.flatMap((ns, n) => PODS.map((p, i) => podManifest(ns, p, podLabels(s, n * 3 + i)))),
        ...s.policies,
      ]);
      await waitMirrored(lab, store);
    }

    it(`${CASES} random cases: sampled cells, packets equal the engine`, async () => {
      process.stdout.write(
        `[lab-policy-random] seed ${SEED}, ${CASES} cases (replay: NETLOOM_LAB_POLICY_SEED=${SEED})\n`,
      );
      const ipOf = (key: string): string => pods.find((p) => p.key === key)!.ip;
      const every = allCells(pods, ALL_PROBES);
      const seen = { cases: 0, cells: 0, allowed: 0, denied: 0 };
      await fc.assert(
        fc.asyncProperty(policyScenario(ipOf), fc.noBias(fc.nat()), async (s, sampleSeed) => {
          const t0 = performance.now();
          await applyScenario(s);
          const table = await expected(store, every);
          const cells = sample(every, table, sampleSeed, SAMPLE);
          const want = new Map(cells.map((c) => [cellName(c), table.get(cellName(c))!]));
          const { diff, rounds } = await untilAgreed(want, cells);
          const allowed = [...want.values()].filter(Boolean).length;
          seen.cases++;
          seen.cells += cells.length;
          seen.allowed += allowed;
          seen.denied += cells.length - allowed;
          const open = [...table.values()].filter(Boolean).length;
          lines.push(
            `case ${seen.cases}: ${s.policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(' ')}; ` +
              `engine allows ${open}/${table.size}; probed ${cells.length} (${allowed} allow, ${cells.length - allowed} deny), ` +
              `${diff.length === 0 ? 'agreed' : `${diff.length} differ`} after ${rounds} probe round(s), ${Math.round(performance.now() - t0)} ms`,
          );
          expect(diff, `case ${seen.cases}: ${JSON.stringify(s)}`).toEqual([]);
        }),
        // No shrinking (endOnFailure): the seed replays the failing case.
        { seed: SEED, numRuns: CASES, endOnFailure: true },
      );
      lines.push(
        `seed ${SEED}: ${seen.cases} cases, ${seen.cells} cells probed (${seen.allowed} allowed, ${seen.denied} denied), packets equalled the engine`,
      );
      // A run that only ever probed one verdict would prove little.
      expect(seen.allowed).toBeGreaterThan(0);
      expect(seen.denied).toBeGreaterThan(0);
    }, 400_000);
  },
);
