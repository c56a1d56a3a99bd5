// PodPolicy builders for the vpp policy tests: a direction given rules is isolated, one given
// undefined is open.
import type { PodPolicy, PolicyPeer, PolicyPort, PolicyRule } from '../../../items/values.ts';

/** An allow rule (origin fixed: the tests never explain). */
export const allow = (peers: PolicyPeer[], ports: PolicyPort[] = [], viaService = false): PolicyRule => ({
  origin: 'ns/np#0',
  peers,
  ports,
  viaService,
});

export const setPeer = (id: string): PolicyPeer => ({ type: 'set', set: id });

export const tcp = (port: number, endPort = port): PolicyPort => ({ protocol: 'TCP', port, endPort });

/** The policy of `<namespace>/<pod>`'s eth0 (pod IP `ip`). */
export function podPolicy(
  where: { namespace: string; pod: string; ip: string },
  ingress?: PolicyRule[],
  egress?: PolicyRule[],
): PodPolicy {
  return {
    namespace: where.namespace,
    pod: where.pod,
    interface: `pod-interface/${where.namespace}/${where.pod}/eth0`,
    podIps: [where.ip],
    ingress: { isolated: ingress !== undefined, rules: ingress ?? [] },
    egress: { isolated: egress !== undefined, rules: egress ?? [] },
  };
}
