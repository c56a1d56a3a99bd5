// The dependencies every data plane shares, per family: pure functions of the value. A
// driver's descriptor returns these from `dependencies` and may add its own.
import type { Dependency } from '../scheduler/descriptor.ts';
import { addressKey, overlayKey, peerSetKey, vrfKey } from './keys.ts';
import type {
  Address,
  Overlay,
  PodInterface,
  PodPolicy,
  Route,
  Service,
  SourceNat,
  Tunnel,
  Vrf,
} from './values.ts';

const inVrf = (vrf: number): Dependency[] => (vrf === 0 ? [] : [{ label: 'vrf', key: vrfKey(vrf) }]);

export function vrfDependencies(_value: Vrf): Dependency[] {
  return [];
}

/** A pod interface needs its VRF and the gateway address its default route points at. */
export function podInterfaceDependencies(value: PodInterface): Dependency[] {
  const gateway =
    value.gateway === '' ? [] : [{ label: 'gateway', key: addressKey(value.vrf, value.gateway) }];
  return [...inVrf(value.vrf), ...gateway];
}

export function addressDependencies(value: Address): Dependency[] {
  return inVrf(value.vrf);
}

/** A route needs its VRF and the interface (pod interface, tunnel) it points at. */
export function routeDependencies(value: Route): Dependency[] {
  const via = value.via.type === 'interface' ? [{ label: 'interface', key: value.via.interface }] : [];
  return [...inVrf(value.vrf), ...via];
}

export function overlayDependencies(value: Overlay): Dependency[] {
  return inVrf(value.vrf);
}

/** A tunnel needs this node's overlay endpoint for its VNI. */
export function tunnelDependencies(value: Tunnel): Dependency[] {
  return [{ label: 'overlay', key: overlayKey(value.vni) }];
}

export function snatDependencies(value: SourceNat): Dependency[] {
  return inVrf(value.vrf);
}

export function serviceDependencies(value: Service): Dependency[] {
  return inVrf(value.vrf);
}

/** Policy rules need the pod interface they filter and every peer set they name. */
export function policyDependencies(value: PodPolicy): Dependency[] {
  const sets = new Set<string>();
  for (const r of [...value.ingress.rules, ...value.egress.rules])
    for (const p of r.peers) if (p.type === 'set') sets.add(p.set);
  return [
    { label: 'interface', key: value.interface },
    ...[...sets].sort().map((id) => ({ label: 'peer-set', key: peerSetKey(id) })),
  ];
}
