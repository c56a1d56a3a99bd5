import { describe, expect, it } from 'vitest';
import { chooseNode, fits, type SchedNode } from './kubelet/scheduler.ts';
import type { Pod } from './kubelet/types.ts';

const pod = (spec: Partial<Pod['spec']> = {}): Pod => ({
  metadata: { name: 'p', namespace: 'default', uid: 'u' },
  spec: { containers: [{ name: 'c' }], ...spec },
});
const node = (name: string, ready = true, labels: Record<string, string> = {}): SchedNode => ({
  name,
  ready,
  labels: { 'kubernetes.io/hostname': name, ...labels },
});

describe('lab scheduler', () => {
  const nodes = [node('n1'), node('n2'), node('n3')];

  it('picks the least-loaded ready node', () => {
    expect(
      chooseNode(
        pod(),
        nodes,
        new Map([
          ['n1', 3],
          ['n2', 1],
          ['n3', 2],
        ]),
        0,
      ),
    ).toBe('n2');
    expect(chooseNode(pod(), [node('n1'), node('n2', false)], new Map([['n1', 9]]), 0)).toBe('n1');
  });

  it('spreads equal nodes in turn', () => {
    const load = new Map<string, number>();
    const chosen: string[] = [];
    for (let turn = 0; turn < 6; turn++) {
      const n = chooseNode(pod(), nodes, load, turn)!;
      load.set(n, (load.get(n) ?? 0) + 1);
      chosen.push(n);
    }
    expect(chosen.filter((n) => n === 'n1')).toHaveLength(2);
    expect(chosen.filter((n) => n === 'n2')).toHaveLength(2);
    expect(chosen.filter((n) => n === 'n3')).toHaveLength(2);
  });

  it('binds nothing when no ready node fits', () => {
    expect(chooseNode(pod(), [node('n1', false)], new Map(), 0)).toBeUndefined();
    expect(chooseNode(pod({ nodeSelector: { disk: 'ssd' } }), nodes, new Map(), 0)).toBeUndefined();
  });

  it('honours nodeSelector and required node affinity (labels and metadata.name, as DaemonSets use)', () => {
    expect(fits(pod({ nodeSelector: { 'kubernetes.io/hostname': 'n2' } }), nodes[1]!)).toBe(true);
    expect(fits(pod({ nodeSelector: { 'kubernetes.io/hostname': 'n2' } }), nodes[0]!)).toBe(false);
    const daemonSetPod = pod({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n3'] }] }],
          },
        },
      },
    });
    expect(chooseNode(daemonSetPod, nodes, new Map([['n3', 50]]), 0)).toBe('n3');
    const terms = (t: object[]): Partial<Pod['spec']> => ({
      affinity: {
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: t } },
      },
    });
    const gpu = node('g', true, { gpu: 'yes', zone: 'b' });
    expect(fits(pod(terms([{ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }])), gpu)).toBe(true);
    expect(fits(pod(terms([{ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }])), gpu)).toBe(
      false,
    );
    expect(
      fits(
        pod(
          terms([
            { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['b'] }] },
            { matchExpressions: [{ key: 'gpu', operator: 'In', values: ['yes'] }] },
          ]),
        ),
        gpu,
      ),
    ).toBe(true);
  });
});
