import { describe, expect, it } from 'vitest';
import type { Feed, KubeObject } from '../feed.ts';
import { LbServiceFeed, lbServiceOf } from './service.ts';

const CLASS = 'netloom.io/lb';

function raw(
  name: string,
  spec: object,
  extra: { annotations?: object; ingress?: string[] } = {},
): KubeObject {
  return {
    metadata: {
      namespace: 'ns',
      name,
      uid: `u-${name}`,
      creationTimestamp: '2026-01-01T00:00:00Z',
      annotations: extra.annotations,
    },
    spec,
    ...(extra.ingress ? { status: { loadBalancer: { ingress: extra.ingress.map((ip) => ({ ip })) } } } : {}),
  } as KubeObject;
}

describe('lbServiceOf', () => {
  it('reads what the allocator needs', () => {
    expect(
      lbServiceOf(
        raw(
          'a',
          { type: 'LoadBalancer', loadBalancerIP: '192.0.2.7', ipFamilies: ['IPv6', 'IPv4'] },
          { annotations: { 'netloom.io/lb-pool': 'dmz' }, ingress: ['192.0.2.7'] },
        ),
        CLASS,
      ),
    ).toEqual({
      namespace: 'ns',
      name: 'a',
      uid: 'u-a',
      created: '2026-01-01T00:00:00Z',
      wants: true,
      pool: 'dmz',
      requested: '192.0.2.7',
      family: 6,
      statusIps: ['192.0.2.7'],
    });
  });

  it('prefers the annotation over spec.loadBalancerIP', () => {
    const s = lbServiceOf(
      raw(
        'a',
        { type: 'LoadBalancer', loadBalancerIP: '192.0.2.7' },
        { annotations: { 'netloom.io/lb-ip': '192.0.2.8' } },
      ),
      CLASS,
    );
    expect(s?.requested).toBe('192.0.2.8');
  });

  it('serves no class and its own class; ignores others, and ClusterIP services without status', () => {
    expect(lbServiceOf(raw('a', { type: 'LoadBalancer', loadBalancerClass: CLASS }), CLASS)?.wants).toBe(
      true,
    );
    expect(
      lbServiceOf(raw('a', { type: 'LoadBalancer', loadBalancerClass: 'other.io/lb' }), CLASS),
    ).toBeUndefined();
    expect(
      lbServiceOf(
        raw('a', { type: 'LoadBalancer', loadBalancerClass: 'other.io/lb' }, { ingress: ['1.2.3.4'] }),
        CLASS,
      ),
    ).toBeUndefined();
    expect(lbServiceOf(raw('a', { type: 'ClusterIP' }), CLASS)).toBeUndefined();
    // A former LoadBalancer whose status still shows an address: tracked, so it gets cleared.
    expect(lbServiceOf(raw('a', { type: 'ClusterIP' }, { ingress: ['192.0.2.1'] }), CLASS)).toMatchObject({
      wants: false,
      statusIps: ['192.0.2.1'],
    });
  });
});

describe('LbServiceFeed', () => {
  const inner = (): Feed & { calls: string[] } => {
    const calls: string[] = [];
    return {
      kind: 'service',
      folds: false,
      calls,
      upsert: (o) => calls.push(`upsert ${o.metadata?.name}`),
      remove: (o) => calls.push(`remove ${o.metadata?.name}`),
      beginRelist: () => calls.push('begin'),
      endRelist: () => calls.push('end'),
      abortRelist: () => calls.push('abort'),
    };
  };

  it('passes everything through and keeps the services that matter', () => {
    const f = inner();
    let changes = 0;
    const feed = new LbServiceFeed(f, CLASS, () => changes++);
    feed.beginRelist();
    feed.upsert(raw('lb', { type: 'LoadBalancer' }));
    feed.upsert(raw('plain', { type: 'ClusterIP' }));
    expect(feed.listed).toBe(false);
    feed.endRelist();
    expect(feed.listed).toBe(true);
    expect([...feed.services.keys()]).toEqual(['ns/lb']);
    expect(f.calls).toEqual(['begin', 'upsert lb', 'upsert plain', 'end']);

    const before = changes;
    feed.upsert(raw('plain', { type: 'ClusterIP' })); // nothing the allocator cares about
    expect(changes).toBe(before);
    feed.upsert(raw('lb', { type: 'ClusterIP' })); // no longer a LoadBalancer, no status: dropped
    expect(feed.services.size).toBe(0);
    expect(changes).toBe(before + 1);
  });

  it('a relist drops only what it did not see, at its end', () => {
    const feed = new LbServiceFeed(inner(), CLASS, () => undefined);
    feed.upsert(raw('a', { type: 'LoadBalancer' }));
    feed.upsert(raw('b', { type: 'LoadBalancer' }));
    feed.beginRelist();
    feed.upsert(raw('b', { type: 'LoadBalancer' }));
    expect(feed.services.size).toBe(2); // a is still there while the relist runs
    feed.endRelist();
    expect([...feed.services.keys()]).toEqual(['ns/b']);
    feed.remove(raw('b', {}));
    expect(feed.services.size).toBe(0);
  });

  it('takes in what a status write answered', () => {
    const feed = new LbServiceFeed(inner(), CLASS, () => undefined);
    feed.upsert(raw('a', { type: 'LoadBalancer' }));
    feed.observe(raw('a', { type: 'LoadBalancer' }, { ingress: ['192.0.2.1'] }));
    expect(feed.services.get('ns/a')?.statusIps).toEqual(['192.0.2.1']);
  });
});
