import { describe, expect, it } from 'vitest';
import { NETWORK_ANNOTATION, NetworkAnnotationError, parseNetworkRef, primaryNetworkOf } from './primary.ts';

const pod = (annotations: Record<string, string> = {}) => ({ namespace: 'shop', name: 'web-1', annotations });

describe('parseNetworkRef', () => {
  it.each<[string, { namespace: string; name: string }]>([
    ['blue', { namespace: 'shop', name: 'blue' }],
    ['  blue ', { namespace: 'shop', name: 'blue' }],
    ['infra/blue', { namespace: 'infra', name: 'blue' }],
    ['net.v1', { namespace: 'shop', name: 'net.v1' }],
    ['{"domain":"default-domain","project":"infra","name":"blue"}', { namespace: 'infra', name: 'blue' }],
    ['{"name":"blue"}', { namespace: 'shop', name: 'blue' }],
  ])('%s', (value, want) => {
    expect(parseNetworkRef(value, 'shop', 'pod shop/web-1')).toEqual(want);
  });

  it.each<[string, RegExp]>([
    ['', /network name "" is not/],
    ['a/b/c', /more than one '\/'/],
    ['/blue', /namespace "" is not/],
    ['Blue', /not a DNS subdomain/],
    ['infra/', /network name ""/],
    ['{"name":', /not valid JSON/],
    ['{"project":"x"}', /needs a "name"/],
    ['{"name":"blue","project":7}', /"project" is not a string/],
    ['{"name":"blue","project":"Infra"}', /namespace "Infra"/],
    ['[1]', /not a DNS subdomain/],
  ])('refuses %j', (value, why) => {
    const run = (): unknown => parseNetworkRef(value, 'shop', 'pod shop/web-1');
    expect(run).toThrow(NetworkAnnotationError);
    expect(run).toThrow(why);
  });
});

describe('primaryNetworkOf', () => {
  it('is the default network without any annotation, or with an empty one', () => {
    expect(primaryNetworkOf(pod(), undefined)).toBeUndefined();
    expect(
      primaryNetworkOf(pod({ [NETWORK_ANNOTATION]: ' ' }), { [NETWORK_ANNOTATION]: '' }),
    ).toBeUndefined();
  });

  it("takes the namespace's network for every pod of the namespace", () => {
    expect(primaryNetworkOf(pod(), { [NETWORK_ANNOTATION]: 'blue' })).toEqual({
      namespace: 'shop',
      name: 'blue',
    });
  });

  it("prefers the pod's own annotation", () => {
    expect(
      primaryNetworkOf(pod({ [NETWORK_ANNOTATION]: 'infra/red' }), { [NETWORK_ANNOTATION]: 'blue' }),
    ).toEqual({
      namespace: 'infra',
      name: 'red',
    });
  });

  it('names where a malformed annotation was found', () => {
    expect(() => primaryNetworkOf(pod(), { [NETWORK_ANNOTATION]: 'a/b/c' })).toThrow(/on namespace shop:/);
    expect(() => primaryNetworkOf(pod({ [NETWORK_ANNOTATION]: 'a/b/c' }), undefined)).toThrow(
      /on pod shop\/web-1:/,
    );
  });
});
