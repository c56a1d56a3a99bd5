import { describe, expect, it } from 'vitest';
import { InvalidInterfaceError } from './errors.ts';
import { validateInterfaceName } from './validate.ts';

describe('validateInterfaceName', () => {
  it.each(['eth0', 'enp0s3', 'ens1f0.100', 'veth_a-1', 'x'.repeat(15)])('accepts %s', (n) => {
    expect(validateInterfaceName(n)).toBe(n);
  });

  it.each([
    '',
    'lo',
    'eth0; reboot',
    'a b',
    'a/b',
    'eth0\nlink del x',
    '../x',
    '.',
    'x'.repeat(16),
    'eth0:1',
    'é0',
  ])('rejects %j', (n) => {
    expect(() => validateInterfaceName(n)).toThrow(InvalidInterfaceError);
  });
});
