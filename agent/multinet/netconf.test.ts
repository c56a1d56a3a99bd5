import { describe, expect, it } from 'vitest';
import { DelegateConfigError } from './errors.ts';
import {
  argsCni,
  capabilityArgs,
  compareVersions,
  hasCheck,
  isLegacyResult,
  parseNetworkConfig,
  pluginStdin,
  pluginTypeProblem,
  type NetworkConfList,
} from './netconf.ts';

const parse = (config: unknown): NetworkConfList =>
  parseNetworkConfig(typeof config === 'string' ? config : JSON.stringify(config), 'ns/nad', 'nad');

function configError(config: unknown): DelegateConfigError {
  try {
    parse(config);
  } catch (err) {
    if (err instanceof DelegateConfigError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('parseNetworkConfig', () => {
  it('reads a single plugin config as a list of one, named after the NAD when unnamed', () => {
    const conf = { cniVersion: '1.0.0', type: 'macvlan', master: 'eth0', ipam: { type: 'static' } };
    expect(parse(conf)).toEqual({ cniVersion: '1.0.0', name: 'nad', disableCheck: false, plugins: [conf] });
    expect(parse({ ...conf, name: 'own' }).name).toBe('own');
  });

  it('reads a conflist: version, name, disableCheck (boolean or libcni string), plugins in order', () => {
    const plugins = [{ type: 'bridge' }, { type: 'tuning' }];
    expect(parse({ cniVersion: '0.4.0', name: 'l', disableCheck: 'true', plugins })).toEqual({
      cniVersion: '0.4.0',
      name: 'l',
      disableCheck: true,
      plugins,
    });
    expect(parse({ cniVersion: '0.4.0', plugins, disableCheck: false })).toMatchObject({
      name: 'nad',
      disableCheck: false,
    });
  });

  it('picks the highest known of cniVersions, else cniVersion', () => {
    const plugins = [{ type: 'bridge' }];
    expect(parse({ cniVersions: ['0.3.1', '1.0.0', '0.4.0'], cniVersion: '0.3.1', plugins }).cniVersion).toBe(
      '1.0.0',
    );
    expect(parse({ cniVersions: ['9.0.0'], cniVersion: '0.4.0', plugins }).cniVersion).toBe('0.4.0');
    expect(parse({ cniVersions: ['1.1.0', '0.2.0'], plugins }).cniVersion).toBe('1.1.0');
  });

  it.each([
    ['{', 'JSON'],
    ['[]', 'JSON'],
    ['"x"', 'JSON'],
    [{ cniVersion: '1.0.0', plugins: [] }, 'plugins'],
    [{ cniVersion: '1.0.0', plugins: {} }, 'plugins'],
    [{ cniVersion: '1.0.0', plugins: ['bridge'] }, 'plugins[0]'],
    [{ cniVersion: '1.0.0', plugins: [{ type: 'bridge' }, {}] }, 'plugins[1]'],
    [{ cniVersion: '1.0.0' }, 'type'],
    [{ cniVersion: '1.0.0', type: '../../bin/sh' }, 'type'],
    [{ cniVersion: '1.0.0', type: '/bin/sh' }, 'type'],
    [{ cniVersion: '1.0.0', plugins: [{ type: '..' }] }, 'plugins[0]'],
    [{ cniVersion: '1.0.0', type: 'a', args: 'x' }, 'args'],
    [{ cniVersion: '1.0.0', plugins: [{ type: 'a', capabilities: [] }] }, 'plugins[0].capabilities'],
    [{ type: 'macvlan' }, 'cniVersion'],
    [{ cniVersion: 1, type: 'macvlan' }, 'cniVersion'],
    [{ cniVersion: 'v1', type: 'macvlan' }, 'cniVersion'],
    [{ cniVersions: '1.0.0', plugins: [{ type: 'a' }] }, 'cniVersions'],
    [{ cniVersion: '1.0.0', name: 5, type: 'a' }, 'name'],
    [{ cniVersion: '1.0.0', name: '', type: 'a' }, 'name'],
    [{ cniVersion: '1.0.0', disableCheck: 'yes', plugins: [{ type: 'a' }] }, 'disableCheck'],
  ])('refuses %j naming %s (code 7)', (config, field) => {
    const err = configError(config);
    expect(err.field).toBe(field);
    expect(err.code).toBe(7);
    expect(err.network).toBe('ns/nad');
    expect(err.message).toContain('network ns/nad: config');
  });
});

describe('pluginTypeProblem', () => {
  it.each(['macvlan', 'host-local', 'sriov', 'whereabouts', 'cilium-cni', 'bond_cni', 'ovs.v2', 'x+y'])(
    'takes %s',
    (t) => expect(pluginTypeProblem(t)).toBeUndefined(),
  );
  it.each([
    undefined,
    5,
    '',
    '/bin/sh',
    '../sh',
    'a/b',
    '..',
    'a..b',
    '.hidden',
    '-x',
    'a b',
    'a\nb',
    'a\0b',
    'x'.repeat(129),
  ])('refuses %j', (t) => expect(pluginTypeProblem(t)).toBeDefined());
});

describe('versions', () => {
  it('orders numerically and knows which have CHECK and which the old result shape', () => {
    expect(compareVersions('0.10.0', '0.4.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0', '1.0.0')).toBe(0);
    expect(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'].map(hasCheck)).toEqual([
      false,
      false,
      false,
      false,
      true,
      true,
      true,
    ]);
    expect(['0.1.0', '0.2.0', '0.3.0', '1.0.0'].map(isLegacyResult)).toEqual([true, true, false, false]);
  });
});

describe('what a plugin gets on stdin', () => {
  const list = parse({
    cniVersion: '1.0.0',
    name: 'list',
    plugins: [
      {
        type: 'macvlan',
        cniVersion: '0.3.1', // libcni overwrites it with the list's
        name: 'other',
        capabilities: { ips: true, mac: true, portMappings: false },
        runtimeConfig: { stale: 1 },
        args: { cni: { keep: 'me', ips: ['1.1.1.1/32'] }, other: { x: 1 } },
      },
      { type: 'tuning', capabilities: { mac: true, bandwidth: true, infinibandGUID: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  const req = {
    ips: ['10.1.1.5/24'],
    mac: 'c2:b0:57:49:47:f1',
    cniArgs: { foo: 'bar', keep: 'overridden' },
    portMappings: [{ hostPort: 80, containerPort: 8080 }],
    bandwidth: { ingressRate: 1 },
    infinibandGuid: 'c2:b0:57:49:47:f1:00:01',
  };

  it('injects version and name, declared capabilities only, args.cni merged with ips and mac winning', () => {
    expect(JSON.parse(pluginStdin(list, 0, req))).toEqual({
      type: 'macvlan',
      cniVersion: '1.0.0',
      name: 'list',
      capabilities: { ips: true, mac: true, portMappings: false },
      runtimeConfig: { ips: ['10.1.1.5/24'], mac: 'c2:b0:57:49:47:f1' },
      args: {
        cni: { keep: 'overridden', foo: 'bar', ips: ['10.1.1.5/24'], mac: 'c2:b0:57:49:47:f1' },
        other: { x: 1 },
      },
    });
  });

  it('passes the previous result as prevResult', () => {
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.1.1.5/24' }] };
    const got = JSON.parse(pluginStdin(list, 1, req, prev));
    expect(got.prevResult).toEqual(prev);
    expect(got.runtimeConfig).toEqual({
      mac: 'c2:b0:57:49:47:f1',
      bandwidth: { ingressRate: 1 },
      infinibandGUID: 'c2:b0:57:49:47:f1:00:01',
    });
    expect(JSON.parse(pluginStdin(list, 2, req)).runtimeConfig).toEqual({
      portMappings: [{ hostPort: 80, containerPort: 8080 }],
    });
  });

  it('leaves the config alone when the pod asked for nothing', () => {
    expect(JSON.parse(pluginStdin(list, 0, {}))).toEqual({
      ...list.plugins[0],
      cniVersion: '1.0.0',
      name: 'list',
    });
    expect(JSON.parse(pluginStdin(list, 2, { portMappings: [] }))).not.toHaveProperty('runtimeConfig');
  });

  it('refuses an index past the list', () => {
    expect(() => pluginStdin(list, 3, {})).toThrow(RangeError);
  });

  it('capabilityArgs and argsCni carry only what was asked', () => {
    expect(capabilityArgs({})).toEqual({});
    expect(capabilityArgs({ ips: [], mac: '', portMappings: [] })).toEqual({});
    expect(capabilityArgs(req)).toEqual({
      ips: req.ips,
      mac: req.mac,
      portMappings: req.portMappings,
      bandwidth: req.bandwidth,
      infinibandGUID: req.infinibandGuid,
    });
    expect(argsCni({ cni: { a: 1 } }, {})).toBeUndefined();
    expect(argsCni(undefined, { cniArgs: { a: 1 } })).toEqual({ a: 1 });
    expect(argsCni({ cni: 'junk' }, { mac: 'c2:b0:57:49:47:f1' })).toEqual({ mac: 'c2:b0:57:49:47:f1' });
  });
});
