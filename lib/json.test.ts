import { describe, expect, it } from 'vitest';
import { jsonObjectOf } from './json.ts';

describe('jsonObjectOf', () => {
  it('an object, as parsed', () => {
    expect(jsonObjectOf('{"a":1,"b":{"c":[true]}}')).toEqual({ a: 1, b: { c: [true] } });
    expect(jsonObjectOf(' {} ')).toEqual({});
  });

  it('undefined for text that does not parse or is not an object', () => {
    for (const text of ['', 'nope', '{"a":', '[]', '[{}]', 'null', '1', '"{}"', 'true'])
      expect(jsonObjectOf(text), text).toBeUndefined();
  });
});
