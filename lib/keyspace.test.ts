import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Keyspace, keyLayout, type KeyRef } from './keyspace.ts';
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
    const rows = [...doc.matchAll(/^\| (\w+) \| `([^`]+)` \|/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual(keyLayout());
  });
});
