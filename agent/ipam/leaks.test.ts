import { describe, expect, it } from 'vitest';
import type { IpamRecord } from './allocator.ts';
import { judge } from './leaks.ts';

const rec = (ip: string, pod: string, rev = 1): IpamRecord => ({
  ip,
  modRevision: rev,
  entry: {
    namespace: 'ns',
    pod,
    containerId: `c-${pod}`,
    ifname: 'eth0',
    network: '',
    netns: '',
    extra: false,
    mac: '',
  },
});

describe('judge', () => {
  const inputs = {
    podExists: (_ns: string, name: string) => name === 'alive',
    hasInterface: (cid: string) => cid === 'c-wired',
  };

  it('suspects first, collects on the second pass, never live or wired pods', () => {
    const records = [rec('1', 'alive'), rec('2', 'wired'), rec('3', 'gone')];
    const first = judge(records, inputs, new Map());
    expect([...first.collect]).toEqual([]);
    expect([...first.suspects]).toEqual([['3', 1]]);
    const second = judge(records, inputs, first.suspects);
    expect([...second.collect]).toEqual(['3']);
  });

  it('starts over when the record changed between passes', () => {
    const first = judge([rec('3', 'gone', 1)], inputs, new Map());
    const second = judge([rec('3', 'gone', 2)], inputs, first.suspects);
    expect([...second.collect]).toEqual([]);
    expect([...second.suspects]).toEqual([['3', 2]]);
  });
});
