import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Keyspace,
  SharedKeyspace,
  keyLayout,
  parseSharedNodeIdHolder,
  sharedKeyLayout,
  sharedNodeIdHolder,
  type KeyRef,
} from './keyspace.ts';
import { KeyspaceError } from './errors.ts';

const ks = new Keyspace('prod-1');

const examples: [KeyRef, string][] = [
  [{ kind: 'namespace', name: 'default' }, '/netloom/v1/prod-1/k8s/namespace/default'],
  [{ kind: 'node', name: 'worker-1' }, '/netloom/v1/prod-1/k8s/node/worker-1'],
  [{ kind: 'pod', namespace: 'default', name: 'web-0' }, '/netloom/v1/prod-1/k8s/pod/default/web-0'],
  [
    { kind: 'service', namespace: 'kube-system', name: 'dns' },
    '/netloom/v1/prod-1/k8s/service/kube-system/dns',
  ],
  [{ kind: 'endpoints', namespace: 'a', name: 'svc' }, '/netloom/v1/prod-1/k8s/endpoints/a/svc'],
  [{ kind: 'policy', namespace: 'a', name: 'deny' }, '/netloom/v1/prod-1/k8s/policy/a/deny'],
  [{ kind: 'netattach', namespace: 'a', name: 'macvlan' }, '/netloom/v1/prod-1/k8s/netattach/a/macvlan'],
  [{ kind: 'ksrStatus' }, '/netloom/v1/prod-1/ksr/status'],
  [{ kind: 'nodeId', id: '7' }, '/netloom/v1/prod-1/nodes/id/7'],
  [{ kind: 'nodeInfo', name: 'worker-1' }, '/netloom/v1/prod-1/nodes/info/worker-1'],
  [{ kind: 'ipam', node: 'worker-1', ip: '10.1.7.12' }, '/netloom/v1/prod-1/ipam/worker-1/10.1.7.12'],
  [{ kind: 'ipam', node: 'w', ip: 'fd00::12' }, '/netloom/v1/prod-1/ipam/w/fd00::12'],
  [{ kind: 'lbipam', ip: '192.0.2.10' }, '/netloom/v1/prod-1/lbipam/192.0.2.10'],
  [{ kind: 'network', namespace: 'a', name: 'blue' }, '/netloom/v1/prod-1/networks/a/blue'],
  [{ kind: 'networkId', id: '3' }, '/netloom/v1/prod-1/network-ids/3'],
  [
    { kind: 'attachment', node: 'worker-1', namespace: 'a', pod: 'web-1', ifname: 'net1' },
    '/netloom/v1/prod-1/attachments/worker-1/a/web-1/net1',
  ],
];

describe('Keyspace', () => {
  it.each(examples)('builds and parses %o', (ref, key) => {
    expect(ks.key(ref)).toBe(key);
    expect(ks.parse(key)).toEqual(ref);
  });

  it('covers every family with an example', () => {
    expect(new Set(examples.map(([r]) => r.kind))).toEqual(new Set(Object.keys(keyLayout())));
  });

  it("holds in the agent's view range exactly the families an agent renders from (and lbipam, which sorts inside)", () => {
    const { from, to } = ks.agentView;
    const inRange = (key: string): boolean =>
      Buffer.compare(Buffer.from(key), Buffer.from(from)) >= 0 &&
      Buffer.compare(Buffer.from(key), Buffer.from(to)) < 0;
    const kinds = (inside: boolean): string[] =>
      [...new Set(examples.filter(([, key]) => inRange(key) === inside).map(([r]) => r.kind))].sort();
    expect(kinds(false)).toEqual(['attachment', 'ipam']);
    expect(kinds(true)).toEqual(
      [
        'endpoints',
        'ksrStatus',
        'lbipam',
        'namespace',
        'netattach',
        'network',
        'networkId',
        'node',
        'nodeId',
        'nodeInfo',
        'pod',
        'policy',
        'service',
      ].sort(),
    );
    // Nothing of another cluster whose name extends this one's.
    expect(inRange('/netloom/v1/prod-10/k8s/node/x')).toBe(false);
    expect(inRange('/netloom/v1/prod-1/attachments/n/ns/p/eth0')).toBe(false);
  });

  it('round-trips arbitrary names, unicode included', () => {
    const part = fc
      .string({ minLength: 1, maxLength: 40, unit: 'grapheme' })
      .filter((s) => !s.includes('/') && s !== '.' && s !== '..');
    fc.assert(
      fc.property(part, part, (namespace, name) => {
        const ref: KeyRef = { kind: 'pod', namespace, name };
        expect(ks.parse(ks.key(ref))).toEqual(ref);
      }),
    );
  });

  it('builds prefixes that contain exactly their keys', () => {
    expect(ks.prefix('pod')).toBe('/netloom/v1/prod-1/k8s/pod/');
    expect(ks.prefix('pod', 'default')).toBe('/netloom/v1/prod-1/k8s/pod/default/');
    expect(ks.prefix('ipam', 'worker-1')).toBe('/netloom/v1/prod-1/ipam/worker-1/');
    expect(
      ks.key({ kind: 'pod', namespace: 'default', name: 'x' }).startsWith(ks.prefix('pod', 'default')),
    ).toBe(true);
    // 'default' must not match namespace 'default-2'
    expect(
      ks.key({ kind: 'pod', namespace: 'default-2', name: 'x' }).startsWith(ks.prefix('pod', 'default')),
    ).toBe(false);
    expect(() => ks.prefix('pod', 'a', 'b')).toThrow(KeyspaceError);
  });

  it('rejects parts that would break the layout', () => {
    expect(() => ks.key({ kind: 'pod', namespace: 'a/b', name: 'x' })).toThrow(KeyspaceError);
    expect(() => ks.key({ kind: 'node', name: '' })).toThrow(/non-empty/);
    expect(() => ks.key({ kind: 'node', name: '..' })).toThrow(KeyspaceError);
    expect(() => new Keyspace('Bad_Cluster')).toThrow(/DNS label/);
  });

  it('does not parse foreign or malformed keys', () => {
    expect(ks.tryParse('/netloom/v1/other/k8s/node/a')).toBeUndefined();
    expect(ks.tryParse('/netloom/v1/prod-1/k8s/pod/only-namespace')).toBeUndefined();
    expect(ks.tryParse('/netloom/v1/prod-1/k8s/pod/ns//x')).toBeUndefined();
    expect(ks.tryParse('/netloom/v1/prod-1/unknown/x')).toBeUndefined();
    expect(() => ks.parse('/elsewhere')).toThrow(KeyspaceError);
  });
});

describe('docs/keyspace.md', () => {
  it('documents exactly the layout the code uses', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../docs/keyspace.md', import.meta.url), 'utf8');
    const rowsOf = (text: string): Record<string, string | undefined> =>
      Object.fromEntries(
        [...text.matchAll(/^\| (\w+) \| `([^`]+)` \|/gm)].map((m): [string, string | undefined] => [
          m[1] ?? '',
          m[2],
        ]),
      );
    const [cluster = '', shared = ''] = doc.split(/^## Store-wide keys/m);
    expect(rowsOf(cluster)).toEqual(keyLayout());
    expect(rowsOf(shared)).toEqual(sharedKeyLayout());
  });
});

describe('SharedKeyspace', () => {
  const shared = new SharedKeyspace();

  it('builds and parses every store-wide family outside any cluster prefix', () => {
    const refs = [
      { kind: 'cluster', cluster: 'east' },
      { kind: 'sharedNodeId', id: '7' },
      { kind: 'sharedNetworkId', id: '12' },
    ] as const;
    expect(refs.map((r) => shared.key(r))).toEqual([
      '/netloom/v1/_shared/clusters/east',
      '/netloom/v1/_shared/node-ids/7',
      '/netloom/v1/_shared/network-ids/12',
    ]);
    for (const r of refs) expect(shared.tryParse(shared.key(r))).toEqual(r);
    expect(shared.prefix('sharedNodeId')).toBe('/netloom/v1/_shared/node-ids/');
  });

  it('never collides with a cluster: no cluster name starts with _', () => {
    expect(() => new Keyspace('_shared')).toThrow(/DNS label/);
    const ks = new Keyspace('shared');
    expect(ks.tryParse(shared.key({ kind: 'sharedNodeId', id: '1' }))).toBeUndefined();
    expect(shared.tryParse(ks.key({ kind: 'nodeId', id: '1' }))).toBeUndefined();
  });

  it('refuses a cluster key that is not a cluster name, and bad parts', () => {
    expect(() => shared.key({ kind: 'cluster', cluster: 'Bad_Name' })).toThrow(/DNS label/);
    expect(() => shared.key({ kind: 'sharedNodeId', id: 'a/b' })).toThrow(/without '\/'/);
    expect(shared.tryParse('/netloom/v1/_shared/clusters/')).toBeUndefined();
    expect(shared.tryParse('/netloom/v1/_shared/unknown/x')).toBeUndefined();
  });

  it('writes and reads node-ids holders as <cluster>/<node>', () => {
    expect(sharedNodeIdHolder('east', 'worker-1')).toBe('east/worker-1');
    expect(parseSharedNodeIdHolder('east/worker-1')).toEqual({ cluster: 'east', node: 'worker-1' });
    for (const bad of ['', 'east', 'east/', '/w', 'a/b/c'])
      expect(parseSharedNodeIdHolder(bad)).toBeUndefined();
  });
});
