import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cniEnv,
  CniPluginError,
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
    runner: new CniRunner({
      cniPath: [join(dir, 'none'), dir],
      exec: (path, env, stdin) => {
        const c = {
          plugin: path.split('/').pop()!,
          env,
          stdin: JSON.parse(stdin) as Record<string, unknown>,
        };
        calls.push(c);
        return Promise.resolve(answer(c));
      },
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
      runtimeConfig: { portMappings: rt.capabilityArgs?.['portMappings'] },
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
    const result = await r.add(list, rt);
    expect(calls.map((c) => [c.plugin, c.env['CNI_COMMAND']])).toEqual([
      ['netloom', 'ADD'],
      ['portmap', 'ADD'],
    ]);
    expect(calls[1]!.stdin['prevResult']).toMatchObject({ from: 'netloom' });
    expect(result.from).toBe('portmap');
    calls.length = 0;
    await r.del(list, rt, result);
    expect(calls.map((c) => [c.plugin, c.env['CNI_COMMAND']])).toEqual([
      ['portmap', 'DEL'],
      ['netloom', 'DEL'],
    ]);
    expect(calls.every((c) => (c.stdin['prevResult'] as { from: string }).from === 'portmap')).toBe(true);
  });

  it('remembers the ADD result for CHECK (in order) and DEL when the caller keeps none', async () => {
    const { runner: r, calls } = runner((c) => ({
      code: 0,
      stdout: c.env['CNI_COMMAND'] === 'ADD' ? JSON.stringify({ cniVersion: '1.0.0', from: c.plugin }) : '',
      stderr: '',
    }));
    await r.add(list, rt);
    calls.length = 0;
    await r.check(list, rt);
    await r.del(list, rt);
    expect(
      calls.map((c) => [c.plugin, c.env['CNI_COMMAND'], (c.stdin['prevResult'] as { from: string }).from]),
    ).toEqual([
      ['netloom', 'CHECK', 'portmap'],
      ['portmap', 'CHECK', 'portmap'],
      ['portmap', 'DEL', 'portmap'],
      ['netloom', 'DEL', 'portmap'],
    ]);
    // Forgotten after DEL: a second DEL (idempotent for the plugins) goes without prevResult.
    calls.length = 0;
    await r.del(list, rt);
    expect(calls.map((c) => c.stdin['prevResult'])).toEqual([undefined, undefined]);
  });

  it("surfaces the plugin's error JSON (code and message) and stops the chain", async () => {
    const { runner: r, calls } = runner(() => ({
      code: 1,
      stdout: JSON.stringify({ cniVersion: '1.0.0', code: 11, msg: 'agent down', details: 'ENOENT' }),
      stderr: '',
    }));
    const err = await r.add(list, rt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    expect((err as CniPluginError).cniCode).toBe(11);
    expect((err as CniPluginError).message).toContain('agent down: ENOENT');
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
    await r.status(list);
    await r.gc(list, [{ containerID: 'c1', ifname: 'eth0' }]);
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
    const old = new CniRunner({
      cniPath: [dir],
      exec: () => Promise.resolve({ code: 1, stdout: '', stderr: 'no' }),
    });
    await old.status({ ...list, cniVersions: undefined });
    expect(calls).toHaveLength(0);
  });

  it('names a plugin it cannot find', async () => {
    const r = new CniRunner({
      cniPath: [dir],
      exec: () => Promise.resolve({ code: 0, stdout: '{}', stderr: '' }),
    });
    await expect(r.add({ ...list, plugins: [{ type: 'nosuch' }] }, rt)).rejects.toThrow(
      /plugin nosuch not found/,
    );
  });
});

describe('plugins as processes', () => {
  it('runs a plugin with the CNI variables and its config on stdin, and reads its error JSON', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'netloom-lab-cni-exec-'));
    writeFileSync(
      join(bin, 'echoer'),
      '#!/bin/sh\nconf=$(cat)\nif [ "$CNI_COMMAND" = DEL ]; then echo \'{"code":7,"msg":"no"}\'; exit 1; fi\n' +
        'printf \'{"cniVersion":"1.0.0","cmd":"%s","ifname":"%s","conf":%s}\' "$CNI_COMMAND" "$CNI_IFNAME" "$conf"\n',
      { mode: 0o755 },
    );
    const r = new CniRunner({ cniPath: [bin] });
    const one: ConfList = { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'echoer', x: 1 }] };
    const result = await r.add(one, rt);
    expect(result).toMatchObject({ cmd: 'ADD', ifname: 'eth0', conf: { type: 'echoer', x: 1, name: 'n' } });
    const err = await r.del(one, rt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    expect(err).toMatchObject({ plugin: 'echoer', command: 'DEL', cniCode: 7, exitCode: 1 });
  });
});
