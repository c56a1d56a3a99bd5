// Made-up item families for scheduler tests: values name their own dependencies and derived
// items, so a test can build any graph.
import type { Item } from './descriptor.ts';
import { fakeDescriptor } from '../dataplane/fake/driver.ts';
import type { FakeDataPlane } from '../dataplane/fake/plane.ts';
import type { Driver } from './descriptor.ts';
import { ValidationError } from './errors.ts';

export interface TestValue {
  v: number;
  deps?: string[];
  /** Keys (under d/) derived from this item, each with value { v }. */
  derived?: string[];
  /** Changing `mode` needs a recreate. */
  mode?: string;
  invalid?: boolean;
}

/** `concurrent`: the d/ family lets the scheduler run its operations together (Descriptor.concurrent). */
export function testDriver(
  plane: FakeDataPlane,
  opts: { update?: boolean; concurrent?: boolean } = {},
): Driver {
  const common = {
    dependencies: (v: TestValue) => (v.deps ?? []).map((key) => ({ label: 'dep', key })),
    validate: (key: string, v: TestValue): void => {
      if (v.invalid) throw new ValidationError(key, 'marked invalid');
    },
    recreate: (a: TestValue, b: TestValue) => a.mode !== b.mode,
    derivedValues: (_key: string, v: TestValue): Item[] =>
      (v.derived ?? []).map((k) => ({ key: k, value: { v: v.v } })),
    ...(opts.update === false ? { update: false } : {}),
  };
  return {
    name: 'test',
    descriptors: [
      fakeDescriptor<TestValue>(plane, { name: 'x', prefix: 'x/', ...common }),
      {
        ...fakeDescriptor<TestValue>(plane, { name: 'd', prefix: 'd/', ...common }),
        concurrent: opts.concurrent === true,
      },
    ],
  };
}
