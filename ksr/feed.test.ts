import { describe, expect, it } from 'vitest';
import { Keyspace, type K8sKind } from '../lib/keyspace.ts';
import { createRegistry } from '../lib/metrics.ts';
import { silentLogger } from '../lib/logging.ts';
import { convertPod } from './convert/pod.ts';
import { EndpointsFeed, ObjectFeed, type FeedDeps } from './feed.ts';
import { createKsrMetrics } from './metrics.ts';
import { Mirror } from './mirror.ts';

const ks = new Keyspace('test');

function deps(): FeedDeps & { errors: () => Promise<number> } {
  const registry = createRegistry('ksr', { processMetrics: false });
  const metrics = createKsrMetrics(registry);
  const mirror = new Mirror((k) => ks.tryParse(k)?.kind as K8sKind | undefined);
  return {
    mirror,
    keyspace: ks,
    logger: silentLogger(),
    metrics,
    errors: async () => (await metrics.errors.get()).values.reduce((n, v) => n + v.value, 0),
  };
}

const pod = (name: string, labels: Record<string, string> = {}): object => ({
  metadata: { namespace: 'a', name, labels },
  spec: {},
});

describe('ObjectFeed', () => {
  it('upserts, removes and sweeps what a relist no longer has', () => {
    const d = deps();
    const feed = new ObjectFeed('pod', convertPod, d);
    feed.upsert(pod('x'));
    feed.upsert(pod('y'));
    expect(d.mirror.get(ks.key({ kind: 'pod', namespace: 'a', name: 'x' }))).toBe(
      '{"namespace":"a","name":"x"}',
    );
    feed.remove(pod('x'));
    expect(d.mirror.size).toBe(1);
    feed.beginRelist();
    feed.upsert(pod('z'));
    feed.endRelist();
    expect([...d.mirror.keysUnder(ks.prefix('pod'))]).toEqual([
      ks.key({ kind: 'pod', namespace: 'a', name: 'z' }),
    ]);
  });

  it('counts a converter failure and keeps the last good value, also through a relist', async () => {
    const d = deps();
    const feed = new ObjectFeed('pod', convertPod, d);
    feed.upsert(pod('x', { a: '1' }));
    const bad = { metadata: { namespace: 'a', name: 'x', labels: { a: 7 } } } as never;
    feed.upsert(bad);
    feed.beginRelist();
    feed.upsert(bad);
    feed.endRelist();
    expect(d.mirror.get(ks.key({ kind: 'pod', namespace: 'a', name: 'x' }))).toBe(
      '{"namespace":"a","name":"x","labels":{"a":"1"}}',
    );
    expect(await d.errors()).toBe(2);
  });

  it('sweeps a key a relist missed even when as many other objects were seen (failed conversions, other kinds)', () => {
    const d = deps();
    const feed = new ObjectFeed('pod', convertPod, d);
    d.mirror.set('namespace', ks.key({ kind: 'namespace', name: 'a' }), '{}');
    feed.upsert(pod('x'));
    feed.upsert(pod('gone'));
    feed.beginRelist();
    feed.upsert(pod('x'));
    // Seen but never converted: two keys seen, as many as are wanted, yet one wanted key is gone.
    feed.upsert({ metadata: { namespace: 'a', name: 'bad', labels: { a: 7 } } } as never);
    feed.endRelist();
    expect([...d.mirror.keysUnder(ks.prefix('pod'))]).toEqual([
      ks.key({ kind: 'pod', namespace: 'a', name: 'x' }),
    ]);
    expect(d.mirror.size).toBe(2);
  });

  it('counts an object whose name cannot be a key', async () => {
    const d = deps();
    new ObjectFeed('pod', convertPod, d).upsert({ metadata: { namespace: 'a', name: 'b/c' } });
    expect(d.mirror.size).toBe(0);
    expect(await d.errors()).toBe(1);
  });
});

function slice(name: string, service: string | undefined, ips: string[]): object {
  return {
    metadata: { namespace: 'a', name, labels: service ? { 'kubernetes.io/service-name': service } : {} },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip] })),
  };
}

describe('EndpointsFeed', () => {
  const key = (svc: string): string => ks.key({ kind: 'endpoints', namespace: 'a', name: svc });
  const ips = (d: FeedDeps, svc: string): string[] | undefined => {
    const v = d.mirror.get(key(svc));
    if (v === undefined) return undefined;
    const parsed = JSON.parse(v) as { subsets?: { endpoints: { addresses: string[] }[] }[] };
    return (parsed.subsets ?? []).flatMap((s) => s.endpoints.map((e) => e.addresses[0] ?? ''));
  };

  it('merges every slice of a service into one key and drops it with the last slice', () => {
    const d = deps();
    const feed = new EndpointsFeed(d);
    feed.upsert(slice('web-1', 'web', ['10.0.0.2']));
    feed.upsert(slice('web-2', 'web', ['10.0.0.1']));
    expect(ips(d, 'web')).toEqual(['10.0.0.1', '10.0.0.2']);
    feed.upsert(slice('web-1', 'web', ['10.0.0.3']));
    expect(ips(d, 'web')).toEqual(['10.0.0.1', '10.0.0.3']);
    feed.remove(slice('web-2', 'web', []));
    expect(ips(d, 'web')).toEqual(['10.0.0.3']);
    feed.remove(slice('web-1', 'web', []));
    expect(ips(d, 'web')).toBeUndefined();
  });

  it('moves a slice relabelled to another service', () => {
    const d = deps();
    const feed = new EndpointsFeed(d);
    feed.upsert(slice('s', 'one', ['10.0.0.1']));
    feed.upsert(slice('s', 'two', ['10.0.0.1']));
    expect(ips(d, 'one')).toBeUndefined();
    expect(ips(d, 'two')).toEqual(['10.0.0.1']);
    feed.upsert(slice('s', undefined, ['10.0.0.1']));
    expect(d.mirror.size).toBe(0);
  });

  it('sweeps slices a relist no longer has', () => {
    const d = deps();
    const feed = new EndpointsFeed(d);
    feed.upsert(slice('a-1', 'a', ['10.0.0.1']));
    feed.upsert(slice('b-1', 'b', ['10.0.0.2']));
    feed.beginRelist();
    feed.upsert(slice('b-1', 'b', ['10.0.0.2']));
    feed.endRelist();
    expect(ips(d, 'a')).toBeUndefined();
    expect(ips(d, 'b')).toEqual(['10.0.0.2']);
  });

  it('keeps the last good contribution when a slice cannot be converted', async () => {
    const d = deps();
    const feed = new EndpointsFeed(d);
    feed.upsert(slice('w', 'web', ['10.0.0.1']));
    feed.upsert({
      metadata: { namespace: 'a', name: 'w', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{}],
    } as never);
    expect(ips(d, 'web')).toEqual(['10.0.0.1']);
    expect(await d.errors()).toBe(1);
  });
});
