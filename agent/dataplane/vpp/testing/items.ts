// The node and pods the vpp driver tests wire (items from the Linux driver's fixtures): node n1
// of three, pods p<i> on it.
import type { Item } from '../../../scheduler/descriptor.ts';
import { nodeItems, type TestNode, type TestPod } from '../../linux/test-items.ts';

export const nodes: TestNode[] = [
  { name: 'n1', id: 1, underlayIp: '192.168.0.1' },
  { name: 'n2', id: 2, underlayIp: '192.168.0.2' },
  { name: 'n3', id: 3, underlayIp: '192.168.0.3' },
];

export const pod = (i: number): TestPod => ({
  namespace: 'default',
  name: `p${i}`,
  containerId: `c${i}`,
  netns: `/run/netns/p${i}`,
  ip: `10.1.1.${10 + i}`,
  hostIfName: `nlp${i}`,
});

/** Node n1's own items, with tunnels to `peers`. */
export const node1 = (peers = nodes): Item[] => nodeItems(nodes[0]!, peers);
