// Item keys: the flat namespace the renderers fill and the KV scheduler applies. These are
// in-memory keys of the agent (never etcd keys: lib/keyspace.ts owns those). Every key is
// `<family>/<parts…>`; a descriptor claims a family by its prefix. This module is the only
// place that builds item keys, so a family's layout can change in one spot.
//
// Parts may not contain '/', except the last part of route and snat keys, which is a CIDR.

export const PREFIX = {
  vrf: 'vrf/',
  podInterface: 'pod-interface/',
  address: 'address/',
  route: 'route/',
  overlay: 'overlay/',
  tunnel: 'tunnel/',
  snat: 'snat/',
  service: 'service/',
  policy: 'policy/',
  peerSet: 'peer-set/',
} as const;

export type Family = keyof typeof PREFIX;

function part(value: string | number): string {
  const s = String(value);
  if (s === '' || s.includes('/')) throw new Error(`invalid item key part ${JSON.stringify(s)}`);
  return s;
}

/** A VRF (routing table / FIB table). VRF 0 is the default table and never an item. */
export const vrfKey = (vrf: number): string => PREFIX.vrf + part(vrf);

/** One interface of one pod (eth0, net1, …), keyed by the pod, not the container. */
export const podInterfaceKey = (namespace: string, pod: string, ifname: string): string =>
  PREFIX.podInterface + [part(namespace), part(pod), part(ifname)].join('/');

/** An address the node's data plane owns in a VRF (the pod gateway). */
export const addressKey = (vrf: number, ip: string): string => PREFIX.address + `${part(vrf)}/${part(ip)}`;

/** A route in a VRF; `dst` is a CIDR. */
export const routeKey = (vrf: number, dst: string): string => PREFIX.route + `${part(vrf)}/${dst}`;

/** The node's overlay endpoint for one VNI (a VXLAN device, a bridge domain…). */
export const overlayKey = (vni: number): string => PREFIX.overlay + part(vni);

/** The tunnel to one peer node on one VNI. */
export const tunnelKey = (vni: number, peerNode: string): string =>
  PREFIX.tunnel + `${part(vni)}/${part(peerNode)}`;

/** Source NAT of traffic from `source` (a CIDR) leaving the cluster. */
export const snatKey = (vrf: number, source: string): string => PREFIX.snat + `${part(vrf)}/${source}`;

/** One service frontend: VIP, protocol, port. `vip` is 'node' for a node port (every node address). */
export const serviceKey = (vrf: number, protocol: string, vip: string, port: number): string =>
  PREFIX.service + [part(vrf), part(protocol.toLowerCase()), part(vip), part(port)].join('/');

/** The addresses one policy peer selects (PeerSet). */
export const peerSetKey = (id: string): string => PREFIX.peerSet + part(id);

/** The policy rules applied to one pod interface. */
export const policyKey = (namespace: string, pod: string, ifname: string): string =>
  PREFIX.policy + [part(namespace), part(pod), part(ifname)].join('/');
