// The node the renderer, pipeline and CNI tests render for: node 1 of the default plan
// (10.1.1.0/24, gateway .1), overlay on 192.168.0.1 unless a test turns it off.
import type { NodeContext } from './context.ts';

export function testNodeContext(over: Partial<NodeContext> = {}): NodeContext {
  return {
    node: 'n1',
    id: 1,
    podSubnet: '10.1.1.0/24',
    gateway: '10.1.1.1',
    podPrefixLength: 24,
    podCidr: '10.1.0.0/16',
    serviceCidr: '10.96.0.0/12',
    tunnelEndpoint: '192.168.0.1',
    vni: 10,
    vxlanPort: 4789,
    mtu: 1450,
    ...over,
  };
}
