import { describe, expect, it } from 'vitest';
import { cniArgsOf, invocationProblem, pluginEnv, type InvocationParams } from './invocation.ts';

const params: InvocationParams = {
  command: 'ADD',
  containerId: 'abc123',
  netns: '/var/run/netns/cni-1234',
  ifname: 'net1',
  binDirs: ['/opt/cni/bin', '/usr/lib/cni'],
  pod: { namespace: 'default', name: 'web-0', uid: '6f1e2c1a-3b4d-4e5f-8a9b-0c1d2e3f4a5b' },
};

describe('CNI_ARGS', () => {
  it('is what containerd and CRI-O pass for a pod', () => {
    expect(cniArgsOf(params.pod, 'abc123')).toBe(
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=6f1e2c1a-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
    );
  });

  it('leaves out K8S_POD_UID when it is unknown', () => {
    expect(cniArgsOf({ ...params.pod, uid: '' }, 'c')).toBe(
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=c',
    );
  });
});

describe('pluginEnv', () => {
  it('is the base environment without its CNI_* plus the call’s own', () => {
    const base = {
      PATH: '/usr/bin',
      HOME: '/root',
      CNI_COMMAND: 'VERSION',
      CNI_NETNS: '/elsewhere',
      CNI_X: '1',
    };
    expect(pluginEnv(base, params)).toEqual({
      PATH: '/usr/bin',
      HOME: '/root',
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'abc123',
      CNI_NETNS: '/var/run/netns/cni-1234',
      CNI_IFNAME: 'net1',
      CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
      CNI_ARGS: cniArgsOf(params.pod, 'abc123'),
    });
  });

  it('leaves CNI_NETNS out for a DEL without a namespace', () => {
    const env = pluginEnv({ CNI_NETNS: '/stale' }, { ...params, command: 'DEL', netns: '' });
    expect(env).not.toHaveProperty('CNI_NETNS');
    expect(env['CNI_COMMAND']).toBe('DEL');
  });
});

describe('invocationProblem', () => {
  it('takes a well-formed request, and a DEL without netns', () => {
    expect(invocationProblem(params)).toBeUndefined();
    expect(invocationProblem({ ...params, command: 'DEL', netns: '' })).toBeUndefined();
    expect(invocationProblem({ ...params, pod: { ...params.pod, uid: '' } })).toBeUndefined();
  });

  it.each<[Partial<InvocationParams>, string]>([
    [{ containerId: '' }, 'containerId'],
    [{ containerId: '-abc' }, 'containerId'],
    [{ containerId: 'a;b' }, 'containerId'],
    [{ ifname: '' }, 'ifname'],
    [{ ifname: 'a/b' }, 'ifname'],
    [{ ifname: 'abcdefghijklmnop' }, 'ifname'],
    [{ netns: '' }, 'netns'],
    [{ command: 'CHECK', netns: '' }, 'netns'],
    [{ netns: 'relative/path' }, 'netns'],
    [{ netns: '/run/netns/../x' }, 'netns'],
    [{ binDirs: [] }, 'binDirs'],
    [{ binDirs: ['opt/cni/bin'] }, 'binDirs'],
    [{ binDirs: ['/opt/cni/bin:/evil'] }, 'binDirs'],
    [{ pod: { namespace: 'a;K8S_POD_NAME=x', name: 'p', uid: '' } }, 'pod.namespace'],
    [{ pod: { namespace: 'ns', name: 'p=q', uid: '' } }, 'pod.name'],
    [{ pod: { namespace: 'ns', name: '', uid: '' } }, 'pod.name'],
    [{ pod: { namespace: 'ns', name: 'p', uid: 'u;IP=1.2.3.4' } }, 'pod.uid'],
  ])('refuses %j (field %s)', (change, field) => {
    const problem = invocationProblem({ ...params, ...change });
    expect(problem?.[0]).toBe(field);
    expect(problem?.[1]).toBeTruthy();
  });
});
