import { describe, expect, it } from 'vitest';
import { PluginError, PluginOutputError, cniErrorOf } from './errors.ts';
import { attachedInterface, canonical, notHonoured, parseResult } from './result.ts';

const inv = { network: 'ns/nad', plugin: 'macvlan', command: 'ADD' };

/** A 1.0.0 result as macvlan + static print it. */
const macvlanResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'net1', mac: 'C2:B0:57:49:47:F1', sandbox: '/run/netns/pod' }],
  ips: [
    { address: '10.1.1.5/24', gateway: '10.1.1.1', interface: 0 },
    { address: '2001:DB8:0:0::5/64', interface: 0 },
  ],
  dns: { nameservers: ['10.1.1.53'], search: ['svc'] },
};

/** bridge + host-local: the bridge, the host veth (no sandbox), the pod side. */
const bridgeResult = {
  cniVersion: '0.4.0',
  interfaces: [
    { name: 'br0', mac: '11:11:11:11:11:11' },
    { name: 'veth1', mac: '22:22:22:22:22:22', sandbox: '' },
    { name: 'net1', mac: '0a:58:0a:02:00:05', sandbox: '/proc/7/ns/net' },
  ],
  ips: [
    { version: '4', address: '10.2.0.5/24', gateway: '10.2.0.1', interface: 2 },
    { version: '4', address: '10.9.9.9/24', interface: 1 },
  ],
  dns: {},
};

describe('parseResult', () => {
  it('takes a result object with a version', () => {
    expect(parseResult(inv, JSON.stringify(macvlanResult))).toEqual(macvlanResult);
  });

  it.each([
    ['', 'printed no result'],
    ['not json', 'not JSON'],
    ['[1]', 'not a result object'],
    ['{"ips": []}', 'no valid cniVersion'],
    ['{"cniVersion": "one"}', 'no valid cniVersion'],
  ])('refuses %j (%s) with a PluginOutputError, code 6', (stdout, text) => {
    let err: unknown;
    try {
      parseResult(inv, stdout);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PluginOutputError);
    expect((err as PluginOutputError).code).toBe(6);
    expect((err as PluginOutputError).message).toContain(text);
    expect((err as PluginOutputError).stdout).toBe(stdout);
  });
});

describe('attachedInterface', () => {
  it('reads the pod interface: its mac, its addresses (canonical, no prefix), dns', () => {
    expect(attachedInterface(macvlanResult, 'net1')).toEqual({
      interface: 'net1',
      ips: ['10.1.1.5', '2001:db8::5'],
      mac: 'c2:b0:57:49:47:f1',
      dns: { nameservers: ['10.1.1.53'], search: ['svc'] },
    });
  });

  it('takes only addresses of the sandboxed interface named ifname, not the host side', () => {
    expect(attachedInterface(bridgeResult, 'net1')).toEqual({
      interface: 'net1',
      ips: ['10.2.0.5'],
      mac: '0a:58:0a:02:00:05',
    });
    // The host veth has no sandbox: asking for its name finds no pod interface.
    expect(attachedInterface(bridgeResult, 'veth1')).toEqual({ interface: 'veth1', ips: [], mac: '' });
  });

  it('counts addresses without an interface index (IPAM-only results)', () => {
    const r = { cniVersion: '0.3.1', ips: [{ address: '10.3.0.7/16' }, { address: 'junk' }, 'junk'] };
    expect(attachedInterface(r, 'net2')).toEqual({ interface: 'net2', ips: ['10.3.0.7'], mac: '' });
  });

  it('reads the old ip4/ip6 shape before 0.3.0', () => {
    const r = {
      cniVersion: '0.2.0',
      ip4: { ip: '10.4.0.2/24', gateway: '10.4.0.1' },
      ip6: { ip: 'fd00::2/64' },
      dns: { domain: 'example' },
    };
    expect(attachedInterface(r, 'net1')).toEqual({
      interface: 'net1',
      ips: ['10.4.0.2', 'fd00::2'],
      mac: '',
      dns: { domain: 'example' },
    });
  });

  it('is empty for a result without interfaces or ips', () => {
    expect(attachedInterface({ cniVersion: '1.1.0' }, 'net1')).toEqual({
      interface: 'net1',
      ips: [],
      mac: '',
    });
  });
});

describe('notHonoured', () => {
  const got = { ips: ['10.1.1.5', '2001:db8::5'], mac: 'c2:b0:57:49:47:f1' };

  it('is satisfied by the same addresses in any text form and the same mac in any case', () => {
    expect(notHonoured({}, got)).toBeUndefined();
    expect(
      notHonoured({ ips: ['2001:DB8:0::5/64', '10.1.1.5/24'], mac: 'C2:B0:57:49:47:F1' }, got),
    ).toBeUndefined();
  });

  it('names the missing addresses and the wrong mac', () => {
    expect(notHonoured({ ips: ['10.1.1.6/24'] }, got)).toEqual({
      field: 'ips',
      requested: ['10.1.1.6'],
      got: got.ips,
    });
    expect(notHonoured({ mac: '02:00:00:00:00:01' }, got)).toEqual({
      field: 'mac',
      requested: ['02:00:00:00:00:01'],
      got: ['c2:b0:57:49:47:f1'],
    });
    expect(notHonoured({ mac: '02:00:00:00:00:01' }, { ips: [], mac: '' })).toMatchObject({ got: [] });
  });

  it('canonical leaves IPv4 alone and compresses IPv6', () => {
    expect(canonical('10.0.0.1')).toBe('10.0.0.1');
    expect(canonical('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
  });
});

describe('plugin errors', () => {
  it('reads the spec error object', () => {
    expect(cniErrorOf('{"cniVersion":"1.0.0","code":7,"msg":"bad master","details":"eth9"}')).toEqual({
      code: 7,
      msg: 'bad master',
      details: 'eth9',
    });
    expect(cniErrorOf('{"code":11}')).toEqual({ code: 11, msg: 'error code 11' });
    expect(cniErrorOf('{"msg":"no code"}')).toBeUndefined();
    expect(cniErrorOf('{"code":"7"}')).toBeUndefined();
    expect(cniErrorOf('panic: boom')).toBeUndefined();
  });

  it('PluginError.parse keeps the plugin’s code, msg and details, and stderr', () => {
    const e = PluginError.parse(inv, {
      stdout: '{"code":7,"msg":"failed to find master","details":"eth9"}',
      stderr: 'log line',
      exitCode: 1,
    });
    expect(e).toMatchObject({
      code: 7,
      pluginMessage: 'failed to find master',
      details: 'eth9',
      stderr: 'log line',
      exitCode: 1,
      plugin: 'macvlan',
      command: 'ADD',
      network: 'ns/nad',
      retriable: false,
    });
    expect(e.message).toBe('network ns/nad: macvlan ADD: failed to find master');
    expect(
      PluginError.parse(inv, { stdout: '{"code":11,"msg":"busy"}', stderr: '', exitCode: 1 }).retriable,
    ).toBe(true);
  });

  it('PluginError.parse makes 999 of anything else, with the last of stderr', () => {
    const e = PluginError.parse(inv, { stdout: '', stderr: 'a\nb\npanic: x\ngoroutine 1\n', exitCode: 2 });
    expect(e.code).toBe(999);
    expect(e.message).toBe('network ns/nad: macvlan ADD: exited 2: b; panic: x; goroutine 1');
    expect(PluginError.parse(inv, { stdout: '', stderr: '', exitCode: 1 }).message).toContain(
      'exited 1: no output',
    );
  });
});
