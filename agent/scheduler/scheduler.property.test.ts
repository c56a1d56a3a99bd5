// Property: whatever sequence of desired-state changes, driver failures (retriable or not,
// on create, update, delete, retrieve) and drift behind the scheduler's back, once failures
// stop and a resync plus the due retries have run, the data plane holds exactly the desired
// items whose dependencies can be met — nothing more, nothing less — and every status says so.
// Between steps, no item is ever applied before its dependencies or left without them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging.ts';
import { danglingDependencies } from '../dataplane/fake/driver.ts';
import { FakeDataPlane, type FakeOperation } from '../dataplane/fake/plane.ts';
import { KvScheduler } from './scheduler.ts';
import { testDriver, type TestValue } from './test-families.ts';

const KEYS = Array.from({ length: 7 }, (_, i) => `x/${i}`);

const value = fc.record({
  v: fc.integer({ min: 0, max: 3 }),
  deps: fc.subarray(KEYS, { maxLength: 2 }),
  mode: fc.constantFrom('a', 'b'),
  invalid: fc.oneof(
    { weight: 9, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
  derived: fc.subarray(['0', '1'], { maxLength: 2 }),
});

type Step =
  | { type: 'put'; changes: { key: string; value: TestValue | undefined }[] }
  | { type: 'fail'; key: string; operation: FakeOperation; retriable: boolean; times: number }
  | { type: 'drift'; key: string; kind: 'lose' | 'alter' | 'stray' }
  | { type: 'retry'; advanceMs: number }
  | { type: 'resync' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('put' as const),
      changes: fc.array(
        fc.record({ key: fc.constantFrom(...KEYS), value: fc.option(value, { nil: undefined, freq: 4 }) }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('fail' as const),
      key: fc.constantFrom(...KEYS, 'd/x/1-0'),
      operation: fc.constantFrom<FakeOperation>('create', 'update', 'delete', 'retrieve'),
      retriable: fc.boolean(),
      times: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('drift' as const),
      key: fc.constantFrom(...KEYS),
      kind: fc.constantFrom('lose', 'alter', 'stray'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('retry' as const),
      advanceMs: fc.integer({ min: 0, max: 2_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'resync' as const }) },
);

/** Derived keys are unique per parent: d/x/3-0 comes from x/3. */
function withDerived(key: string, v: TestValue): TestValue {
  return { ...v, derived: (v.derived ?? []).map((s) => `d/${key}-${s}`) };
}

/** The model: the least set of wanted items whose dependencies are all in the set. */
function expected(desired: Map<string, TestValue>): Record<string, unknown> {
  const applied = new Map<string, unknown>();
  for (let changed = true; changed;) {
    changed = false;
    for (const [key, v] of desired) {
      if (applied.has(key) || v.invalid || !(v.deps ?? []).every((d) => applied.has(d))) continue;
      applied.set(key, v);
      for (const d of v.derived ?? []) applied.set(d, { v: v.v });
      changed = true;
    }
  }
  return Object.fromEntries([...applied.keys()].sort().map((k) => [k, applied.get(k)]));
}

async function run(steps: Step[], update: boolean, concurrent: boolean): Promise<void> {
  const plane = new FakeDataPlane();
  const driver = testDriver(plane, { update, concurrent });
  let clock = 0;
  const s = new KvScheduler({
    driver,
    logger: silentLogger(),
    retry: { auto: false, initialMs: 100, maxMs: 800 },
    now: () => clock,
  });
  const desired = new Map<string, TestValue>();
  let drifted = false;
  const invariants = (): void => {
    if (drifted) return; // drift breaks the data plane on purpose until the next resync
    expect(plane.violations).toEqual([]);
    expect(danglingDependencies(plane, driver)).toEqual([]);
  };
  for (const st of steps) {
    switch (st.type) {
      case 'put':
        await s.commit(
          st.changes.map((c) => {
            const v = c.value && withDerived(c.key, c.value);
            if (v) desired.set(c.key, v);
            else desired.delete(c.key);
            return { key: c.key, value: v };
          }),
        );
        break;
      case 'fail':
        plane.fail({
          key: st.operation === 'retrieve' ? st.key.slice(0, 2) : st.key,
          operation: st.operation,
          retriable: st.retriable,
          times: st.times,
        });
        break;
      case 'drift': {
        const e = plane.entries.get(st.key);
        if (st.kind === 'lose' && e) plane.entries.delete(st.key);
        if (st.kind === 'alter' && e) plane.entries.set(st.key, { ...e, value: { v: 99 } });
        if (st.kind === 'stray' && !e)
          plane.entries.set(st.key, { value: { v: 98 }, metadata: { index: 0 }, origin: 'netloom' });
        drifted = true;
        break;
      }
      case 'retry':
        clock += st.advanceMs;
        await s.retryDue();
        break;
      case 'resync': {
        const rec = await s.resync();
        if (!rec.errors.some((e) => e.operation === 'retrieve')) {
          drifted = false;
          plane.violations.length = 0;
        }
        break;
      }
    }
    invariants();
  }
  // Failures stop; a resync and the retries it leaves must converge.
  plane.clearFailures();
  if (drifted) plane.violations.length = 0;
  await s.resync();
  for (let i = 0; i < 20; i++) {
    clock += 10_000;
    if (!(await s.retryDue())) break;
  }
  expect(plane.dump()).toEqual(expected(desired));
  expect(plane.violations).toEqual([]);
  expect(danglingDependencies(plane, driver)).toEqual([]);
  const want = expected(desired);
  for (const st of s.statuses()) {
    if (st.key in want) expect(st.state).toBe('configured');
    else expect(['pending', 'invalid']).toContain(st.state);
  }
}

describe('KvScheduler convergence (property)', () => {
  it('converges to exactly the satisfiable desired state after random changes, failures and drift', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        fc.boolean(),
        (steps, update, concurrent) => run(steps, update, concurrent),
      ),
      { numRuns: 400 },
    );
  });
});
