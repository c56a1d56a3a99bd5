import { describe, expect, it } from 'vitest';
import type { Feed, KubeObject } from './feed.ts';
import { FeedTee, objectKey } from './feed-tee.ts';

/** An inner feed recording every call in order. */
function inner(): Feed & { calls: string[] } {
  const calls: string[] = [];
  return {
    kind: 'service',
    folds: true,
    calls,
    upsert: (o) => calls.push(`upsert ${objectKey(o)}`),
    remove: (o) => calls.push(`remove ${objectKey(o)}`),
    beginRelist: () => calls.push('begin'),
    endRelist: () => calls.push('end'),
    abortRelist: () => calls.push('abort'),
  };
}

const obj = (name: string, color?: string): KubeObject => ({
  metadata: { namespace: 'ns', name, labels: color ? { color } : undefined },
});

/** A tee whose view is an object's `color` label (none: no view), with the hooks' calls logged. */
class ColorTee extends FeedTee<{ color: string }> {
  readonly events: string[] = [];
  constructor(f: Feed) {
    super(f, {
      viewOf: (o) => {
        const color = o.metadata?.labels?.['color'];
        return color ? { color } : undefined;
      },
      onEvent: (key, changed) => this.events.push(`${key} ${changed ? 'changed' : 'same'}`),
      onRelisted: () => this.events.push('relisted'),
    });
  }
  colors(): Record<string, string> {
    return Object.fromEntries([...this.view].map(([k, v]) => [k, v.color]));
  }
}

describe('FeedTee', () => {
  it('passes every call through first, in order, and takes kind and folds from the inner feed', () => {
    const f = inner();
    const seenByInner: number[] = [];
    const tee = new FeedTee(f, { viewOf: () => 1, onEvent: () => seenByInner.push(f.calls.length) });
    expect(tee.kind).toBe('service');
    expect(tee.folds).toBe(true);
    tee.beginRelist();
    tee.upsert(obj('a'));
    tee.abortRelist();
    tee.beginRelist();
    tee.remove(obj('a'));
    tee.endRelist();
    expect(f.calls).toEqual(['begin', 'upsert ns/a', 'abort', 'begin', 'remove ns/a', 'end']);
    expect(seenByInner).toEqual([2, 5]); // the hook runs after the inner feed has the event
  });

  it('keeps a view per object and says whether it changed', () => {
    const tee = new ColorTee(inner());
    tee.upsert(obj('a', 'red'));
    tee.upsert(obj('a', 'red'));
    tee.upsert(obj('b')); // no view kept
    tee.upsert(obj('a', 'blue'));
    expect(tee.colors()).toEqual({ 'ns/a': 'blue' });
    tee.upsert(obj('a')); // its view goes
    tee.remove(obj('b')); // nothing was kept
    tee.upsert(obj('b', 'green'));
    tee.remove(obj('b'));
    expect(tee.colors()).toEqual({});
    expect(tee.events).toEqual([
      'ns/a changed',
      'ns/a same',
      'ns/b same',
      'ns/a changed',
      'ns/a changed',
      'ns/b same',
      'ns/b changed',
      'ns/b changed',
    ]);
  });

  it('a relist drops what it did not see only at its end, then says so', () => {
    const tee = new ColorTee(inner());
    tee.upsert(obj('a', 'red'));
    tee.upsert(obj('b', 'red'));
    tee.upsert(obj('c', 'red'));
    expect(tee.listed).toBe(false);
    tee.beginRelist();
    tee.upsert(obj('b', 'red'));
    tee.upsert(obj('c')); // seen, without a view
    expect(Object.keys(tee.colors())).toEqual(['ns/a', 'ns/b']); // a stays while the relist runs
    tee.events.length = 0;
    tee.endRelist();
    expect(tee.colors()).toEqual({ 'ns/b': 'red' });
    expect(tee.listed).toBe(true);
    expect(tee.events).toEqual(['relisted']);
  });

  it('a relist that failed half way drops nothing, and its seen set is forgotten', () => {
    const tee = new ColorTee(inner());
    tee.upsert(obj('a', 'red'));
    tee.beginRelist();
    tee.abortRelist();
    expect(tee.colors()).toEqual({ 'ns/a': 'red' });
    // An end with no relist begun (the aborted one is forgotten) sweeps nothing.
    tee.endRelist();
    expect(tee.colors()).toEqual({ 'ns/a': 'red' });
    expect(tee.listed).toBe(true);
    tee.beginRelist();
    tee.endRelist(); // an empty list: everything went
    expect(tee.colors()).toEqual({});
  });

  it('keys objects by namespace and name, an absent part empty', () => {
    expect(objectKey(obj('a'))).toBe('ns/a');
    expect(objectKey({ metadata: { name: 'n' } })).toBe('/n');
    expect(objectKey({})).toBe('/');
  });
});
