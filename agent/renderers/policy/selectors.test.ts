import { describe, expect, it } from 'vitest';
import { matches, parseSelector, type Selector } from './selectors.ts';

const sel = (raw: unknown): Selector => {
  const s = parseSelector(raw);
  if (!s?.ok) throw new Error(`bad selector: ${JSON.stringify(s)}`);
  return s;
};

describe('label selectors', () => {
  const labels = { pod: 'a', tier: 'web' };

  it.each([
    ['empty selects everything', {}, {}, true],
    ['empty selects a pod without labels', {}, undefined, true],
    ['matchLabels equal', { matchLabels: { pod: 'a' } }, labels, true],
    ['matchLabels differ', { matchLabels: { pod: 'b' } }, labels, false],
    ['matchLabels key absent', { matchLabels: { app: 'a' } }, labels, false],
    ['In', { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'a'] }] }, labels, true],
    ['In, key absent', { matchExpressions: [{ key: 'app', operator: 'In', values: ['a'] }] }, labels, false],
    [
      'NotIn, value listed',
      { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['a'] }] },
      labels,
      false,
    ],
    [
      'NotIn, value not listed',
      { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['b'] }] },
      labels,
      true,
    ],
    [
      'NotIn matches an absent key',
      { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a'] }] },
      labels,
      true,
    ],
    ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels, true],
    ['Exists, absent', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels, false],
    ['DoesNotExist, absent', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels, true],
    [
      'DoesNotExist, present',
      { matchExpressions: [{ key: 'pod', operator: 'DoesNotExist' }] },
      labels,
      false,
    ],
    [
      'matchLabels AND expressions',
      { matchLabels: { pod: 'a' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] },
      labels,
      false,
    ],
    ['an empty value is a value', { matchLabels: { pod: '' } }, { pod: '' }, true],
  ])('%s', (_name, raw, l, want) => {
    expect(matches(sel(raw), (l ?? {}) as Record<string, string>)).toBe(want);
  });

  it('absent is undefined: the caller decides what it means', () => {
    expect(parseSelector(undefined)).toBeUndefined();
    expect(parseSelector(null)).toBeUndefined();
  });

  it.each([
    [
      'unknown operator',
      { matchExpressions: [{ key: 'pod', operator: 'Equals', values: ['a'] }] },
      /unknown operator "Equals"/,
    ],
    ['In without values', { matchExpressions: [{ key: 'pod', operator: 'In' }] }, /\(In\) has no values/],
    [
      'Exists with values',
      { matchExpressions: [{ key: 'pod', operator: 'Exists', values: ['a'] }] },
      /must not have values/,
    ],
    ['no key', { matchExpressions: [{ operator: 'Exists' }] }, /has no key/],
    ['matchLabels value not a string', { matchLabels: { pod: 1 } }, /is not a string/],
    ['not an object', 'pod=a', /not an object/],
  ])('refuses %s (selects nothing)', (_name, raw, problem) => {
    const s = parseSelector(raw);
    expect(s?.ok).toBe(false);
    expect(s && !s.ok ? s.problem : '').toMatch(problem);
  });

  it('canonical form ignores order and repetition', () => {
    const a = sel({
      matchLabels: { b: '2', a: '1' },
      matchExpressions: [
        { key: 'x', operator: 'In', values: ['q', 'p', 'p'] },
        { key: 'y', operator: 'Exists' },
      ],
    });
    const b = sel({
      matchLabels: { a: '1', b: '2' },
      matchExpressions: [
        { key: 'y', operator: 'Exists' },
        { key: 'x', operator: 'In', values: ['p', 'q'] },
        { key: 'y', operator: 'Exists' },
      ],
    });
    expect(a.canonical).toBe(b.canonical);
    expect(sel({ matchLabels: { a: '1' } }).canonical).not.toBe(a.canonical);
  });
});
