import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { CniReply__Output } from '../proto/gen/netloom/cni/v1/CniReply.ts';
import { runShim, type AgentPort } from './shim.ts';

const RESULT: CniReply__Output = {
  result: {
    interfaces: [
      { name: 'nl1a2b3c4d5e6f', mac: 'aa:bb:cc:00:00:01', mtu: 1450, sandbox: '' },
      { name: 'eth0', mac: '0a:58:0a:01:01:05', mtu: 1450, sandbox: '/run/netns/p1' },
    ],
    ips: [{ address: '10.1.1.5/32', gateway: '169.254.1.1', interface: 1 }],
    routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1', mtu: 0, priority: 0, table: 0, scope: '' }],
    dns: null,
  },
  error: null,
};

function fakeAgent(reply: CniReply__Output = RESULT) {
  const calls: string[] = [];
  const port: AgentPort = {
    add: async (r) => (calls.push(`add ${r.containerId} ${r.podNamespace}/${r.podName}`), reply),
    del: async (r) => (calls.push(`del ${r.containerId}`), reply),
    check: async (r) => (calls.push(`check ${r.containerId}`), reply),
    status: async () => (calls.push('status'), reply),
    gc: async (r) => (calls.push(`gc ${r.validAttachments?.map((a) => a.containerId).join(',')}`), reply),
    close: () => undefined,
  };
  return { calls, connect: async () => port };
}

const conf = (extra: object = {}, version = '1.0.0') =>
  JSON.stringify({ cniVersion: version, name: 'k8s-pod-network', type: 'netloom', ...extra });
const addEnv = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/run/netns/p1',
  CNI_IFNAME: 'eth0',
  CNI_ARGS:
    'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=u1',
  CNI_PATH: '/opt/cni/bin',
};

describe('runShim', () => {
  it('answers VERSION without the agent', async () => {
    const a = fakeAgent();
    const out = await runShim({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}', a.connect);
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '0.4.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
    expect(a.calls).toEqual([]);
  });

  it('forwards ADD with the pod identity and prints a 1.0.0 result', async () => {
    const a = fakeAgent();
    const out = await runShim(addEnv, conf(), a.connect);
    expect(out.exitCode).toBe(0);
    expect(a.calls).toEqual(['add abc123 default/web-0']);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'nl1a2b3c4d5e6f', mac: 'aa:bb:cc:00:00:01', sandbox: '' },
        { name: 'eth0', mac: '0a:58:0a:01:01:05', sandbox: '/run/netns/p1' },
      ],
      ips: [{ address: '10.1.1.5/32', gateway: '169.254.1.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      dns: {},
    });
  });

  it.each([
    ['0.3.1', { version: '4' }, false],
    ['0.4.0', { version: '4' }, false],
    ['1.1.0', {}, true],
  ])('shapes the result for cniVersion %s', async (version, ipExtra, mtu) => {
    const out = await runShim(addEnv, conf({}, version), fakeAgent().connect);
    const res = JSON.parse(out.stdout) as {
      cniVersion: string;
      ips: object[];
      interfaces: { mtu?: number }[];
    };
    expect(res.cniVersion).toBe(version);
    expect(res.ips[0]).toEqual({ ...ipExtra, address: '10.1.1.5/32', gateway: '169.254.1.1', interface: 1 });
    expect(res.interfaces[0]!.mtu).toBe(mtu ? 1450 : undefined);
  });

  it('passes the agent error through with its code', async () => {
    const a = fakeAgent({
      result: null,
      error: { code: 107, msg: 'pod subnet 10.1.1.0/24 is full', details: '253 addresses in use' },
    });
    const out = await runShim(addEnv, conf(), a.connect);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '1.0.0',
      code: 107,
      msg: 'pod subnet 10.1.1.0/24 is full',
      details: '253 addresses in use',
    });
  });

  it('maps an unreachable agent to 11 on ADD/DEL and 50 on STATUS', async () => {
    const down = async (): Promise<AgentPort> => {
      throw new Error('connect ENOENT /run/netloom/cni.sock');
    };
    expect(JSON.parse((await runShim(addEnv, conf(), down)).stdout).code).toBe(11);
    expect(JSON.parse((await runShim({ ...addEnv, CNI_COMMAND: 'DEL' }, conf(), down)).stdout).code).toBe(11);
    expect(JSON.parse((await runShim({ CNI_COMMAND: 'STATUS' }, conf({}, '1.1.0'), down)).stdout).code).toBe(
      50,
    );
  });

  it('accepts DEL without a netns, and prints nothing on success', async () => {
    const a = fakeAgent({ result: null, error: null });
    const out = await runShim(
      { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'abc123', CNI_IFNAME: 'eth0' },
      conf(),
      a.connect,
    );
    expect(out).toEqual({ stdout: '', exitCode: 0 });
    expect(a.calls).toEqual(['del abc123']);
  });

  it('sends GC the valid attachments under either spelling', async () => {
    for (const field of ['cni.dev/valid-attachments', 'cni.dev/attachments']) {
      const a = fakeAgent({ result: null, error: null });
      const out = await runShim(
        { CNI_COMMAND: 'GC' },
        conf(
          {
            [field]: [
              { containerID: 'c1', ifname: 'eth0' },
              { containerID: 'c2', ifname: 'eth0' },
            ],
          },
          '1.1.0',
        ),
        a.connect,
      );
      expect(out.exitCode).toBe(0);
      expect(a.calls).toEqual(['gc c1,c2']);
    }
  });

  it.each([
    ['bad JSON', addEnv, '{"cniVersion":', 6],
    ['not an object', addEnv, '[1]', 6],
    ['no cniVersion', addEnv, '{"name":"n","type":"netloom"}', 7],
    ['unsupported version', addEnv, conf({}, '0.2.0'), 1],
    ['GC before 1.1.0', { CNI_COMMAND: 'GC' }, conf({}, '1.0.0'), 1],
    ['CHECK on 0.3.1', { ...addEnv, CNI_COMMAND: 'CHECK' }, conf({}, '0.3.1'), 1],
    ['wrong type of name', addEnv, JSON.stringify({ cniVersion: '1.0.0', name: 5, type: 'netloom' }), 7],
    ['relative agentSocket', addEnv, conf({ agentSocket: 'cni.sock' }), 7],
    ['huge timeout', addEnv, conf({ timeoutSeconds: 1e9 }), 7],
    ['prevResult on ADD', addEnv, conf({ prevResult: { ips: [] } }), 7],
    ['no command', { ...addEnv, CNI_COMMAND: undefined }, conf(), 4],
    ['unknown command', { ...addEnv, CNI_COMMAND: 'ATTACH' }, conf(), 4],
    ['no container id', { ...addEnv, CNI_CONTAINERID: undefined }, conf(), 4],
    ['odd container id', { ...addEnv, CNI_CONTAINERID: '-x;rm' }, conf(), 4],
    ['no netns on ADD', { ...addEnv, CNI_NETNS: undefined }, conf(), 4],
    ['relative netns', { ...addEnv, CNI_NETNS: 'netns/p1' }, conf(), 4],
    ['long ifname', { ...addEnv, CNI_IFNAME: 'a-very-long-interface' }, conf(), 4],
    ['malformed CNI_ARGS', { ...addEnv, CNI_ARGS: 'K8S_POD_NAME' }, conf(), 4],
  ])('rejects %s with code %i and never calls the agent', async (_what, env, stdin, code) => {
    const a = fakeAgent();
    const out = await runShim(env, stdin, a.connect);
    expect(out.exitCode).not.toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ code, msg: expect.any(String) });
    expect(a.calls).toEqual([]);
  });

  it('fuzz: any environment and stdin give a result or valid error JSON, never a throw', async () => {
    const envVal = fc.oneof(
      fc.constant(undefined),
      fc.string(),
      fc.constantFrom('ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION', 'eth0', '/run/netns/x', 'abc'),
    );
    const stdin = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .record(
          {
            cniVersion: fc.oneof(fc.constantFrom('0.3.1', '1.0.0', '1.1.0', '9.9'), fc.anything()),
            name: fc.anything(),
            type: fc.anything(),
            timeoutSeconds: fc.anything(),
            agentSocket: fc.anything(),
            prevResult: fc.anything(),
            'cni.dev/valid-attachments': fc.anything(),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
    );
    let outcomes = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          CNI_COMMAND: envVal,
          CNI_CONTAINERID: envVal,
          CNI_NETNS: envVal,
          CNI_IFNAME: envVal,
          CNI_ARGS: envVal,
        }),
        stdin,
        async (env, input) => {
          const out = await runShim(env, input, fakeAgent().connect);
          outcomes++;
          if (out.exitCode === 0) return;
          const body = JSON.parse(out.stdout) as { code: unknown; msg: unknown; cniVersion: unknown };
          expect(typeof body.code).toBe('number');
          expect(typeof body.msg).toBe('string');
          expect(typeof body.cniVersion).toBe('string');
        },
      ),
      { numRuns: 5000 },
    );
    expect(outcomes).toBe(5000);
  });
});
