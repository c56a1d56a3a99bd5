// Descriptors over a FakeDataPlane: one per family of the item vocabulary (for agent tests and
// `--dataplane fake`), and a generic factory for scheduler tests with made-up families.
import type { Dependency, Descriptor, Driver, Item, Retrieved } from '../../scheduler/descriptor.ts';
import { ValidationError } from '../../scheduler/errors.ts';
import type { FakeDataPlane } from './plane.ts';
import { PREFIX, type Family } from '../../items/keys.ts';
import * as deps from '../../items/dependencies.ts';
import type { PodInterface } from '../../items/values.ts';

export interface FakeFamily<V> {
  name: string;
  prefix: string;
  dependencies?(value: V): readonly Dependency[];
  derivedValues?(key: string, value: V): readonly Item[];
  validate?(key: string, value: V): void;
  /** false: no update, every change recreates. */
  update?: boolean;
  /** A change that cannot be done in place. */
  recreate?(oldValue: V, newValue: V): boolean;
}

/** Metadata of a fake item: an index, like a VPP sw_if_index. */
export interface FakeMetadata {
  index: number;
}

export function fakeDescriptor<V>(plane: FakeDataPlane, family: FakeFamily<V>): Descriptor<V, FakeMetadata> {
  const depsOf = (v: V): readonly Dependency[] => family.dependencies?.(v) ?? [];
  const checkDeps = (key: string, v: V): void => {
    for (const d of depsOf(v))
      if (!plane.entries.has(d.key)) plane.violations.push(`${key} applied before its ${d.label} ${d.key}`);
  };
  // The fake answers at once, but through a promise like a real data plane: failures reject.
  const later = <T>(work: () => T): Promise<T> => Promise.resolve().then(work);
  const descriptor: Descriptor<V, FakeMetadata> = {
    name: family.name,
    keyPrefix: family.prefix,
    validate: family.validate ? (key, v) => family.validate!(key, v) : undefined,
    create: (key, value) =>
      later(() => {
        plane.begin('create', key);
        checkDeps(key, value);
        if (plane.entries.get(key)?.origin === 'netloom') plane.violations.push(`${key} created twice`);
        const metadata = { index: plane.newId() };
        plane.set(key, { value, metadata, origin: 'netloom' });
        plane.note('create', key, true);
        return metadata;
      }),
    delete: (key) =>
      later(() => {
        plane.begin('delete', key);
        plane.remove(key);
        plane.note('delete', key, true);
      }),
    retrieve: () =>
      later(() => {
        plane.begin('retrieve', family.prefix);
        const out: Retrieved<V, FakeMetadata>[] = [];
        for (const [key, e] of plane.entries) {
          if (key.startsWith(family.prefix))
            out.push({ key, value: e.value as V, metadata: e.metadata as FakeMetadata, origin: e.origin });
        }
        return out;
      }),
    dependencies: (_key, v) => depsOf(v),
    ...(family.derivedValues ? { derivedValues: (key: string, v: V) => family.derivedValues!(key, v) } : {}),
  };
  if (family.update !== false) {
    descriptor.update = (key, _old, value, meta) =>
      later(() => {
        plane.begin('update', key);
        checkDeps(key, value);
        plane.set(key, { value, metadata: meta ?? { index: plane.newId() }, origin: 'netloom' });
        plane.note('update', key, true);
        return meta;
      });
    if (family.recreate) descriptor.updateWithRecreate = (_k, a, b) => family.recreate!(a, b);
  }
  return descriptor;
}

/** Deletions must not leave users behind: checked once per transaction by tests. */
export function danglingDependencies(plane: FakeDataPlane, driver: Driver): string[] {
  const out: string[] = [];
  for (const [key, e] of plane.entries) {
    const d = driver.descriptors.find((x) => key.startsWith(x.keyPrefix));
    for (const dep of d?.dependencies?.(key, e.value) ?? []) {
      if (!plane.entries.has(dep.key)) out.push(`${key} -> ${dep.key}`);
    }
  }
  return out;
}

const DEPENDENCIES: { [F in Family]: (v: never) => readonly Dependency[] } = {
  vrf: deps.vrfDependencies,
  podInterface: deps.podInterfaceDependencies,
  address: deps.addressDependencies,
  route: deps.routeDependencies,
  overlay: deps.overlayDependencies,
  tunnel: deps.tunnelDependencies,
  snat: deps.snatDependencies,
  service: deps.serviceDependencies,
  policy: deps.policyDependencies,
  // A set of addresses stands alone: it depends on nothing.
  peerSet: () => [],
};

function validatePodInterface(key: string, v: PodInterface): void {
  if (v.hostIfName.length === 0 || v.hostIfName.length > 15)
    throw new ValidationError(key, `host interface name ${v.hostIfName} must be 1-15 characters`);
}

/** A driver implementing every family of the vocabulary in memory (optionally only some). */
export function fakeDriver(
  plane: FakeDataPlane,
  families: readonly Family[] = Object.keys(PREFIX) as Family[],
): Driver {
  const descriptors = families.map((f) =>
    fakeDescriptor<unknown>(plane, {
      name: f,
      prefix: PREFIX[f],
      dependencies: DEPENDENCIES[f],
      ...(f === 'podInterface' ? { validate: validatePodInterface } : {}),
    }),
  );
  return { name: 'fake', descriptors, close: () => Promise.resolve(plane.flush()) };
}
