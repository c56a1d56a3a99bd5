import { describe, expect, it } from 'vitest';
import { ConvertError, toJson } from './common.ts';
import { convertPolicy } from './policy.ts';

const meta = { namespace: 'prod', name: 'pol' };

describe('convertPolicy', () => {
  it('default deny: empty pod selector stays {}', () => {
    expect(
      toJson(convertPolicy({ metadata: meta, spec: { podSelector: {}, policyTypes: ['Ingress'] } })),
    ).toBe('{"namespace":"prod","name":"pol","podSelector":{},"policyTypes":["Ingress"]}');
  });

  it('allow-all ingress rule stays an empty rule', () => {
    expect(
      toJson(
        convertPolicy({
          metadata: meta,
          spec: { podSelector: { matchLabels: { app: 'a' } }, ingress: [{}], policyTypes: ['Ingress'] },
        }),
      ),
    ).toBe(
      '{"namespace":"prod","name":"pol","podSelector":{"matchLabels":{"app":"a"}},"policyTypes":["Ingress"],"ingress":[{}]}',
    );
  });

  it('ipBlock with except list, endPort, named ports, selectors of every shape', () => {
    const obj = {
      metadata: meta,
      spec: {
        podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [
              { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.0.0/16'] } },
              { namespaceSelector: {} },
              {
                namespaceSelector: { matchLabels: { team: 'a' } },
                podSelector: { matchLabels: { role: 'client' } },
              },
              { podSelector: {} },
            ],
            ports: [
              { protocol: 'TCP', port: 32000, endPort: 32768 },
              { protocol: 'TCP', port: 'http' },
              { protocol: 'UDP' },
            ],
          },
        ],
        egress: [
          {
            to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }],
            ports: [{ protocol: 'SCTP', port: 9 }],
          },
          { ports: [{ port: 53, protocol: 'UDP' }] },
        ],
      },
    };
    expect(JSON.parse(toJson(convertPolicy(obj as never)))).toEqual({
      namespace: 'prod',
      name: 'pol',
      podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          ports: [
            { protocol: 'TCP', port: { number: 32000 }, endPort: 32768 },
            { protocol: 'TCP', port: { name: 'http' } },
            { protocol: 'UDP' },
          ],
          peers: [
            { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.0.0/16'] } },
            { namespaceSelector: {} },
            {
              podSelector: { matchLabels: { role: 'client' } },
              namespaceSelector: { matchLabels: { team: 'a' } },
            },
            { podSelector: {} },
          ],
        },
      ],
      egress: [
        {
          ports: [{ protocol: 'SCTP', port: { number: 9 } }],
          peers: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }],
        },
        { ports: [{ protocol: 'UDP', port: { number: 53 } }] },
      ],
    });
  });

  it('is deterministic for equal policies whose maps were built in another order', () => {
    const a = { metadata: meta, spec: { podSelector: { matchLabels: { a: '1', b: '2' } } } };
    const b = { metadata: meta, spec: { podSelector: { matchLabels: { b: '2', a: '1' } } } };
    expect(toJson(convertPolicy(a as never))).toBe(toJson(convertPolicy(b as never)));
  });

  it('rejects an ipBlock without cidr', () => {
    expect(() =>
      convertPolicy({
        metadata: meta,
        spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: {} }] }] },
      } as never),
    ).toThrow(ConvertError);
  });
});
