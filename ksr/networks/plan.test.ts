import { describe, expect, it } from 'vitest';
import { networkDefinition } from '../../lib/netattach/definition.ts';
import type { Network__Output as Network } from '../../proto/gen/netloom/model/v1/Network.ts';
import { NETWORK_FINALIZER, nadStateOf, type NadState } from './nad.ts';
import { describePods, planNetworks, REASONS, type NetworkAction, type RegistryState } from './plan.ts';

const RANGES = { podCidr: '10.1.0.0/16', serviceCidr: '10.96.0.0/12', vni: 10 };

function nad(
  name: string,
  config: object | string,
  o: {
    created?: string;
    finalizers?: string[];
    terminating?: boolean;
    annotations?: Record<string, string>;
  } = {},
): NadState {
  const configText = typeof config === 'string' ? config : JSON.stringify(config);
  return {
    namespace: 'ns',
    name,
    uid: `uid-${name}`,
    resourceVersion: '5',
    created: o.created ?? '2026-01-01T00:00:00Z',
    finalizers: o.finalizers ?? [],
    terminating: o.terminating ?? false,
    def: networkDefinition({ namespace: 'ns', name, config: configText, annotations: o.annotations ?? {} }),
  };
}
const netloom = (subnet: string, extra: object = {}): object => ({ type: 'netloom', subnet, ...extra });
const record = (name: string, id: number, subnet: string, extra: Partial<Network> = {}): Network => ({
  name: `ns/${name}`,
  id,
  subnets: [subnet],
  vni: 4096 + id,
  nodePrefixLength: 24,
  gatewayOffset: 1,
  snat: false,
  ...extra,
});

function plan(p: Partial<Omit<RegistryState, 'nads'>> & { nads?: NadState[] }): NetworkAction[] {
  const nads = new Map((p.nads ?? []).map((n) => [`${n.namespace}/${n.name}`, n]));
  return planNetworks({
    records: new Map(),
    claims: new Map(),
    shared: new Map(),
    inUse: new Map(),
    cluster: 'c1',
    ranges: RANGES,
    ...p,
    nads,
  });
}
const types = (a: NetworkAction[]): string[] =>
  a.map((x) =>
    x.type === 'event'
      ? `event ${x.nad.name} ${x.reason}`
      : x.type === 'finalizer'
        ? `finalizer ${x.nad.name} ${x.add ? 'add' : 'remove'}`
        : `${x.type} ${x.owner}`,
  );

describe('new networks', () => {
  it('the smallest free ID, VNI 4096+id, default block, record and claim in one create, then the finalizer', () => {
    const a = plan({ nads: [nad('blue', netloom('10.200.0.0/16'))], claims: new Map([[1, 'other/x']]) });
    expect(a.find((x) => x.type === 'create')).toEqual({
      type: 'create',
      owner: 'ns/blue',
      sharedClaim: true,
      network: {
        name: 'ns/blue',
        id: 2,
        subnets: ['10.200.0.0/16'],
        vni: 4098,
        nodePrefixLength: 24,
        gatewayOffset: 1,
        snat: false,
      },
    });
    // The claim of other/x (no record: its NAD is gone) is released, but only after this pass.
    expect(types(a)).toEqual([
      'retire other/x',
      'create ns/blue',
      'finalizer blue add',
      'event blue NetworkCreated',
    ]);
  });

  it('two at once get distinct IDs, the older NAD first; IDs held store-wide are skipped', () => {
    const a = plan({
      nads: [
        nad('young', netloom('10.201.0.0/16'), { created: '2026-02-01T00:00:00Z' }),
        nad('old', netloom('10.200.0.0/16'), { created: '2026-01-01T00:00:00Z' }),
      ],
      shared: new Map([[1, { cluster: 'other', network: 'x/y' }]]),
    });
    const created = a.flatMap((x) => (x.type === 'create' ? [[x.owner, x.network.id]] : []));
    expect(created).toEqual([
      ['ns/old', 2],
      ['ns/young', 3],
    ]);
  });

  it('the NAD’s own vni, nodePrefixLength, gatewayOffset and snat; Contrail annotations', () => {
    const a = plan({
      nads: [
        nad(
          'own',
          netloom('10.200.0.0/16', { vni: 7000, nodePrefixLength: 26, gatewayOffset: 5, snat: true }),
        ),
        nad('red', '', {
          annotations: { 'opencontrail.org/cidr': '10.10.10.0/24' },
          created: '2026-03-01T00:00:00Z',
        }),
      ],
    });
    const nets = a.flatMap((x) => (x.type === 'create' ? [x.network] : []));
    expect(nets).toEqual([
      {
        name: 'ns/own',
        id: 1,
        subnets: ['10.200.0.0/16'],
        vni: 7000,
        nodePrefixLength: 26,
        gatewayOffset: 5,
        snat: true,
      },
      {
        name: 'ns/red',
        id: 2,
        subnets: ['10.10.10.0/24'],
        vni: 4098,
        nodePrefixLength: 28,
        gatewayOffset: 1,
        snat: false,
      },
    ]);
  });

  it('delegates and invalid NADs get no record; invalid ones an Event with the reason', () => {
    const a = plan({
      nads: [nad('mac', { type: 'macvlan' }), nad('bad', netloom('10.0.0.0/33'))],
    });
    expect(types(a)).toEqual(['event bad NetworkInvalid']);
    expect(a[0]).toMatchObject({ warning: true, message: expect.stringContaining('is not a CIDR') });
  });
});

describe('refusals', () => {
  it.each([
    ['10.1.5.0/24', "the cluster's pod CIDR 10.1.0.0/16"],
    ['10.0.0.0/8', "the cluster's pod CIDR 10.1.0.0/16"],
    ['10.100.0.0/16', "the cluster's service CIDR 10.96.0.0/12"],
  ])('%s overlaps %s', (subnet, who) => {
    const a = plan({ nads: [nad('x', netloom(subnet))] });
    expect(a).toEqual([
      {
        type: 'event',
        nad: { namespace: 'ns', name: 'x', uid: 'uid-x' },
        warning: true,
        reason: REASONS.overlap,
        message: `subnet ${subnet} overlaps ${who}`,
      },
    ]);
  });

  it('overlap with an existing network: the newcomer is refused, the record holder keeps it', () => {
    const a = plan({
      nads: [
        nad('old', netloom('10.200.0.0/16'), {
          finalizers: [NETWORK_FINALIZER],
          created: '2026-05-01T00:00:00Z',
        }),
        nad('new', netloom('10.200.128.0/17'), { created: '2026-01-01T00:00:00Z' }),
      ],
      records: new Map([['ns/old', record('old', 1, '10.200.0.0/16')]]),
      claims: new Map([[1, 'ns/old']]),
      shared: new Map([[1, { cluster: 'c1', network: 'ns/old' }]]),
    });
    expect(types(a)).toEqual(['event new NetworkSubnetConflict']);
    expect(a[0]).toMatchObject({ message: 'subnet 10.200.128.0/17 overlaps network ns/old (10.200.0.0/16)' });
  });

  it('a VNI taken by the default network or another network; a derived one says to set vni', () => {
    expect(plan({ nads: [nad('x', netloom('10.200.0.0/16', { vni: 10 }))] })[0]).toMatchObject({
      reason: REASONS.vni,
      message: 'VNI 10 is taken by the default network',
    });
    const a = plan({
      nads: [
        nad('a', netloom('10.200.0.0/16', { vni: 4098 }), { created: '2026-01-01T00:00:00Z' }),
        nad('b', netloom('10.201.0.0/16'), { created: '2026-02-01T00:00:00Z' }),
      ],
    });
    expect(a.filter((x) => x.type === 'event' && x.warning)).toEqual([
      expect.objectContaining({
        reason: REASONS.vni,
        message: 'VNI 4098 (4096 + network ID 2) is taken by network ns/a: set "vni" in the config',
      }),
    ]);
  });

  it('an edit that conflicts keeps the last good record (and its finalizer); a refused newcomer claims nothing', () => {
    const a = plan({
      nads: [
        nad('a', netloom('10.200.0.0/16'), { finalizers: [NETWORK_FINALIZER] }),
        nad('b', netloom('10.200.0.0/24'), {
          finalizers: [NETWORK_FINALIZER],
          created: '2026-02-01T00:00:00Z',
        }),
      ],
      records: new Map([
        ['ns/a', record('a', 1, '10.200.0.0/16')],
        ['ns/b', record('b', 2, '10.50.0.0/24', { nodePrefixLength: 28 })],
      ]),
      claims: new Map([
        [1, 'ns/a'],
        [2, 'ns/b'],
      ]),
      shared: new Map([
        [1, { cluster: 'c1', network: 'ns/a' }],
        [2, { cluster: 'c1', network: 'ns/b' }],
      ]),
    });
    expect(types(a)).toEqual(['event b NetworkSubnetConflict']);
  });
});

describe('kept across leaders', () => {
  const state = {
    nads: [nad('blue', netloom('10.200.0.0/16'), { finalizers: [NETWORK_FINALIZER] })],
    records: new Map([['ns/blue', record('blue', 3, '10.200.0.0/16')]]),
    claims: new Map([[3, 'ns/blue']]),
    shared: new Map([[3, { cluster: 'c1', network: 'ns/blue' }]]),
  };

  it('a network as recorded: nothing to do', () => {
    expect(plan(state)).toEqual([]);
  });

  it('an edited NAD rewrites the record under the same ID', () => {
    const a = plan({
      ...state,
      nads: [nad('blue', netloom('10.200.0.0/16', { snat: true }), { finalizers: [NETWORK_FINALIZER] })],
    });
    expect(a).toEqual([
      { type: 'update', owner: 'ns/blue', network: { ...record('blue', 3, '10.200.0.0/16'), snat: true } },
    ]);
  });

  it('a lost record is written again with its claimed ID; a lost claim is taken again if free', () => {
    expect(plan({ ...state, records: new Map() })).toEqual([
      { type: 'update', owner: 'ns/blue', network: record('blue', 3, '10.200.0.0/16') },
    ]);
    expect(types(plan({ ...state, claims: new Map(), shared: new Map() }))).toEqual([
      'create ns/blue',
      'event blue NetworkCreated',
    ]);
    expect(plan({ ...state, shared: new Map() })).toEqual([{ type: 'adopt', owner: 'ns/blue', id: 3 }]);
  });

  it('a second claim of one network is released, the record’s kept', () => {
    const a = plan({
      ...state,
      claims: new Map([
        [3, 'ns/blue'],
        [1, 'ns/blue'],
      ]),
    });
    expect(a).toEqual([{ type: 'retire', owner: 'ns/blue', ids: [1], sharedIds: [], record: false }]);
  });

  it('a claim of a network refused or gone, with no record, is released', () => {
    expect(
      plan({
        claims: new Map([[4, 'ns/gone']]),
        shared: new Map([[4, { cluster: 'c1', network: 'ns/gone' }]]),
      }),
    ).toEqual([{ type: 'retire', owner: 'ns/gone', ids: [4], sharedIds: [4], record: false }]);
  });

  it('an invalid edit keeps the last good record, with an Event', () => {
    const a = plan({ ...state, nads: [nad('blue', '{oops', { finalizers: [NETWORK_FINALIZER] })] });
    expect(types(a)).toEqual(['event blue NetworkInvalid']);
  });

  it('a store-wide claim of another cluster is never released here', () => {
    const a = plan({
      claims: new Map([[4, 'ns/gone']]),
      shared: new Map([[4, { cluster: 'c2', network: 'ns/gone' }]]),
    });
    expect(a).toEqual([{ type: 'retire', owner: 'ns/gone', ids: [4], sharedIds: [], record: false }]);
  });
});

describe('deletion', () => {
  const base = {
    records: new Map([['ns/blue', record('blue', 3, '10.200.0.0/16')]]),
    claims: new Map([[3, 'ns/blue']]),
    shared: new Map([[3, { cluster: 'c1', network: 'ns/blue' }]]),
  };
  const deleting = nad('blue', netloom('10.200.0.0/16'), {
    finalizers: [NETWORK_FINALIZER],
    terminating: true,
  });

  it('waits while pods are attached: the record stays, an Event names the pods', () => {
    const a = plan({ ...base, nads: [deleting], inUse: new Map([['ns/blue', ['ns/p2', 'ns/p1']]]) });
    expect(a).toEqual([
      {
        type: 'event',
        nad: { namespace: 'ns', name: 'blue', uid: 'uid-blue' },
        warning: true,
        reason: REASONS.inUse,
        message: 'deletion waits: pods still attached: ns/p1, ns/p2',
      },
    ]);
  });

  it('once none is: record and claims go, then the finalizer', () => {
    expect(plan({ ...base, nads: [deleting] })).toEqual([
      { type: 'retire', owner: 'ns/blue', ids: [3], sharedIds: [3], record: true },
      {
        type: 'finalizer',
        nad: {
          namespace: 'ns',
          name: 'blue',
          uid: 'uid-blue',
          resourceVersion: '5',
          finalizers: [NETWORK_FINALIZER],
        },
        add: false,
      },
    ]);
  });

  it('a NAD gone (deleted while no leader ran) with pods attached keeps its record until they go', () => {
    expect(plan({ ...base, inUse: new Map([['ns/blue', ['ns/p']]]) })).toEqual([]);
    expect(types(plan(base))).toEqual(['retire ns/blue']);
  });

  it('a NAD turned delegate is retired when unused and its finalizer dropped', () => {
    const a = plan({
      ...base,
      nads: [nad('blue', { type: 'macvlan' }, { finalizers: [NETWORK_FINALIZER] })],
    });
    expect(types(a)).toEqual(['retire ns/blue', 'finalizer blue remove']);
  });

  it('a delegated NAD deleted while in use: an Event only', () => {
    const a = plan({
      nads: [nad('mac', { type: 'macvlan' }, { terminating: true })],
      inUse: new Map([['ns/mac', ['ns/p']]]),
    });
    expect(a).toEqual([
      expect.objectContaining({
        type: 'event',
        reason: REASONS.inUse,
        message: 'deleted while pods are still attached: ns/p',
      }),
    ]);
  });

  it('a terminating NAD with the finalizer and no record: the finalizer goes', () => {
    expect(types(plan({ nads: [deleting] }))).toEqual(['finalizer blue remove']);
  });

  it('names at most five pods', () => {
    expect(describePods(['a/7', 'a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'a/6'])).toBe(
      'a/1, a/2, a/3, a/4, a/5 and 2 more',
    );
  });
});

describe('nadStateOf', () => {
  it('reads what the registry needs from the raw object', () => {
    expect(
      nadStateOf({
        metadata: {
          namespace: 'ns',
          name: 'n',
          uid: 'u',
          resourceVersion: '9',
          creationTimestamp: '2026-01-01T00:00:00Z',
          finalizers: ['a', NETWORK_FINALIZER],
          deletionTimestamp: '2026-01-02T00:00:00Z',
        },
        spec: { config: '{"type":"netloom","subnet":"10.9.0.0/16"}' },
      } as never),
    ).toEqual({
      namespace: 'ns',
      name: 'n',
      uid: 'u',
      resourceVersion: '9',
      created: '2026-01-01T00:00:00Z',
      finalizers: ['a', NETWORK_FINALIZER],
      terminating: true,
      def: { kind: 'netloom', subnets: ['10.9.0.0/16'], snat: false },
    });
    expect(
      nadStateOf({ metadata: { namespace: 'ns', name: 'n' }, spec: { config: { type: 'x' } } } as never)?.def,
    ).toEqual({
      kind: 'invalid',
      reason: 'spec.config is not a string',
    });
    expect(nadStateOf({ metadata: { name: 'n' } })).toBeUndefined();
  });
});
