import { describe, expect, it } from 'vitest';
import type { Attachment } from '../attachments/attachment.ts';
import { isNetworkOnNode, networkOnNode, type NetworkOnNode } from '../networks/plan.ts';
import type { Network } from '../view/decode.ts';
import { renderNetworkBase, renderNetworkPeer } from './networks.ts';
import { renderPodAttachment } from './pods.ts';
import { testNodeContext } from './testing.ts';

const ctx = testNodeContext({ node: 'n2', id: 2, podSubnet: '10.1.2.0/24', gateway: '10.1.2.1' });

function blue(over: Partial<Network> = {}): NetworkOnNode {
  const n = networkOnNode(
    {
      name: 'team/blue',
      id: 4,
      subnets: ['10.20.0.0/16'],
      vni: 4100,
      nodePrefixLength: 24,
      gatewayOffset: 1,
      snat: false,
      ...over,
    },
    ctx.id,
    ctx.vni,
  );
  if (!isNetworkOnNode(n)) throw new Error(n.problem);
  return n;
}

const peer = { name: 'n5', id: 5, tunnelEndpoint: '192.168.0.5', podSubnet: '10.1.5.0/24' };

describe('renderNetworkBase', () => {
  it("renders the network's VRF, this node's gateway in its block, its overlay, and bars the default network from it", () => {
    expect(renderNetworkBase(ctx, blue(), ['10.20.0.0/16'])).toEqual([
      { key: 'vrf/4', value: { id: 4, network: 'team/blue', subnets: ['10.20.0.0/16'] } },
      { key: 'address/4/10.20.2.1', value: { vrf: 4, address: '10.20.2.1/24', role: 'pod-gateway' } },
      { key: 'route/0/10.20.0.0/16', value: { vrf: 0, dst: '10.20.0.0/16', via: { type: 'drop' } } },
      {
        key: 'overlay/4100',
        value: { vni: 4100, vrf: 4, localIp: '192.168.0.1', localId: 2, port: 4789, mtu: 1450 },
      },
    ]);
  });

  it("masquerades the block's traffic leaving the cluster when the network asks, sparing every internal destination", () => {
    const items = renderNetworkBase(ctx, blue({ snat: true }), ['10.20.0.0/16', '10.30.0.0/24']);
    expect(items.find((i) => i.key.startsWith('snat/'))).toEqual({
      key: 'snat/4/10.20.2.0/24',
      value: {
        vrf: 4,
        source: '10.20.2.0/24',
        except: ['10.1.0.0/16', '10.96.0.0/12', '10.20.0.0/16', '10.30.0.0/24'],
        toAddress: '',
      },
    });
  });

  it('has no overlay without a tunnel endpoint', () => {
    const keys = renderNetworkBase(testNodeContext({ ...ctx, tunnelEndpoint: '' }), blue(), []).map(
      (i) => i.key,
    );
    expect(keys.some((k) => k.startsWith('overlay/'))).toBe(false);
  });
});

describe('renderNetworkPeer', () => {
  it("tunnels on the network's VNI to the peer and routes the peer's block (from its ID) in the network's VRF", () => {
    expect(renderNetworkPeer(ctx, blue(), peer)).toEqual([
      {
        key: 'tunnel/4100/n5',
        value: {
          vni: 4100,
          vrf: 4,
          peer: 'n5',
          peerId: 5,
          remoteIp: '192.168.0.5',
          localIp: '192.168.0.1',
          port: 4789,
        },
      },
      {
        key: 'route/4/10.20.5.0/24',
        value: {
          vrf: 4,
          dst: '10.20.5.0/24',
          via: { type: 'interface', interface: 'tunnel/4100/n5', gateway: '10.20.5.1' },
        },
      },
    ]);
  });

  it.each([
    ['itself by name', { ...peer, name: 'n2' }],
    ['its own ID', { ...peer, id: 2 }],
    ['a peer without an endpoint', { ...peer, tunnelEndpoint: '' }],
    ['a peer whose ID has no block in the network', { ...peer, id: 300 }],
  ])('renders nothing for %s', (_what, p) => {
    expect(renderNetworkPeer(ctx, blue(), p)).toEqual([]);
  });

  it('renders nothing without a local tunnel endpoint', () => {
    expect(renderNetworkPeer(testNodeContext({ ...ctx, tunnelEndpoint: '' }), blue(), peer)).toEqual([]);
  });
});

describe('renderPodAttachment in a network', () => {
  const a: Attachment = {
    containerId: 'c1',
    ifname: 'eth0',
    namespace: 'team',
    pod: 'web-1',
    netns: '/var/run/netns/p1',
    ip: '10.20.2.9',
    network: 'team/blue',
  };

  it("puts a primary interface in the network's VRF with the block's gateway", () => {
    const [iface, route] = renderPodAttachment(ctx, a, blue());
    expect(iface?.value).toMatchObject({
      vrf: 4,
      gateway: '10.20.2.1',
      addresses: ['10.20.2.9/32'],
      mac: '',
    });
    expect(iface?.value).not.toHaveProperty('routes');
    expect(route).toEqual({
      key: 'route/4/10.20.2.9/32',
      value: {
        vrf: 4,
        dst: '10.20.2.9/32',
        via: { type: 'interface', interface: 'pod-interface/team/web-1/eth0' },
      },
    });
  });

  it("gives an extra interface no default route, its network's subnets instead, and the requested MAC", () => {
    const [iface] = renderPodAttachment(
      ctx,
      { ...a, ifname: 'net1', extra: true, mac: '02:00:00:00:00:09' },
      blue(),
    );
    expect(iface?.key).toBe('pod-interface/team/web-1/net1');
    expect(iface?.value).toMatchObject({
      gateway: '',
      routes: ['10.20.0.0/16'],
      mac: '02:00:00:00:00:09',
      vrf: 4,
    });
  });

  it('renders nothing for a network this node does not know, or another network than asked', () => {
    expect(renderPodAttachment(ctx, a)).toEqual([]);
    expect(renderPodAttachment(ctx, a, blue({ name: 'team/red' }))).toEqual([]);
  });

  it("renders nothing for another plugin's interface", () => {
    const delegated = {
      attachmentDefinition: 'team/mv',
      config: '{}',
      result: '{}',
      selection: '{}',
      ips: ['192.0.2.5/24'],
      mac: '02:00:00:00:00:01',
    };
    expect(renderPodAttachment(ctx, { ...a, network: '', ip: '', delegated })).toEqual([]);
  });
});
