// The container ID, interface name and netns path rules, and that the shim's environment check
// and the agent's request check refuse exactly the same inputs (one rule, two callers).
import { describe, expect, it } from 'vitest';
import { identify } from '../agent/cni-server/request.ts';
import type { CniRequest__Output } from '../proto/gen/netloom/cni/v1/CniRequest.ts';
import { parseEnv } from './env.ts';
import { CniCode, CniError } from './errors.ts';
import { containerIdProblem, ifnameProblem, netnsPathProblem } from './validate.ts';

const IFNAMES_OK = ['eth0', 'net1', 'lo', 'x', 'a.b', 'a_b-c', '...', 'a'.repeat(15)];
const IFNAMES_BAD = [
  '',
  '.',
  '..',
  'a/b',
  'a:b',
  'a b',
  'eth0\n',
  'a\tb',
  'a'.repeat(16),
  'eth#0',
  'é',
  '"x"',
];
const IDS_OK = ['c1', 'abc123', 'A.b_c-d', '0'.repeat(64)];
const IDS_BAD = ['', '-x', '.x', '_x', 'x y', 'x;rm', 'x/y', 'x\ny'];
const NETNS_OK = ['/run/netns/cni-1234-abcd', '/var/run/netns/x', '/proc/123/ns/net', '/a/b@c:d+e=f,g~h%i'];
const NETNS_BAD = [
  '',
  'relative/ns',
  '/run/netns/a\nlink del eth0',
  '/run/netns/a b',
  '/run/netns/a\tb',
  '/run/netns/a#b',
  '/run/netns/"a"',
  "/run/netns/'a'",
  '/run/netns/a\\b',
  '/run/netns/a$(x)',
  '/run/netns/a\u0000b',
  '/run/netns/../../proc/1/ns/net',
  '/run/netns/./x',
  '/run/netns/..',
  '/' + 'a'.repeat(4095),
];

describe('CNI name rules', () => {
  it.each(IFNAMES_OK)('interface name %j is fine', (n) => expect(ifnameProblem(n)).toBeUndefined());
  it.each(IFNAMES_BAD)('interface name %j is refused', (n) =>
    expect(ifnameProblem(n)).toEqual(expect.any(String)),
  );
  it.each(IDS_OK)('container ID %j is fine', (id) => expect(containerIdProblem(id)).toBeUndefined());
  it.each(IDS_BAD)('container ID %j is refused', (id) =>
    expect(containerIdProblem(id)).toEqual(expect.any(String)),
  );
  it.each(NETNS_OK)('netns path %j is fine', (p) => expect(netnsPathProblem(p)).toBeUndefined());
  it.each(NETNS_BAD)('netns path %j is refused', (p) =>
    expect(netnsPathProblem(p)).toEqual(expect.any(String)),
  );
});

describe('shim and agent agree', () => {
  const request = (over: Partial<CniRequest__Output>): CniRequest__Output => ({
    containerId: 'c1',
    netns: '/run/netns/does-not-exist-here',
    ifname: 'eth0',
    cniArgs: '',
    podNamespace: '',
    podName: '',
    podUid: '',
    infraContainerId: '',
    cniVersion: '1.1.0',
    networkConfig: '{}',
    ...over,
  });
  /** The code each side answers, or 0 for accepted. */
  const shim = (containerId: string, ifname: string, netns: string): number => {
    try {
      parseEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: containerId, CNI_IFNAME: ifname, CNI_NETNS: netns });
      return 0;
    } catch (err) {
      return (err as CniError).code;
    }
  };
  const agent = (containerId: string, ifname: string, netns: string): number => {
    try {
      identify(request({ containerId, ifname, netns }), { needNetns: true });
      return 0;
    } catch (err) {
      return (err as CniError).code;
    }
  };
  const cases: [string, string, string][] = [
    ...IFNAMES_OK.map((n): [string, string, string] => ['c1', n, '/run/netns/x']),
    ...IFNAMES_BAD.filter((n) => n !== '').map((n): [string, string, string] => ['c1', n, '/run/netns/x']),
    ...IDS_OK.map((id): [string, string, string] => [id, 'eth0', '/run/netns/x']),
    ...IDS_BAD.filter((id) => id !== '').map((id): [string, string, string] => [id, 'eth0', '/run/netns/x']),
    ...NETNS_BAD.filter((p) => p !== '').map((p): [string, string, string] => ['c1', 'eth0', p]),
  ];
  it.each(cases)('container %j, interface %j, netns %j', (id, ifname, netns) => {
    const s = shim(id, ifname, netns);
    expect([0, CniCode.InvalidEnvironment]).toContain(s);
    // The path does not exist here: the agent's default check leaves that to the data plane.
    expect(agent(id, ifname, netns)).toBe(s);
  });

  it('the agent refuses the host namespace the shim cannot judge, with code 8', () => {
    expect(shim('c1', 'eth0', '/proc/self/ns/net')).toBe(0);
    expect(() => identify(request({ netns: '/proc/self/ns/net' }), { needNetns: true })).toThrow(CniError);
    expect(agent('c1', 'eth0', '/proc/self/ns/net')).toBe(CniCode.InvalidNetns);
    // DEL: a missing namespace is fine, the host's is not.
    expect(() => identify(request({ netns: '/run/netns/gone' }), { needNetns: false })).not.toThrow();
    expect(() => identify(request({ netns: '' }), { needNetns: false })).not.toThrow();
    expect(() => identify(request({ netns: '/proc/self/ns/net' }), { needNetns: false })).toThrow(
      /agent's own network namespace/,
    );
  });
});
