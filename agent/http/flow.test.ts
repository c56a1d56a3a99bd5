import { describe, expect, it } from 'vitest';
import { FlowError, parseFlow } from './flow.ts';

const of = (q: Record<string, string>) => parseFlow((n) => q[n]);

describe('parseFlow', () => {
  it('takes pods by namespace/name and addresses, protocol default TCP, viaService', () => {
    expect(of({ from: 'x/a', to: '10.1.2.7', port: '80' })).toEqual({
      from: { pod: 'x/a' },
      to: { ip: '10.1.2.7' },
      protocol: 'TCP',
      port: 80,
    });
    expect(of({ from: 'fd00::1', to: 'y/b', port: '53', protocol: 'udp', viaService: 'true' })).toEqual({
      from: { ip: 'fd00::1' },
      to: { pod: 'y/b' },
      protocol: 'UDP',
      port: 53,
      viaService: true,
    });
  });

  it('refuses what it cannot judge, naming the field', () => {
    expect(() => of({ to: 'y/b', port: '80' })).toThrow(/from is missing/);
    expect(() => of({ from: 'x', to: 'y/b', port: '80' })).toThrow(/from "x" is neither/);
    expect(() => of({ from: 'x/a', to: 'y/b', port: '0' })).toThrow(FlowError);
    expect(() => of({ from: 'x/a', to: 'y/b', port: '80', protocol: 'ICMP' })).toThrow(/TCP, UDP or SCTP/);
  });
});
