import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as linux from '../linux/naming.ts';
import {
  AF_PACKET_MAC,
  hostVethMac,
  keysByTag,
  MAX_TAG,
  overlayMac,
  overlayNextHop,
  podMac,
  probabilities,
  tagOf,
} from './naming.ts';

describe('vpp naming', () => {
  it('derives overlay MACs, next hops and pod MACs exactly as the Linux driver (mixed clusters interoperate)', () => {
    for (const [vni, id] of [
      [10, 1],
      [4096, 300],
      [16_777_215, 32_767],
    ] as const) {
      expect(overlayMac(vni, id)).toBe(linux.overlayMac(vni, id));
      expect(overlayNextHop(id)).toBe(linux.overlayNextHop(id));
    }
    expect(podMac('10.1.3.5/32')).toBe(linux.podMac('10.1.3.5/32'));
  });

  it('keeps short keys as tags and hashes long ones into 63 bytes, mapping back through the desired keys', () => {
    expect(tagOf('pod-interface/default/web/eth0')).toBe('pod-interface/default/web/eth0');
    const long = `pod-interface/${'n'.repeat(40)}/${'p'.repeat(40)}/eth0`;
    const tag = tagOf(long);
    expect(Buffer.byteLength(tag)).toBe(MAX_TAG);
    expect(tag).not.toBe(tagOf(`${long}x`));
    expect(keysByTag([long]).get(tag)).toBe(long);
  });

  it('turns weights into u8 probabilities summing to at most 255, never 0', () => {
    expect(probabilities([1, 3])).toEqual([63, 191]);
    expect(probabilities([0, 2])).toEqual([1, 254]);
    expect(probabilities([1, 1, 1, 1])).toEqual([63, 63, 63, 63]);
    expect(probabilities([1000, 500, 1])).toEqual([169, 84, 1]);
    expect(probabilities([1_000_000, ...Array<number>(200).fill(1)]).reduce((a, b) => a + b)).toBe(255);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 255 }),
        (ws) => {
          const p = probabilities(ws);
          return (
            p.every((x) => Number.isInteger(x) && x >= 1 && x <= 255) && p.reduce((a, b) => a + b) <= 255
          );
        },
      ),
    );
  });

  it('lets VPP’s draw reach every backend, whatever number of draws lies between two sessions', () => {
    // nat44_ed.c's pick, written from VPP's source: u8 prefix sums, vppinfra's random_u32 (an
    // LCG), `1 + rand % last prefix`, a binary search over the prefixes.
    const lcg = (seed: number): number => (Math.imul(1664525, seed) + 1013904223) >>> 0;
    const reached = (probs: number[], callsPerSession: number): number => {
      const prefix: number[] = [];
      probs.forEach((p, i) => prefix.push(((i === 0 ? 0 : prefix[i - 1]!) + p) & 0xff));
      const hit = new Set<number>();
      let seed = 12345;
      for (let session = 0; session < 2000; session++) {
        for (let c = 1; c < callsPerSession; c++) seed = lcg(seed); // draws for other things
        seed = lcg(seed);
        const rand = 1 + (seed % prefix.at(-1)!);
        let [lo, hi] = [0, prefix.length - 1];
        while (lo < hi) {
          const mid = ((hi - lo) >> 1) + lo;
          if (rand > prefix[mid]!) lo = mid + 1;
          else hi = mid;
        }
        hit.add(lo);
      }
      return hit.size;
    };
    for (const n of [2, 3, 4, 6, 8])
      for (const calls of [1, 2, 3, 4])
        expect([n, calls, reached(probabilities(Array<number>(n).fill(1)), calls)]).toEqual([n, calls, n]);
    expect(reached(probabilities([1, 2, 3]), 2)).toBe(3);
    // What VPP did with the weights as they were (1 each, two draws per session), and with 255
    // each (the prefixes wrap).
    expect(reached([1, 1, 1, 1], 2)).toBeLessThan(4);
    expect(reached([255, 255, 255, 255], 2)).toBe(1);
  });

  it("derives the veth form's host MAC from the key: stable, locally administered unicast, never VPP's", () => {
    const a = hostVethMac('pod-interface/default/web/eth0');
    expect(a).toMatch(/^06:6e:6c(:[0-9a-f]{2}){3}$/);
    expect(hostVethMac('pod-interface/default/web/eth0')).toBe(a);
    expect(hostVethMac('pod-interface/default/web/net1')).not.toBe(a);
    expect(a).not.toBe(AF_PACKET_MAC);
    // Bit 1 of the first byte (locally administered) set, bit 0 (group) clear, for both.
    for (const mac of [a, AF_PACKET_MAC]) expect(parseInt(mac.slice(0, 2), 16) & 3).toBe(2);
  });
});
