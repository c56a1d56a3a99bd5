import { describe, expect, it } from 'vitest';
import { overlayMac, overlayNextHop, parseOverlayMac, podMac, normalizeDst } from './naming.ts';

describe('derived names and addresses', () => {
  it('encodes VNI and node ID in the overlay MAC, and decodes them', () => {
    expect(overlayMac(10, 3)).toBe('02:00:00:0a:00:03');
    expect(overlayMac(0xabcdef, 0x1234)).toBe('02:ab:cd:ef:12:34');
    expect(parseOverlayMac('02:ab:cd:ef:12:34')).toEqual({ vni: 0xabcdef, id: 0x1234 });
    expect(parseOverlayMac('ee:ee:ee:ee:ee:ee')).toBeUndefined();
  });

  it('derives distinct next hops per node ID', () => {
    expect(overlayNextHop(1)).toBe('169.254.128.1');
    expect(overlayNextHop(258)).toBe('169.254.129.2');
    expect(new Set([1, 2, 255, 256, 0x7fff].map(overlayNextHop)).size).toBe(5);
  });

  it('derives pod MACs from addresses and normalises kernel destinations', () => {
    expect(podMac('10.1.3.5/32')).toBe('0a:58:0a:01:03:05');
    expect(podMac('fd00::1:2/128')).toBe('0a:58:00:01:00:02');
    expect(normalizeDst('10.1.3.5', false)).toBe('10.1.3.5/32');
    expect(normalizeDst('default', false)).toBe('0.0.0.0/0');
    expect(normalizeDst('fd00::/64', true)).toBe('fd00::/64');
  });
});
