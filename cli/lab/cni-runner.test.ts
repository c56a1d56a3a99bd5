import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cniEnv,
  CniError,
  CniRunner,
  k8sArgs,
  pluginStdin,
  type ConfList,
  type ExecResult,
  type RuntimeConf,
} from './kubelet/cni-runner.ts';

const dir = mkdtempSync(join(tmpdir(), 'netloom-lab-cni-'));
for (const p of ['netloom', 'portmap']) writeFileSync(join(dir, p), '#!/bin/sh\n', { mode: 0o755 });

const list: ConfList = {
  cniVersion: '1.0.0',
  cniVersions: ['0.3.1', '1.0.0', '1.1.0'],
  name: 'netloom',
  plugins: [
    { type: 'netloom', agentSocket: '/s' },
    { type: 'portmap', capabilities: { portMappings: true }, snat: true },
  ],
};
const rt: RuntimeConf = {
  containerId: 'c1',
  netns: '/run/netns/p1',
  ifname: 'eth0',
  args: k8sArgs({ namespace: 'ns', name: 'web-1', uid: 'u-1' }, 'c1'),
  capabilityArgs: {
    portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp', hostIP: '' }],
    bandwidth: { x: 1 },
  },
};

interface Call {
  plugin: string;
  env: Record<string, string>;
  stdin: Record<string, unknown>;
}

function runner(answer: (c: Call) => ExecResult): { runner: CniRunner; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    runner: new CniRunner(list, [join(dir, 'none'), dir], (path, env, stdin) => {
      const c = { plugin: path.split('/').pop()!, env, stdin: JSON.parse(stdin) as Record<string, unknown> };
      calls.push(c);
      return Promise.resolve(answer(c));
    }),
  };
}

describe('CNI chain as a runtime runs it', () => {
  it('passes the kubelet environment: command, container, netns, ifname, K8S_POD_* args, CNI_PATH', () => {
    const env = cniEnv('ADD', rt, ['/a', '/b']);
    expect(env).toEqual({
      CNI_COMMAND: 'ADD',
      CNI_PATH: '/a:/b',
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/run/netns/p1',
      CNI_IFNAME: 'eth0',
      CNI_ARGS:
        'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=u-1',
    });
  });

  it("gives each plugin the list's name and version and only the capabilities it declares", () => {
    expect(pluginStdin(list, list.plugins[0]!, rt)).toEqual({
      type: 'netloom',
      agentSocket: '/s',
      cniVersion: '1.0.0',
      name: 'netloom',
    });
    expect(pluginStdin(list, list.plugins[1]!, rt, { ips: [] })).toEqual({
      type: 'portmap',
      capabilities: { portMappings: true },
      snat: true,
      cniVersion: '1.0.0',
      name: 'netloom',
      prevResult: { ips: [] },
      runtimeConfig: { portMappings: rt.capabilityArgs['portMappings'] },
    });
  });

  it('chains ADD with prevResult and runs DEL in reverse with the cached result', async () => {
    const { runner: r, calls } = runner((c) => ({
      code: 0,
      stdout: JSON.stringify({
        cniVersion: '1.0.0',
        ips: [{ address: `10.1.1.${calls.length}/24` }],
        from: c.plugin,
      }),
      stderr: '',
    }));
    const result = (await r.add(rt)) as { from: string };
    expect(calls.map((c) => [c.plugin, c.env['CNI_COMMAND']])).toEqual([
      ['netloom', 'ADD'],
      ['portmap', 'ADD'],
    ]);
    expect(calls[1]!.stdin['prevResult']).toMatchObject({ from: 'netloom' });
    expect(result.from).toBe('portmap');
    calls.length = 0;
    await r.del(rt, result);
    expect(calls.map((c) => [c.plugin, c.env['CNI_COMMAND']])).toEqual([
      ['portmap', 'DEL'],
      ['netloom', 'DEL'],
    ]);
    expect(calls.every((c) => (c.stdin['prevResult'] as { from: string }).from === 'portmap')).toBe(true);
  });

  it("surfaces the plugin's error JSON (code and message) and stops the chain", async () => {
    const { runner: r, calls } = runner(() => ({
      code: 1,
      stdout: JSON.stringify({ cniVersion: '1.0.0', code: 11, msg: 'agent down', details: 'ENOENT' }),
      stderr: '',
    }));
    const err = await r.add(rt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(11);
    expect((err as CniError).message).toContain('agent down: ENOENT');
    expect(calls).toHaveLength(1);
  });

  it('sends STATUS and GC at 1.1.0 only to plugins that speak it, when the list names 1.1.0', async () => {
    const { runner: r, calls } = runner((c) => {
      if (c.env['CNI_COMMAND'] === 'VERSION') {
        const v = c.plugin === 'netloom' ? ['1.0.0', '1.1.0'] : ['0.4.0', '1.0.0'];
        return { code: 0, stdout: JSON.stringify({ cniVersion: '1.0.0', supportedVersions: v }), stderr: '' };
      }
      return { code: 0, stdout: '', stderr: '' };
    });
    await r.status();
    await r.gc([{ containerID: 'c1', ifname: 'eth0' }]);
    const verbs = calls.filter((c) => c.env['CNI_COMMAND'] !== 'VERSION');
    expect(verbs.map((c) => [c.plugin, c.env['CNI_COMMAND'], c.stdin['cniVersion']])).toEqual([
      ['netloom', 'STATUS', '1.1.0'],
      ['netloom', 'GC', '1.1.0'],
    ]);
    expect(verbs[1]!.stdin['cni.dev/valid-attachments']).toEqual([{ containerID: 'c1', ifname: 'eth0' }]);
    // VERSION is asked once per plugin.
    expect(calls.filter((c) => c.env['CNI_COMMAND'] === 'VERSION')).toHaveLength(2);
  });

  it('sends no STATUS to a list that is below 1.1 and does not name it', async () => {
    const { calls } = runner(() => ({ code: 0, stdout: '', stderr: '' }));
    const old = new CniRunner({ ...list, cniVersions: undefined }, [dir], () =>
      Promise.resolve({ code: 1, stdout: '', stderr: 'no' }),
    );
    await old.status();
    expect(calls).toHaveLength(0);
  });

  it('names a plugin it cannot find', async () => {
    const r = new CniRunner({ ...list, plugins: [{ type: 'nosuch' }] }, [dir], () =>
      Promise.resolve({ code: 0, stdout: '{}', stderr: '' }),
    );
    await expect(r.add(rt)).rejects.toThrow(/plugin nosuch not found/);
  });
});
