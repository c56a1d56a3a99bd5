import { describe, expect, it } from 'vitest';
import { ConvertError, toJson } from './common.ts';
import { convertSlice, mergeSlices, type SliceContribution } from './endpoints.ts';

function slice(name: string, extra: object): object {
  return {
    metadata: { namespace: 'default', name, labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ...extra,
  };
}

const http = [{ name: 'http', port: 8080, protocol: 'TCP' }];

describe('convertSlice', () => {
  it('normalises conditions and target refs', () => {
    const c = convertSlice(
      slice('web-abc', {
        ports: http,
        endpoints: [
          {
            addresses: ['10.1.1.5'],
            conditions: { ready: true, serving: true, terminating: false },
            nodeName: 'n1',
            zone: 'z1',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'web-0' },
          },
          { addresses: ['10.1.2.5'], conditions: {}, targetRef: { kind: 'Node', name: 'x' } },
          { addresses: ['10.1.3.5'], conditions: { ready: false, serving: true, terminating: true } },
        ],
      }) as never,
    );
    expect(c).toEqual({
      namespace: 'default',
      service: 'web',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        {
          addresses: ['10.1.1.5'],
          nodeName: 'n1',
          ready: true,
          serving: true,
          pod: 'default/web-0',
          zone: 'z1',
        },
        { addresses: ['10.1.2.5'], ready: true, serving: true },
        { addresses: ['10.1.3.5'], serving: true, terminating: true },
      ],
    });
  });

  it('skips slices that feed no service or carry FQDNs', () => {
    expect(convertSlice({ metadata: { namespace: 'a', name: 's' }, addressType: 'IPv4' })).toBeUndefined();
    expect(
      convertSlice(slice('s', { addressType: 'FQDN', endpoints: [{ addresses: ['db.example'] }] }) as never),
    ).toBeUndefined();
  });

  it('rejects an endpoint without addresses', () => {
    expect(() => convertSlice(slice('s', { endpoints: [{ conditions: {} }] }) as never)).toThrow(
      ConvertError,
    );
  });
});

describe('mergeSlices', () => {
  const a = convertSlice(
    slice('web-a', {
      ports: http,
      endpoints: [{ addresses: ['10.1.1.6'] }, { addresses: ['10.1.1.5'] }],
    }) as never,
  )!;
  const b = convertSlice(
    slice('web-b', {
      ports: http,
      endpoints: [{ addresses: ['10.1.2.5'], conditions: { ready: false } }],
    }) as never,
  )!;
  const v6 = convertSlice(
    slice('web-6', { addressType: 'IPv6', ports: http, endpoints: [{ addresses: ['fd00::5'] }] }) as never,
  )!;
  const other = convertSlice(
    slice('web-c', {
      ports: [{ name: 'http', port: 9090, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.1.9.9'] }],
    }) as never,
  )!;

  it('merges slices with equal ports into one subset, sorted', () => {
    expect(toJson(mergeSlices('default', 'web', [b, v6, a]))).toBe(
      '{"namespace":"default","service":"web","subsets":[{"ports":[{"name":"http","port":8080,"protocol":"TCP"}],"endpoints":[' +
        '{"addresses":["10.1.1.5"],"ready":true,"serving":true},{"addresses":["10.1.1.6"],"ready":true,"serving":true},{"addresses":["10.1.2.5"]},{"addresses":["fd00::5"],"ready":true,"serving":true}]}]}',
    );
  });

  it('gives the same JSON whatever the slice order', () => {
    const all: SliceContribution[] = [a, b, v6, other];
    const json = toJson(mergeSlices('default', 'web', all));
    expect(toJson(mergeSlices('default', 'web', [...all].reverse()))).toBe(json);
    expect(JSON.parse(json).subsets).toHaveLength(2);
  });

  it('keeps one copy of an endpoint two slices list during a handover, the ready one', () => {
    const notReady = convertSlice(
      slice('web-x', {
        ports: http,
        endpoints: [{ addresses: ['10.1.1.5'], conditions: { ready: false } }],
      }) as never,
    )!;
    const merged = mergeSlices('default', 'web', [notReady, a]);
    expect(merged.subsets?.[0]?.endpoints).toEqual([
      { addresses: ['10.1.1.5'], ready: true, serving: true },
      { addresses: ['10.1.1.6'], ready: true, serving: true },
    ]);
  });

  it('an empty service has no subsets', () => {
    const empty = convertSlice(slice('web-e', { ports: http, endpoints: [] }) as never)!;
    expect(toJson(mergeSlices('default', 'web', [empty]))).toBe('{"namespace":"default","service":"web"}');
  });
});
