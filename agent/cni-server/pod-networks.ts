// Which networks a pod is attached to, decided from what the cluster view holds (pure): the
// primary interface's network (Contrail's `opencontrail.org/network` on the pod or its
// namespace; the default network otherwise) and each extra interface the pod asks for in
// `k8s.v1.cni.cncf.io/networks` — a netloom network, attached natively, or any other CNI type,
// delegated to that plugin with its NetworkAttachmentDefinition's config. Every refusal is a
// CNI error that says what to fix; nothing here touches the data plane.
import { CniCode, CniError } from '../../cni/errors.ts';
import { containsIp, splitCidr } from '../../lib/cidr.ts';
import { networkDefinition } from '../../lib/netattach/definition.ts';
import {
  NETWORKS_ANNOTATION,
  parseNetworkSelections,
  type NetworkSelection,
} from '../../lib/netattach/selection.ts';
import type { NetworkOnNode } from '../networks/plan.ts';
import { networkName, primaryNetworkOf } from '../networks/primary.ts';
import type { NetAttach } from '../view/decode.ts';

export type ExtraPlan =
  /** A netloom network: IPAM from this node's block, wired by the driver in its VRF. */
  | { kind: 'native'; selection: NetworkSelection; network: NetworkOnNode; ip?: string }
  /** Another plugin, run with the NetworkAttachmentDefinition's config. */
  | { kind: 'delegated'; selection: NetworkSelection; nad: NetAttach };

export interface PodNetworks {
  /** The primary interface's network: '' for the default network. */
  primary: string;
  extras: ExtraPlan[];
  /**
   * An extra interface takes the pod's default route (its selection's `default-route`): the
   * primary then routes only the cluster's prefixes.
   */
  defaultRouteElsewhere: boolean;
}

export interface PodNetworksInput {
  pod: { namespace: string; name: string; annotations: Readonly<Record<string, string>> } | undefined;
  namespaceAnnotations: Readonly<Record<string, string>> | undefined;
  /** The mirrored NetworkAttachmentDefinition `<namespace>/<name>`. */
  nad: (name: string) => NetAttach | undefined;
  /** A netloom network as this node uses it (undefined: unknown, or no block for the node). */
  network: (name: string) => NetworkOnNode | undefined;
  /** The primary interface's name (CNI_IFNAME), which extra interfaces may not take. */
  primaryIfname: string;
}

/** What a pod that netloom does not know (yet) gets: the default network, nothing more. */
export const DEFAULT_ONLY: PodNetworks = { primary: '', extras: [], defaultRouteElsewhere: false };

const invalid = (msg: string, cause?: unknown): CniError =>
  new CniError(CniCode.InvalidConfig, msg, cause === undefined ? undefined : { cause });

export function podNetworks(input: PodNetworksInput): PodNetworks {
  const { pod } = input;
  if (!pod) return DEFAULT_ONLY;
  let primary = '';
  try {
    const ref = primaryNetworkOf(pod, input.namespaceAnnotations);
    if (ref) primary = networkName(ref);
  } catch (err) {
    throw invalid((err as Error).message, err);
  }
  if (primary !== '' && !input.network(primary))
    throw new CniError(
      CniCode.TryAgainLater,
      `network ${primary} (${'opencontrail.org/network'}) is not a netloom network this node can use yet`,
      {
        details: input.nad(primary)
          ? 'its NetworkAttachmentDefinition exists but netloom has not registered the network (see its Events)'
          : 'no NetworkAttachmentDefinition of that name',
      },
    );
  const value = pod.annotations[NETWORKS_ANNOTATION];
  if (value === undefined || value.trim() === '')
    return { primary, extras: [], defaultRouteElsewhere: false };
  let selections: NetworkSelection[];
  try {
    selections = parseNetworkSelections(value, pod.namespace, { reservedInterfaces: [input.primaryIfname] });
  } catch (err) {
    throw invalid((err as Error).message, err);
  }
  const withDefault = selections.filter((s) => s.defaultRoute.length > 0);
  if (withDefault.length > 1)
    throw invalid(
      `${NETWORKS_ANNOTATION}: "default-route" on ${withDefault.map((s) => `${s.name}@${s.interface}`).join(' and ')}; a pod has one default route`,
    );
  return {
    primary,
    extras: selections.map((s) => extraPlan(s, input)),
    defaultRouteElsewhere: withDefault.length === 1,
  };
}

function extraPlan(selection: NetworkSelection, input: PodNetworksInput): ExtraPlan {
  const name = `${selection.namespace}/${selection.name}`;
  const what = `${NETWORKS_ANNOTATION} ${name}@${selection.interface}`;
  const nad = input.nad(name);
  if (!nad)
    throw new CniError(CniCode.TryAgainLater, `${what}: no NetworkAttachmentDefinition ${name} (yet)`);
  const def = networkDefinition({
    namespace: nad.namespace,
    name: nad.name,
    config: nad.config,
    annotations: nad.annotations ?? {},
  });
  if (def.kind === 'invalid') throw invalid(`${what}: ${def.reason}`);
  if (def.kind === 'delegate') {
    if (def.types.length === 0)
      throw new CniError(
        CniCode.UnsupportedField,
        `${what}: the NetworkAttachmentDefinition has no spec.config (netloom does not read on-disk configs)`,
      );
    return { kind: 'delegated', selection, nad };
  }
  const network = input.network(name);
  if (!network)
    throw new CniError(
      CniCode.TryAgainLater,
      `${what}: netloom has not registered network ${name} yet, or this node has no block of it`,
    );
  // On a netloom network the next hop is the node's gateway in its block: the only default
  // route that interface can carry.
  const gw = network.block.gateway;
  if (selection.defaultRoute.some((r) => r !== gw))
    throw invalid(`${what}: "default-route" must be ${gw}, this node's gateway in ${name}`);
  if (selection.ips.length > 1)
    throw new CniError(
      CniCode.UnsupportedField,
      `${what}: a netloom network gives one IPv4 address per interface`,
    );
  const requested = selection.ips[0];
  if (requested === undefined) return { kind: 'native', selection, network };
  const ip = splitCidr(requested)?.ip ?? '';
  if (!containsIp(network.block.cidr, ip))
    throw invalid(
      `${what}: requested address ${requested} is outside ${network.block.cidr}, ` +
        `this node's block of ${name} (each node allocates from its own block)`,
    );
  return { kind: 'native', selection, network, ip };
}
