import { describe, expect, it } from 'vitest';
import { DesiredState } from './desired.ts';

describe('DesiredState', () => {
  it('diffs a source against its previous items', () => {
    const d = new DesiredState();
    expect(
      d.set('pod:a', [
        { key: 'k1', value: 1 },
        { key: 'k2', value: 2 },
      ]),
    ).toEqual([
      { key: 'k1', value: 1 },
      { key: 'k2', value: 2 },
    ]);
    expect(
      d.set('pod:a', [
        { key: 'k1', value: 1 },
        { key: 'k3', value: 3 },
      ]),
    ).toEqual([
      { key: 'k3', value: 3 },
      { key: 'k2', value: undefined },
    ]);
    expect(
      d.set('pod:a', [
        { key: 'k1', value: 1 },
        { key: 'k3', value: 3 },
      ]),
    ).toEqual([]);
    expect(d.set('pod:a', [])).toEqual([
      { key: 'k1', value: undefined },
      { key: 'k3', value: undefined },
    ]);
    expect(d.size).toBe(0);
    expect(d.items()).toEqual([]);
  });

  it('lets the latest source own a shared key, and the old one not delete it', () => {
    const d = new DesiredState();
    d.set('a', [{ key: 'k', value: 1 }]);
    expect(d.set('b', [{ key: 'k', value: 2 }])).toEqual([{ key: 'k', value: 2 }]);
    expect(d.set('a', [])).toEqual([]);
    expect(d.items()).toEqual([{ key: 'k', value: 2 }]);
  });
});
