// Table tests of the pure renderers: inputs → exact items.
import { describe, expect, it } from 'vitest';
import type { NodeContext } from './context.ts';
import { hostIfName } from './names.ts';
import { renderNodeBase } from './node.ts';
import { judgeNodeInfo, peerFor, type PeerInputs } from './peer-select.ts';
import { renderPeer } from './peers.ts';
import { renderPodAttachment } from './pods.ts';

const ctx: NodeContext = {
  node: 'n3',
  id: 3,
  podSubnet: '10.1.3.0/24',
  gateway: '10.1.3.1',
  podPrefixLength: 24,
  podCidr: '10.1.0.0/16',
  serviceCidr: '10.96.0.0/12',
  tunnelEndpoint: '192.168.0.3',
  vni: 10,
  vxlanPort: 4789,
  mtu: 1450,
};

describe('renderPodAttachment', () => {
  it('renders the interface in the pod and the /32 route to it', () => {
    const items = renderPodAttachment(ctx, {
      containerId: 'abc',
      ifname: 'eth0',
      namespace: 'default',
      pod: 'web-1',
      netns: '/var/run/netns/cni-1',
      ip: '10.1.3.7',
      network: '',
    });
    expect(items).toEqual([
      {
        key: 'pod-interface/default/web-1/eth0',
        value: {
          namespace: 'default',
          pod: 'web-1',
          containerId: 'abc',
          netns: '/var/run/netns/cni-1',
          ifname: 'eth0',
          hostIfName: hostIfName('abc', 'eth0'),
          mtu: 1450,
          vrf: 0,
          addresses: ['10.1.3.7/32'],
          gateway: '10.1.3.1',
          mac: '',
        },
      },
      {
        key: 'route/0/10.1.3.7/32',
        value: {
          vrf: 0,
          dst: '10.1.3.7/32',
          via: { type: 'interface', interface: 'pod-interface/default/web-1/eth0' },
        },
      },
    ]);
  });

  it('derives stable host names of at most 15 characters, distinct per interface', () => {
    expect(hostIfName('abc', 'eth0')).toMatch(/^nl[0-9a-f]{12}$/);
    expect(hostIfName('abc', 'eth0')).toBe(hostIfName('abc', 'eth0'));
    expect(hostIfName('abc', 'net1')).not.toBe(hostIfName('abc', 'eth0'));
  });
});

describe('renderNodeBase', () => {
  it.each([
    ['with an overlay', ctx, ['address/0/10.1.3.1', 'snat/0/10.1.3.0/24', 'overlay/10']],
    [
      'without a tunnel endpoint',
      { ...ctx, tunnelEndpoint: '' },
      ['address/0/10.1.3.1', 'snat/0/10.1.3.0/24'],
    ],
  ])('%s', (_name, c, keys) => {
    const items = renderNodeBase(c);
    expect(items.map((i) => i.key)).toEqual(keys);
    expect(items[0]?.value).toEqual({ vrf: 0, address: '10.1.3.1/24', role: 'pod-gateway' });
    expect(items[1]?.value).toEqual({
      vrf: 0,
      source: '10.1.3.0/24',
      except: ['10.1.0.0/16', '10.96.0.0/12'],
      toAddress: '',
    });
  });

  it('describes this node as the overlay end', () => {
    expect(renderNodeBase(ctx)[2]?.value).toEqual({
      vni: 10,
      vrf: 0,
      localIp: '192.168.0.3',
      localId: 3,
      port: 4789,
      mtu: 1450,
    });
  });
});

describe('renderPeer', () => {
  const peer = { name: 'n5', id: 5, tunnelEndpoint: '192.168.0.5', podSubnet: '10.1.5.0/24' };

  it('renders a tunnel and the route to the peer pod subnet through it', () => {
    expect(renderPeer(ctx, peer)).toEqual([
      {
        key: 'tunnel/10/n5',
        value: {
          vni: 10,
          vrf: 0,
          peer: 'n5',
          peerId: 5,
          remoteIp: '192.168.0.5',
          localIp: '192.168.0.3',
          port: 4789,
        },
      },
      {
        key: 'route/0/10.1.5.0/24',
        value: {
          vrf: 0,
          dst: '10.1.5.0/24',
          via: { type: 'interface', interface: 'tunnel/10/n5', gateway: '10.1.5.1' },
        },
      },
    ]);
  });

  it.each([
    ['itself', { ...peer, name: 'n3' }, ctx],
    ['a peer without endpoint', { ...peer, tunnelEndpoint: '' }, ctx],
    ['a peer with a bad subnet', { ...peer, podSubnet: 'x' }, ctx],
    ['any peer when this node has no overlay', peer, { ...ctx, tunnelEndpoint: '' }],
    ["a peer with this node's ID", { ...peer, id: 3 }, ctx],
    ["a peer with this node's subnet", { ...peer, podSubnet: '10.1.3.0/24' }, ctx],
    ["a peer with a subnet holding this node's", { ...peer, podSubnet: '10.1.0.0/22' }, ctx],
    ['a peer with the whole pod CIDR', { ...peer, podSubnet: '10.1.0.0/16' }, ctx],
    ['a peer with a default route', { ...peer, podSubnet: '0.0.0.0/0' }, ctx],
    ['a peer with a subnet outside the pod CIDR', { ...peer, podSubnet: '192.168.0.0/24' }, ctx],
    ['a peer with an IPv6 subnet in an IPv4 pod CIDR', { ...peer, podSubnet: 'fd00::/64' }, ctx],
  ])('renders nothing for %s', (_n, p, c) => {
    expect(renderPeer(c, p)).toEqual([]);
  });
});

describe('peerFor', () => {
  const subnetOf = (id: number): string | undefined => (id >= 1 && id <= 255 ? `10.1.${id}.0/24` : undefined);
  const info = {
    name: 'n5',
    id: 5,
    managementIp: '',
    tunnelEndpoint: '192.168.0.5',
    podSubnet: '10.1.5.0/24',
  };
  const k8sNode = {
    name: 'n5',
    labels: {},
    annotations: {},
    addresses: [{ type: 'InternalIP', address: '192.168.9.5' }],
    podCidrs: [],
    unschedulable: false,
  };
  const last = { name: 'n5', id: 5, tunnelEndpoint: '192.168.0.55', podSubnet: '10.1.5.0/24' };
  const fromInfo = { name: 'n5', id: 5, tunnelEndpoint: '192.168.0.5', podSubnet: '10.1.5.0/24' };
  it.each<[string, Omit<PeerInputs, 'subnetOf'>, unknown]>([
    ['published info wins', { info, k8sNode, lastKnown: last, claimedId: 5 }, fromInfo],
    ['info gone, Node kept: last known', { k8sNode, lastKnown: last, claimedId: 5 }, last],
    [
      'info gone, agent restarted: claim + InternalIP',
      { k8sNode, claimedId: 5 },
      { name: 'n5', id: 5, tunnelEndpoint: '192.168.9.5', podSubnet: '10.1.5.0/24' },
    ],
    ['info gone, no claim', { k8sNode }, undefined],
    ['info and Node gone', { lastKnown: last, claimedId: 5 }, undefined],
    ['incomplete info, no Node', { info: { ...info, tunnelEndpoint: '' } }, undefined],
    // Forged or stale records: what the ID implies wins, the record's endpoint is kept.
    ['info with a foreign subnet', { info: { ...info, podSubnet: '0.0.0.0/0' }, claimedId: 5 }, fromInfo],
    [
      'info with the host network',
      { info: { ...info, podSubnet: '192.168.0.0/24' }, claimedId: 5 },
      fromInfo,
    ],
    ['info without a subnet', { info: { ...info, podSubnet: '' }, claimedId: 5 }, fromInfo],
    [
      "info with another node's ID",
      { info: { ...info, id: 3, podSubnet: '10.1.3.0/24' }, claimedId: 5 },
      fromInfo,
    ],
    ['info no claim backs, no Node', { info }, undefined],
    ['info no claim backs, Node kept: last known', { info, k8sNode, lastKnown: last }, last],
    ['info whose claimed ID is outside the plan', { info: { ...info, id: 300 }, claimedId: 300 }, undefined],
    [
      'info with an endpoint that is no address',
      { info: { ...info, tunnelEndpoint: 'x y' }, claimedId: 5 },
      undefined,
    ],
  ])('%s', (_n, inputs, want) => {
    expect(peerFor('n5', { ...inputs, subnetOf })).toEqual(want);
  });
});

describe('judgeNodeInfo', () => {
  const subnetOf = (id: number): string | undefined => (id >= 1 && id <= 255 ? `10.1.${id}.0/24` : undefined);
  const info = {
    name: 'n5',
    id: 5,
    managementIp: '',
    tunnelEndpoint: '192.168.0.5',
    podSubnet: '10.1.5.0/24',
  };

  it('finds nothing wrong with a record its ID agrees with', () => {
    expect(judgeNodeInfo('n5', info, { claimedId: 5, subnetOf }).problems).toEqual([]);
  });

  it.each<[string, Partial<typeof info>, number | undefined, RegExp[]]>([
    [
      'a default route',
      { podSubnet: '0.0.0.0/0' },
      5,
      [/podSubnet is 0\.0\.0\.0\/0, ID 5 implies 10\.1\.5\.0\/24/],
    ],
    [
      "another node's ID and subnet",
      { id: 3, podSubnet: '10.1.3.0/24' },
      5,
      [/id is 3, but nodes\/id\/5 names n5/, /podSubnet is 10\.1\.3\.0\/24/],
    ],
    ['another name', { name: 'n9' }, 5, [/name is "n9"/]],
    ['no claim', {}, undefined, [/no single nodes\/id claim names n5: its ID 5 is unproven/]],
    [
      'an endpoint that is no address',
      { tunnelEndpoint: 'evil' },
      5,
      [/tunnelEndpoint "evil" is not an IP address/],
    ],
  ])('names %s', (_n, over, claimedId, want) => {
    const { problems } = judgeNodeInfo(
      'n5',
      { ...info, ...over },
      { ...(claimedId ? { claimedId } : {}), subnetOf },
    );
    expect(problems).toHaveLength(want.length);
    want.forEach((w, i) => expect(problems[i]).toMatch(w));
  });
});
