import { describe, expect, it } from 'vitest';
import { Channel } from './channel.ts';

describe('Channel', () => {
  it('delivers in order, to a waiting consumer too, and ends after draining', async () => {
    const ch = new Channel<number>();
    const first = ch.next();
    ch.push(1);
    ch.push(2);
    ch.end();
    ch.push(3);
    expect(await first).toEqual({ value: 1, done: false });
    const rest: number[] = [];
    for await (const v of ch) rest.push(v);
    expect(rest).toEqual([2]);
  });

  it('drops the oldest items beyond capacity and counts them', async () => {
    const ch = new Channel<number>(3);
    for (let i = 0; i < 10; i++) ch.push(i);
    ch.end();
    const got: number[] = [];
    for await (const v of ch) got.push(v);
    expect(got).toEqual([7, 8, 9]);
    expect(ch.dropped).toBe(7);
  });
});
