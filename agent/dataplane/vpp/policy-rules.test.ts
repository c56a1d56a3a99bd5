import { describe, expect, it } from 'vitest';
import type { PodPolicy } from '../../items/values.ts';
import { ACL_DENY, ACL_PERMIT_REFLECT } from './calls/acl.ts';
import { compileDirection } from './policy-rules.ts';

describe('compileDirection', () => {
  const base: PodPolicy = {
    namespace: 'ns',
    pod: 'p',
    interface: 'pod-interface/ns/p/eth0',
    podIps: ['10.1.1.5'],
    ingress: { rules: [], default: 'allow' },
    egress: { rules: [], default: 'deny' },
  };

  it('ends each direction with its default for IPv4 and IPv6', () => {
    expect(compileDirection(base, 'ingress').map((r) => [r.action, r.src, r.proto])).toEqual([
      [ACL_PERMIT_REFLECT, '0.0.0.0/0', 0],
      [ACL_PERMIT_REFLECT, '::/0', 0],
    ]);
    expect(compileDirection(base, 'egress').every((r) => r.action === ACL_DENY)).toBe(true);
  });

  it('puts peers on the source for ingress and on the destination for egress; ports without protocol mean TCP, UDP and SCTP', () => {
    const p: PodPolicy = {
      ...base,
      ingress: {
        rules: [{ action: 'allow', peers: ['10.1.0.0/16'], except: [], ports: [{ port: 53, endPort: 0 }] }],
        default: 'deny',
      },
      egress: {
        rules: [{ action: 'deny', protocol: 'ICMP', peers: ['fd00::/8'], except: [], ports: [] }],
        default: 'allow',
      },
    };
    const ingress = compileDirection(p, 'ingress');
    expect(ingress.slice(0, 3).map((r) => [r.src, r.dst, r.proto, r.dstPorts])).toEqual([
      ['10.1.0.0/16', '0.0.0.0/0', 6, [53, 53]],
      ['10.1.0.0/16', '0.0.0.0/0', 17, [53, 53]],
      ['10.1.0.0/16', '0.0.0.0/0', 132, [53, 53]],
    ]);
    expect(compileDirection(p, 'egress')[0]).toEqual({
      action: ACL_DENY,
      src: '::/0',
      dst: 'fd00::/8',
      proto: 58,
      srcPorts: [0, 255],
      dstPorts: [0, 255],
    });
  });
});
