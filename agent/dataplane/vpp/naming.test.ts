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

  it('turns weights into u8 relative probabilities, never 0', () => {
    expect(probabilities([1, 3])).toEqual([1, 3]);
    expect(probabilities([0, 2])).toEqual([1, 2]);
    expect(probabilities([1000, 500, 1])).toEqual([255, 128, 1]);
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
