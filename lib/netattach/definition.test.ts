import { describe, expect, it } from 'vitest';
import {
  cidrsOverlap,
  defaultNodePrefixLength,
  networkDefinition,
  networkParams,
  type NetworkDefinition,
} from './definition.ts';

const nad = (config: unknown, annotations: Record<string, string> = {}): NetworkDefinition =>
  networkDefinition({
    namespace: 'ns',
    name: 'blue',
    config: typeof config === 'string' ? config : JSON.stringify(config),
    annotations,
  });
const netloom = (extra: object): NetworkDefinition => nad({ cniVersion: '1.0.0', type: 'netloom', ...extra });
const reasonOf = (d: NetworkDefinition): string =>
  d.kind === 'invalid' ? d.reason : `not invalid: ${d.kind}`;

describe('netloom form (spec.config type netloom)', () => {
  it('one subnet, defaults left to the record', () => {
    expect(netloom({ subnet: '10.200.0.0/16' })).toEqual({
      kind: 'netloom',
      subnets: ['10.200.0.0/16'],
      snat: false,
    });
  });

  it('every field', () => {
    expect(
      netloom({
        subnets: ['10.200.0.0/16', '10.201.0.0/24'],
        vni: 5000,
        nodePrefixLength: 28,
        gatewayOffset: 14,
        snat: true,
      }),
    ).toEqual({
      kind: 'netloom',
      subnets: ['10.200.0.0/16', '10.201.0.0/24'],
      vni: 5000,
      nodePrefixLength: 28,
      gatewayOffset: 14,
      snat: true,
    });
  });

  it('a conflist whose first plugin is netloom', () => {
    expect(
      nad({
        cniVersion: '1.0.0',
        name: 'x',
        plugins: [{ type: 'netloom', subnet: '10.5.0.0/16' }, { type: 'bandwidth' }],
      }),
    ).toEqual({ kind: 'netloom', subnets: ['10.5.0.0/16'], snat: false });
  });

  it('vni at both ends of its range', () => {
    expect(netloom({ subnet: '10.5.0.0/16', vni: 1 })).toMatchObject({ vni: 1 });
    expect(netloom({ subnet: '10.5.0.0/16', vni: 16_777_215 })).toMatchObject({ vni: 16_777_215 });
  });

  it('nodePrefixLength and gatewayOffset at their limits', () => {
    expect(netloom({ subnet: '10.5.0.0/29', nodePrefixLength: 30, gatewayOffset: 2 })).toMatchObject({
      nodePrefixLength: 30,
      gatewayOffset: 2,
    });
    expect(netloom({ subnet: '10.5.0.0/16', nodePrefixLength: 17 })).toMatchObject({ nodePrefixLength: 17 });
    expect(netloom({ subnet: '10.0.0.0/8', gatewayOffset: 65_534 })).toMatchObject({ gatewayOffset: 65_534 }); // /16 blocks
    expect(netloom({ subnet: '10.5.0.0/16', gatewayOffset: 254 })).toMatchObject({ gatewayOffset: 254 }); // /24 blocks
  });
});

describe('Contrail form (opencontrail.org/cidr)', () => {
  it('makes any NAD a netloom network, comma list and snat', () => {
    expect(
      nad(
        { cniVersion: '0.3.1', type: 'contrail-k8s-cni' },
        {
          'opencontrail.org/cidr': '10.10.10.0/24, 10.10.20.0/24',
          'opencontrail.org/ip_fabric_snat': 'true',
        },
      ),
    ).toEqual({ kind: 'netloom', subnets: ['10.10.10.0/24', '10.10.20.0/24'], snat: true });
  });

  it('with an empty config, and snat false by default or when "false"', () => {
    expect(nad('', { 'opencontrail.org/cidr': '10.10.10.0/24' })).toEqual({
      kind: 'netloom',
      subnets: ['10.10.10.0/24'],
      snat: false,
    });
    expect(
      nad('', { 'opencontrail.org/cidr': '10.10.10.0/24', 'opencontrail.org/ip_fabric_snat': 'false' }),
    ).toMatchObject({
      snat: false,
    });
  });

  it('even when the config is not JSON (the annotation decides)', () => {
    expect(nad('{not json', { 'opencontrail.org/cidr': '10.10.10.0/24' })).toMatchObject({ kind: 'netloom' });
  });

  it.each([
    [{ 'opencontrail.org/cidr': '' }, 'has an empty entry'],
    [{ 'opencontrail.org/cidr': '10.0.0.0/24,' }, 'has an empty entry'],
    [
      { 'opencontrail.org/cidr': '10.0.0.0/24', 'opencontrail.org/ip_fabric_snat': 'yes' },
      'must be "true" or "false"',
    ],
    [{ 'opencontrail.org/cidr': '10.0.0.1/24' }, 'host bits set; did you mean 10.0.0.0/24?'],
    [{ 'opencontrail.org/cidr': '10.0.0.0/24,10.0.0.128/25' }, '10.0.0.128/25 overlaps 10.0.0.0/24'],
    [{ 'opencontrail.org/cidr': '10.0.0.0/28' }, 'leaves no room for the default per-node block /28'],
  ])('refuses %j: %s', (annotations, reason) => {
    expect(reasonOf(nad('', annotations))).toContain(reason);
  });
});

describe('delegates', () => {
  it('a single config of another type', () => {
    expect(nad({ cniVersion: '1.0.0', type: 'macvlan', master: 'eth0' })).toEqual({
      kind: 'delegate',
      types: ['macvlan'],
    });
  });
  it('a conflist without netloom: every type in order', () => {
    expect(nad({ plugins: [{ type: 'bridge' }, { type: 'portmap' }] })).toEqual({
      kind: 'delegate',
      types: ['bridge', 'portmap'],
    });
  });
  it('an empty config: resolved on disk by the runtime, no types known', () => {
    expect(nad('')).toEqual({ kind: 'delegate', types: [] });
    expect(nad('  \n')).toEqual({ kind: 'delegate', types: [] });
  });
});

describe('invalid, with the precise reason', () => {
  it.each<[unknown, string]>([
    ['{"type":', 'spec.config is not JSON'],
    ['[1]', 'not a JSON object'],
    ['"netloom"', 'not a JSON object'],
    [{ cniVersion: '1.0.0' }, 'spec.config has no "type"'],
    [{ type: '' }, 'has no "type"'],
    [{ plugins: [] }, 'plugins must be a non-empty list'],
    [{ plugins: {} }, 'plugins must be a non-empty list'],
    [{ plugins: [{ type: 'bridge' }, 7] }, 'plugins[1] is not a JSON object'],
    [
      { plugins: [{ type: 'bridge' }, { type: 'netloom', subnet: '10.0.0.0/16' }] },
      'netloom must be the first plugin',
    ],
    [{ plugins: [{ type: 'netloom' }] }, 'needs "subnet" or "subnets"'],
  ])('%j: %s', (config, reason) => {
    expect(reasonOf(nad(config))).toContain(reason);
  });

  it.each<[object, string]>([
    [{}, 'needs "subnet" or "subnets"'],
    [{ subnet: '10.0.0.0/16', subnets: ['10.1.0.0/16'] }, 'give one, not both'],
    [{ subnets: [] }, 'subnets must be a non-empty list'],
    [{ subnets: '10.0.0.0/16' }, 'subnets must be a non-empty list'],
    [{ subnet: 10 }, 'subnet is not a string'],
    [{ subnets: ['10.0.0.0/16', 5] }, 'subnets[1] is not a string'],
    [{ subnet: '10.0.0.0' }, 'is not a CIDR'],
    [{ subnet: '10.0.0.0/33' }, 'is not a CIDR'],
    [{ subnet: 'blue' }, 'is not a CIDR'],
    [{ subnet: 'fd00::/64' }, 'IPv6'],
    [{ subnet: '10.0.0.5/16' }, 'did you mean 10.0.0.0/16?'],
    [{ subnet: '10.0.0.0/7' }, 'too short a prefix'],
    [{ subnet: '10.0.0.0/30' }, 'too long a prefix'],
    [{ subnets: ['10.0.0.0/16', '10.0.3.0/24'] }, '10.0.3.0/24 overlaps 10.0.0.0/16'],
    [{ subnets: ['10.0.0.0/16', '10.0.0.0/16'] }, 'overlaps'],
    [{ subnet: '10.0.0.0/16', vni: 0 }, 'vni 0 is out of range 1..16777215'],
    [{ subnet: '10.0.0.0/16', vni: 16_777_216 }, 'out of range'],
    [{ subnet: '10.0.0.0/16', vni: '5' }, 'vni must be an integer'],
    [{ subnet: '10.0.0.0/16', vni: 1.5 }, 'vni must be an integer'],
    [{ subnet: '10.0.0.0/16', nodePrefixLength: 16 }, 'nodePrefixLength 16 must be longer than the subnet'],
    [{ subnet: '10.0.0.0/16', nodePrefixLength: 12 }, 'must be longer than the subnet'],
    [{ subnet: '10.0.0.0/16', nodePrefixLength: 31 }, 'at most 30'],
    [{ subnets: ['10.0.0.0/16', '10.9.0.0/24'], nodePrefixLength: 24 }, "longer than the subnet's /24"],
    [{ subnet: '10.0.0.0/28' }, 'set spec.config nodePrefixLength'],
    [{ subnet: '10.0.0.0/16', gatewayOffset: 0 }, 'gatewayOffset 0 is outside'],
    [
      { subnet: '10.0.0.0/16', gatewayOffset: 255 },
      "gatewayOffset 255 is outside a node's /24 block (1..254",
    ],
    [{ subnet: '10.0.0.0/24', nodePrefixLength: 30, gatewayOffset: 3 }, "outside a node's /30 block (1..2"],
    [{ subnet: '10.0.0.0/16', snat: 'true' }, 'snat must be true or false'],
  ])('netloom %j: %s', (extra, reason) => {
    expect(reasonOf(netloom(extra))).toContain(reason);
  });

  it('names the plugin in a conflist', () => {
    expect(reasonOf(nad({ plugins: [{ type: 'netloom', subnet: '10.0.0.0/16', vni: 0 }] }))).toContain(
      'spec.config plugins[0].vni',
    );
  });
});

describe('defaults and overlap', () => {
  it('node block 8 bits below the longest subnet, at most /28', () => {
    expect(defaultNodePrefixLength(['10.0.0.0/16'])).toBe(24);
    expect(defaultNodePrefixLength(['10.0.0.0/8', '11.0.0.0/18'])).toBe(26);
    expect(defaultNodePrefixLength(['10.0.0.0/22'])).toBe(28);
    expect(defaultNodePrefixLength(['10.0.0.0/27'])).toBe(28);
  });

  it('record parameters: the NAD’s, else VNI 4096+id, the default block, gateway .1', () => {
    const def = netloom({ subnet: '10.0.0.0/16' });
    if (def.kind !== 'netloom') throw new Error(def.kind);
    expect(networkParams(def, 3)).toEqual({ vni: 4099, nodePrefixLength: 24, gatewayOffset: 1 });
    const own = netloom({ subnet: '10.0.0.0/16', vni: 77, nodePrefixLength: 26, gatewayOffset: 9 });
    if (own.kind !== 'netloom') throw new Error(own.kind);
    expect(networkParams(own, 3)).toEqual({ vni: 77, nodePrefixLength: 26, gatewayOffset: 9 });
  });

  it.each([
    ['10.0.0.0/16', '10.0.255.0/24', true],
    ['10.0.255.0/24', '10.0.0.0/16', true],
    ['10.0.0.0/16', '10.1.0.0/16', false],
    ['0.0.0.0/0', '192.0.2.0/24', true],
    ['10.96.0.0/12', '10.111.0.0/16', true],
    ['10.96.0.0/12', '10.112.0.0/16', false],
    ['10.0.0.0/16', 'fd00::/8', false],
  ])('%s and %s overlap: %s', (a, b, want) => {
    expect(cidrsOverlap(a, b)).toBe(want);
  });
});
