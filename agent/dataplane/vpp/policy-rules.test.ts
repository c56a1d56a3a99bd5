import { describe, expect, it } from 'vitest';
import type { PodPolicy } from '../../items/values.ts';
import { ACL_DENY, ACL_PERMIT } from './calls/acl.ts';
import { compileDirection, type PolicyEnv } from './policy-rules.ts';

const env: PolicyEnv = { members: () => [], nodeAddresses: ['10.1.1.1'] };
const base: PodPolicy = {
  namespace: 'ns',
  pod: 'p',
  interface: 'pod-interface/ns/p/eth0',
  podIps: ['10.1.1.5'],
  ingress: { isolated: false, rules: [] },
  egress: { isolated: true, rules: [] },
};

describe('compileDirection', () => {
  it('permits everything when not isolated, denies everything when isolated without rules', () => {
    expect(compileDirection(base, 'ingress', env).map((r) => [r.action, r.src])).toEqual([
      [ACL_PERMIT + 1, '0.0.0.0/0'],
      [ACL_PERMIT + 1, '::/0'],
    ]);
    expect(compileDirection(base, 'egress', env).map((r) => [r.action, r.dst])).toEqual([
      [ACL_DENY, '0.0.0.0/0'],
      [ACL_DENY, '::/0'],
    ]);
  });
});
