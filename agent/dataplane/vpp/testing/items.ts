// The node and pods the vpp driver tests wire (items from the Linux driver's fixtures): node n1
// of three, pods p<i> on it; Service frontends as the renderer shapes them.
import type { Service } from '../../../items/values.ts';
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

/** A backend on port 8080 (or `port`) with weight 1. */
export const backend = (ip: string, weight = 1, local = false, port = 8080): Service['backends'][number] => ({
  ip,
  port,
  weight,
  local,
});

/** A TCP cluster-IP frontend of default/web on port 80, rejecting without backends; `extra` overrides. */
export const service = (
  vip: string,
  backends: Service['backends'],
  extra: Partial<Service> = {},
): Service => ({
  namespace: 'default',
  name: 'web',
  portName: 'http',
  vrf: 0,
  kind: 'cluster-ip',
  vip,
  protocol: 'TCP',
  port: 80,
  backends,
  affinitySeconds: 0,
  noBackends: 'reject',
  masqueradeOutside: [],
  ...extra,
});
