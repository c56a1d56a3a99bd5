// The delegation's order, chaining, rollback and error paths, against plugins played by a
// recording process runner (the real binaries run in delegate.integration.test.ts). The plugin
// directory is real: lookup goes through the file system.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNetworkSelections } from '../../lib/netattach/selection.ts';
import { ToolError, type ProcessOptions, type ProcessResult, type ProcessRunner } from '../../lib/iproute.ts';
import { delegateAdd, delegateCheck, delegateDel, type DelegateRequest } from './delegate.ts';
import {
  DelegateConfigError,
  DelegateDelError,
  DelegateError,
  DelegateRequestError,
  NotHonouredError,
  PluginError,
  PluginNotFoundError,
  PluginTimeoutError,
  RollbackFailedError,
} from './errors.ts';

interface Call {
  type: string;
  command: string;
  stdin: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  argv: string[];
}

type Answer = Partial<ProcessResult> | Error;
type Plugin = (call: Call) => Answer;

/** A runner playing the plugins by type, and `ip link show` from a map of pod MACs. */
function fakeRunner(plugins: Record<string, Plugin>, macs: Record<string, string> = {}) {
  const calls: Call[] = [];
  const runner: ProcessRunner = {
    run(cmd: string, args: readonly string[], opts: ProcessOptions = {}): Promise<ProcessResult> {
      const argv = [cmd, ...args];
      const inner = cmd === 'nsenter' ? argv.slice(argv.indexOf('--') + 1) : argv;
      if (inner[0] === 'ip') {
        const mac = macs[inner.at(-1)!];
        return Promise.resolve(
          mac === undefined
            ? { stdout: '', stderr: 'Device does not exist.\n', code: 1 }
            : { stdout: JSON.stringify([{ ifname: inner.at(-1), address: mac }]), stderr: '', code: 0 },
        );
      }
      const type = basename(inner[0]!);
      const env = opts.env ?? {};
      const call: Call = {
        type,
        command: env['CNI_COMMAND'] ?? '',
        stdin: JSON.parse(opts.stdin ?? '{}') as Record<string, unknown>,
        env,
        argv,
      };
      calls.push(call);
      const answer = plugins[type]?.(call) ?? { code: 1, stderr: `no fake for ${type}` };
      if (answer instanceof Error) return Promise.reject(answer);
      return Promise.resolve({ stdout: '', stderr: '', code: 0, ...answer });
    },
  };
  return { runner, calls };
}

/** A plugin that adds `ifname` with `address` (and a MAC) on ADD and passes prevResult on. */
const ipamPlugin =
  (address: string, mac = '0a:00:00:00:00:01'): Plugin =>
  (call) => {
    if (call.command !== 'ADD') return {};
    const ifname = call.env['CNI_IFNAME']!;
    return {
      stdout: JSON.stringify({
        cniVersion: call.stdin['cniVersion'],
        interfaces: [{ name: ifname, mac, sandbox: call.env['CNI_NETNS'] }],
        ips: [{ address, interface: 0 }],
      }),
    };
  };

/** A chained plugin: on ADD returns prevResult with a mark, so the test sees what it got. */
const passThrough: Plugin = (call) =>
  call.command === 'ADD'
    ? { stdout: JSON.stringify({ ...(call.stdin['prevResult'] as object), touchedBy: call.type }) }
    : {};

const fail =
  (code: number, msg: string): Plugin =>
  () => ({ code: 1, stdout: JSON.stringify({ cniVersion: '1.0.0', code, msg }), stderr: 'plugin log' });

let binDir = '';
let otherDir = '';

beforeAll(() => {
  binDir = mkdtempSync(join(tmpdir(), 'netloom-multinet-bin-'));
  otherDir = mkdtempSync(join(tmpdir(), 'netloom-multinet-bin2-'));
  for (const p of ['macvlan', 'bridge', 'tuning', 'ipvlan', 'slow', 'broken']) {
    writeFileSync(join(binDir, p), '#!/bin/sh\nexit 1\n');
    chmodSync(join(binDir, p), 0o755);
  }
  writeFileSync(join(binDir, 'noexec'), '');
  chmodSync(join(binDir, 'noexec'), 0o644);
  mkdirSync(join(binDir, 'adir'));
  writeFileSync(join(otherDir, 'noexec'), '#!/bin/sh\n');
  chmodSync(join(otherDir, 'noexec'), 0o755);
});

afterAll(() => {
  rmSync(binDir, { recursive: true, force: true });
  rmSync(otherDir, { recursive: true, force: true });
});

const single = JSON.stringify({
  cniVersion: '1.0.0',
  type: 'macvlan',
  master: 'eth0',
  capabilities: { ips: true, mac: true },
  ipam: { type: 'static' },
});

const chain = (version = '1.0.0', extra: object = {}): string =>
  JSON.stringify({
    cniVersion: version,
    name: 'chain',
    plugins: [{ type: 'bridge' }, { type: 'tuning' }],
    ...extra,
  });

function request(runner: ProcessRunner, over: Partial<DelegateRequest> = {}): DelegateRequest {
  return {
    config: single,
    network: { namespace: 'nets', name: 'nad-a' },
    pod: { namespace: 'default', name: 'web-0', uid: 'uid-1' },
    containerId: 'c0ffee',
    netns: '/run/netns/pod1',
    ifname: 'net1',
    binDirs: [binDir],
    runner,
    ...over,
  };
}

async function rejection(p: Promise<unknown>): Promise<DelegateError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DelegateError);
  return err as DelegateError;
}

describe('delegateAdd', () => {
  it('runs the plugin with the injected config and env, and reads the pod interface back', async () => {
    const { runner, calls } = fakeRunner(
      { macvlan: ipamPlugin('10.1.1.5/24') },
      { net1: '02:AA:BB:CC:DD:EE' },
    );
    const sel = { ips: ['10.1.1.5/24'], mac: '02:aa:bb:cc:dd:ee', cniArgs: { k: 'v' } };
    const res = await delegateAdd(request(runner, { selection: sel }));
    expect(calls).toHaveLength(1);
    const [c] = calls;
    expect(c!.argv).toEqual([join(binDir, 'macvlan')]);
    expect(c!.stdin).toEqual({
      cniVersion: '1.0.0',
      name: 'nad-a',
      type: 'macvlan',
      master: 'eth0',
      capabilities: { ips: true, mac: true },
      ipam: { type: 'static' },
      runtimeConfig: { ips: ['10.1.1.5/24'], mac: '02:aa:bb:cc:dd:ee' },
      args: { cni: { k: 'v', ips: ['10.1.1.5/24'], mac: '02:aa:bb:cc:dd:ee' } },
    });
    expect(c!.env).toMatchObject({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c0ffee',
      CNI_NETNS: '/run/netns/pod1',
      CNI_IFNAME: 'net1',
      CNI_PATH: binDir,
      CNI_ARGS:
        'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=uid-1',
    });
    // The kernel's MAC wins over the result's.
    expect(res.attachment).toEqual({ interface: 'net1', ips: ['10.1.1.5'], mac: '02:aa:bb:cc:dd:ee' });
    expect(res.cniVersion).toBe('1.0.0');
    expect(JSON.parse(res.result)).toMatchObject({ ips: [{ address: '10.1.1.5/24', interface: 0 }] });
  });

  it('takes a NetworkSelection from the annotation parser as it is', async () => {
    const [sel] = parseNetworkSelections(
      '[{"name":"nad-a","ips":["10.1.1.5/24"],"mac":"02:AA:BB:CC:DD:EE","cni-args":{"k":"v"}}]',
      'default',
    );
    const { runner, calls } = fakeRunner(
      { macvlan: ipamPlugin('10.1.1.5/24') },
      { net1: '02:aa:bb:cc:dd:ee' },
    );
    await delegateAdd(request(runner, { selection: sel, ifname: sel!.interface }));
    expect(calls[0]!.stdin['args']).toEqual({
      cni: { k: 'v', ips: ['10.1.1.5/24'], mac: '02:aa:bb:cc:dd:ee' },
    });
  });

  it('runs a list in order, each plugin getting the previous result', async () => {
    const { runner, calls } = fakeRunner({ bridge: ipamPlugin('10.2.0.5/24'), tuning: passThrough });
    const res = await delegateAdd(request(runner, { config: chain() }));
    expect(calls.map((c) => `${c.type} ${c.command}`)).toEqual(['bridge ADD', 'tuning ADD']);
    expect(calls[0]!.stdin).not.toHaveProperty('prevResult');
    expect(calls[1]!.stdin['prevResult']).toMatchObject({ ips: [{ address: '10.2.0.5/24' }] });
    expect(calls.every((c) => c.stdin['name'] === 'chain' && c.stdin['cniVersion'] === '1.0.0')).toBe(true);
    expect(JSON.parse(res.result)).toMatchObject({ touchedBy: 'tuning' });
    // No kernel MAC to read in the fake: the result's stands.
    expect(res.attachment).toEqual({ interface: 'net1', ips: ['10.2.0.5'], mac: '0a:00:00:00:00:01' });
  });

  it('runs the plugins inside runIn when given', async () => {
    const { runner, calls } = fakeRunner({ macvlan: ipamPlugin('10.1.1.5/24') });
    await delegateAdd(request(runner, { runIn: 'node-ns' }));
    expect(calls[0]!.argv).toEqual(['nsenter', '--net=/run/netns/node-ns', '--', join(binDir, 'macvlan')]);
  });

  it('after a failing plugin, DELs the whole list in reverse with the last result, and throws the plugin’s error', async () => {
    const { runner, calls } = fakeRunner({
      bridge: ipamPlugin('10.2.0.5/24'),
      tuning: (c) => (c.command === 'ADD' ? fail(7, 'bad sysctl')(c) : {}),
    });
    const err = await rejection(delegateAdd(request(runner, { config: chain() })));
    expect(err).toBeInstanceOf(PluginError);
    expect(err).toMatchObject({
      code: 7,
      pluginMessage: 'bad sysctl',
      plugin: 'tuning',
      stderr: 'plugin log',
    });
    expect(calls.map((c) => `${c.type} ${c.command}`)).toEqual([
      'bridge ADD',
      'tuning ADD',
      'tuning DEL',
      'bridge DEL',
    ]);
    for (const del of calls.slice(2))
      expect(del.stdin['prevResult']).toMatchObject({ ips: [{ address: '10.2.0.5/24' }] });
  });

  it('when that DEL fails too, says both and keeps the ADD’s code', async () => {
    const bridge: Plugin = (c) => (c.command === 'ADD' ? fail(11, 'busy')(c) : fail(5, 'cannot delete')(c));
    const { runner } = fakeRunner({ bridge, tuning: passThrough });
    const err = await rejection(delegateAdd(request(runner, { config: chain() })));
    expect(err).toBeInstanceOf(RollbackFailedError);
    expect(err.code).toBe(11);
    expect(err.message).toContain('busy');
    expect(err.message).toContain('cannot delete');
    expect((err as RollbackFailedError).addError).toBeInstanceOf(PluginError);
  });

  it('refuses and deletes an attachment without the requested address', async () => {
    const { runner, calls } = fakeRunner({ macvlan: ipamPlugin('10.1.1.99/24') });
    const err = await rejection(delegateAdd(request(runner, { selection: { ips: ['10.1.1.5/24'] } })));
    expect(err).toBeInstanceOf(NotHonouredError);
    expect(err).toMatchObject({
      code: 2,
      field: 'ips',
      requested: ['10.1.1.5'],
      got: ['10.1.1.99'],
      rolledBack: true,
    });
    expect(calls.map((c) => c.command)).toEqual(['ADD', 'DEL']);
    expect(calls[1]!.stdin['prevResult']).toMatchObject({ ips: [{ address: '10.1.1.99/24' }] });
  });

  it('refuses and deletes an attachment whose interface has another MAC in the kernel', async () => {
    const { runner, calls } = fakeRunner(
      { macvlan: ipamPlugin('10.1.1.5/24', '02:00:00:00:00:09') },
      { net1: '02:00:00:00:00:07' },
    );
    const err = await rejection(delegateAdd(request(runner, { selection: { mac: '02:00:00:00:00:09' } })));
    expect(err).toMatchObject({ field: 'mac', requested: ['02:00:00:00:00:09'], got: ['02:00:00:00:00:07'] });
    expect(calls.map((c) => c.command)).toEqual(['ADD', 'DEL']);
  });

  it('says so when deleting the unwanted attachment fails', async () => {
    const macvlan: Plugin = (c) =>
      c.command === 'ADD' ? ipamPlugin('10.1.1.99/24')(c) : fail(5, 'stuck')(c);
    const { runner } = fakeRunner({ macvlan });
    const err = await rejection(delegateAdd(request(runner, { selection: { ips: ['10.1.1.5/24'] } })));
    expect(err).toMatchObject({ rolledBack: false });
    expect(err.cause).toBeInstanceOf(PluginError);
    expect(err.message).toContain('deleting it again failed');
  });

  it('finds every binary before running any: a missing one fails with nothing run', async () => {
    const { runner, calls } = fakeRunner({ bridge: ipamPlugin('10.2.0.5/24') });
    const config = JSON.stringify({ cniVersion: '1.0.0', plugins: [{ type: 'bridge' }, { type: 'nosuch' }] });
    const err = await rejection(delegateAdd(request(runner, { config })));
    expect(err).toBeInstanceOf(PluginNotFoundError);
    expect(err).toMatchObject({ plugin: 'nosuch', code: 7 });
    expect(calls).toEqual([]);
  });

  it('looks plugins up in order, skipping directories and files that are not executable', async () => {
    const { runner, calls } = fakeRunner({ noexec: ipamPlugin('10.1.1.5/24') });
    const config = JSON.stringify({ cniVersion: '1.0.0', type: 'noexec' });
    await delegateAdd(request(runner, { config, binDirs: [binDir, otherDir] }));
    expect(calls[0]!.argv).toEqual([join(otherDir, 'noexec')]);
    expect(calls[0]!.env['CNI_PATH']).toBe(`${binDir}:${otherDir}`);
    const adir = JSON.stringify({ cniVersion: '1.0.0', type: 'adir' });
    expect(await rejection(delegateAdd(request(runner, { config: adir })))).toBeInstanceOf(
      PluginNotFoundError,
    );
  });

  it('refuses a hostile type and a bad request before running anything', async () => {
    const { runner, calls } = fakeRunner({});
    const hostile = JSON.stringify({ cniVersion: '1.0.0', type: '../../../bin/sh' });
    expect(await rejection(delegateAdd(request(runner, { config: hostile })))).toBeInstanceOf(
      DelegateConfigError,
    );
    const badIf = await rejection(delegateAdd(request(runner, { ifname: 'a:b' })));
    expect(badIf).toBeInstanceOf(DelegateRequestError);
    expect(badIf).toMatchObject({ field: 'ifname', code: 4 });
    expect(calls).toEqual([]);
  });

  it('a plugin past its bound is a retriable PluginTimeoutError (and the list is rolled back)', async () => {
    const slow: Plugin = (c) =>
      c.command === 'ADD'
        ? new ToolError('timed out', { command: 'slow', stderr: 'half', timedOut: true })
        : {};
    const { runner, calls } = fakeRunner({ slow });
    const config = JSON.stringify({ cniVersion: '1.0.0', type: 'slow' });
    const err = await rejection(delegateAdd(request(runner, { config, timeoutMs: 1234 })));
    expect(err).toBeInstanceOf(PluginTimeoutError);
    expect(err).toMatchObject({ code: 11, retriable: true, timeoutMs: 1234, stderr: 'half' });
    expect(calls.map((c) => c.command)).toEqual(['ADD', 'DEL']);
  });

  it('turns anything the runner throws into a DelegateError', async () => {
    const { runner } = fakeRunner({ broken: () => new TypeError('surprise') });
    const config = JSON.stringify({ cniVersion: '1.0.0', type: 'broken' });
    const err = await rejection(delegateAdd(request(runner, { config })));
    expect(err.code).toBe(999);
    expect(err.message).toContain('surprise');
  });

  it('refuses a result that is not one', async () => {
    const { runner } = fakeRunner({ macvlan: (c) => (c.command === 'ADD' ? { stdout: 'ok!' } : {}) });
    const err = await rejection(delegateAdd(request(runner)));
    expect(err.code).toBe(6);
  });
});

describe('delegateDel', () => {
  const stored = JSON.stringify({ cniVersion: '1.0.0', ips: [{ address: '10.2.0.5/24' }] });

  it('runs the list in reverse with the stored result', async () => {
    const { runner, calls } = fakeRunner({ bridge: () => ({}), tuning: () => ({}) });
    await delegateDel(request(runner, { config: chain(), prevResult: stored }));
    expect(calls.map((c) => `${c.type} ${c.command}`)).toEqual(['tuning DEL', 'bridge DEL']);
    for (const c of calls) expect(c.stdin['prevResult']).toEqual(JSON.parse(stored));
  });

  it('passes no prevResult before 0.4.0, nor one that does not parse, and runs without a netns', async () => {
    const { runner, calls } = fakeRunner({ bridge: () => ({}), tuning: () => ({}) });
    await delegateDel(request(runner, { config: chain('0.3.1'), prevResult: stored }));
    await delegateDel(request(runner, { config: chain(), prevResult: '{corrupt', netns: '' }));
    expect(calls.every((c) => !('prevResult' in c.stdin))).toBe(true);
    expect(calls.at(-1)!.env).not.toHaveProperty('CNI_NETNS');
  });

  it('runs every plugin even when one fails, and reports every failure', async () => {
    const { runner, calls } = fakeRunner({ bridge: fail(5, 'b'), tuning: fail(7, 't') });
    const err = await rejection(delegateDel(request(runner, { config: chain(), prevResult: stored })));
    expect(err).toBeInstanceOf(DelegateDelError);
    expect((err as DelegateDelError).errors.map((e) => e.code)).toEqual([7, 5]);
    expect(err.code).toBe(7);
    expect(calls).toHaveLength(2);
  });

  it('one failure is that failure; a missing plugin does not stop the others', async () => {
    const { runner, calls } = fakeRunner({ bridge: () => ({}) });
    const config = JSON.stringify({ cniVersion: '1.0.0', plugins: [{ type: 'bridge' }, { type: 'gone' }] });
    const err = await rejection(delegateDel(request(runner, { config })));
    expect(err).toBeInstanceOf(PluginNotFoundError);
    expect(calls.map((c) => c.type)).toEqual(['bridge']);
  });
});

describe('delegateCheck', () => {
  const stored = JSON.stringify({ cniVersion: '1.0.0', ips: [{ address: '10.2.0.5/24' }] });

  it('runs the list in order with the stored result', async () => {
    const { runner, calls } = fakeRunner({ bridge: () => ({}), tuning: () => ({}) });
    await delegateCheck(request(runner, { config: chain(), prevResult: stored }));
    expect(calls.map((c) => `${c.type} ${c.command}`)).toEqual(['bridge CHECK', 'tuning CHECK']);
    expect(calls[1]!.stdin['prevResult']).toEqual(JSON.parse(stored));
  });

  it('stops at the first failure with the plugin’s error', async () => {
    const { runner, calls } = fakeRunner({ bridge: fail(3, 'no such container'), tuning: () => ({}) });
    const err = await rejection(delegateCheck(request(runner, { config: chain(), prevResult: stored })));
    expect(err).toMatchObject({ code: 3, pluginMessage: 'no such container' });
    expect(calls).toHaveLength(1);
  });

  it('calls nothing with disableCheck', async () => {
    const { runner, calls } = fakeRunner({});
    await delegateCheck(
      request(runner, { config: chain('1.0.0', { disableCheck: true }), prevResult: stored }),
    );
    expect(calls).toEqual([]);
  });

  it('refuses versions without CHECK and a missing stored result', async () => {
    const { runner, calls } = fakeRunner({});
    const old = await rejection(
      delegateCheck(request(runner, { config: chain('0.3.1'), prevResult: stored })),
    );
    expect(old).toBeInstanceOf(DelegateConfigError);
    expect(old).toMatchObject({ field: 'cniVersion' });
    const none = await rejection(delegateCheck(request(runner, { config: chain() })));
    expect(none).toBeInstanceOf(DelegateRequestError);
    expect(none).toMatchObject({ field: 'prevResult' });
    expect(calls).toEqual([]);
  });
});
