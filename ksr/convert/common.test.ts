import { describe, expect, it } from 'vitest';
import {
  ConvertError,
  compact,
  isNetloomAnnotation,
  labelSelector,
  portRef,
  sortedMap,
  strList,
  uint,
} from './common.ts';

describe('common converter helpers', () => {
  it('sorts maps and drops empty ones', () => {
    expect(JSON.stringify(sortedMap({ b: '2', a: '1', 'z/x': '' }))).toBe('{"a":"1","b":"2","z/x":""}');
    expect(sortedMap({})).toBeUndefined();
    expect(sortedMap(null)).toBeUndefined();
    expect(sortedMap({ a: '1', b: '2' }, (k) => k === 'b')).toEqual({ b: '2' });
  });

  it('gives equal JSON for equal maps inserted in any order', () => {
    const a = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, `v${i}`]));
    const b = Object.fromEntries(Object.entries(a).reverse());
    expect(JSON.stringify(sortedMap(b))).toBe(JSON.stringify(sortedMap(a)));
  });

  it('rejects non-string map values', () => {
    expect(() => sortedMap({ a: 1 } as never)).toThrow(ConvertError);
  });

  it('keeps only the annotations netloom interprets', () => {
    expect(isNetloomAnnotation('opencontrail.org/isolation')).toBe(true);
    expect(isNetloomAnnotation('netloom.io/anything')).toBe(true);
    expect(isNetloomAnnotation('k8s.v1.cni.cncf.io/networks')).toBe(true);
    expect(isNetloomAnnotation('k8s.v1.cni.cncf.io/network-status')).toBe(false);
    expect(isNetloomAnnotation('kubectl.kubernetes.io/last-applied-configuration')).toBe(false);
  });

  it('omits proto3 defaults', () => {
    expect(
      compact({ a: '', b: 0, c: false, d: [], e: undefined, f: null, g: 'x', h: 1, i: true, j: {} }),
    ).toEqual({ g: 'x', h: 1, i: true, j: {} });
  });

  it('checks numbers and lists', () => {
    expect(uint(0, 'x')).toBeUndefined();
    expect(uint(65535, 'x')).toBe(65535);
    expect(() => uint(-1, 'x')).toThrow(/non-negative/);
    expect(() => uint(1.5, 'x')).toThrow(ConvertError);
    expect(() => uint('80', 'x')).toThrow(ConvertError);
    expect(strList([], 'x')).toBeUndefined();
    expect(strList(['b', 'a'], 'x')).toEqual(['b', 'a']);
    expect(() => strList('a', 'x')).toThrow(/not a list/);
  });

  it('converts IntOrString ports', () => {
    expect(portRef(8080, 'p')).toEqual({ number: 8080 });
    expect(portRef('http', 'p')).toEqual({ name: 'http' });
    expect(portRef(undefined, 'p')).toBeUndefined();
    expect(() => portRef({}, 'p')).toThrow(ConvertError);
  });

  it('keeps selector presence: empty is {}, absent is undefined', () => {
    expect(labelSelector({}, 's')).toEqual({});
    expect(labelSelector(undefined, 's')).toBeUndefined();
    expect(
      labelSelector(
        {
          matchLabels: { b: '1', a: '2' },
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['web', 'api'] },
            { key: 'x', operator: 'Exists' },
          ],
        },
        's',
      ),
    ).toEqual({
      matchLabels: { a: '2', b: '1' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['web', 'api'] },
        { key: 'x', operator: 'Exists' },
      ],
    });
    expect(() => labelSelector({ matchExpressions: [{ operator: 'In' } as never] }, 's')).toThrow(
      /key and operator/,
    );
  });
});
