// The assembled agent's NetworksPort: a pod's networks read from the cluster view and the
// pipeline's networks, other plugins run through agent/multinet (in the node's namespace, from
// the node's plugin directories), and the node's attachment records published for
// network-status.
import { runTool } from '../../lib/iproute.ts';
import { sleep } from '../../lib/timing.ts';
import type { Logger } from '../../lib/logging.ts';
import type { AttachmentPublisher } from '../attachments/publisher.ts';
import { delegateAdd, delegateCheck, delegateDel } from '../multinet/delegate.ts';
import type { NetworkOnNode } from '../networks/plan.ts';
import type { ClusterView } from '../view/view.ts';
import { DEFAULT_ONLY, podNetworks, type PodNetworks } from './pod-networks.ts';
import type { DelegateCall, NetworksPort } from './ports.ts';
import type { Identity } from './request.ts';

export interface AgentNetworksOptions {
  view: ClusterView;
  network: (name: string) => NetworkOnNode | undefined;
  publisher: AttachmentPublisher;
  /** Where delegated plugins are found (and CNI_PATH). */
  binDirs: readonly string[];
  /** The node's namespace, when the agent is not in it (the lab, tests). */
  runIn?: string;
  /**
   * How long an ADD waits for a pod the view does not know yet, where that matters: once any
   * network or NetworkAttachmentDefinition exists, the pod's annotations decide its interfaces.
   */
  podWaitMs: number;
  logger: Logger;
}

export function agentNetworks(opts: AgentNetworksOptions): NetworksPort {
  const { view } = opts;
  const delegateOpts = {
    binDirs: opts.binDirs,
    ...(opts.runIn !== undefined ? { runIn: opts.runIn } : {}),
  };
  const podOf = async (id: Identity) => {
    const name = `${id.namespace}/${id.pod}`;
    let pod = view.pods.get(name);
    // A cluster without custom networks or NADs answers at once: nothing in a pod's
    // annotations could change what it gets.
    if (pod || (view.networks.size === 0 && view.netattachs.size === 0)) return pod;
    const until = Date.now() + opts.podWaitMs;
    while (!pod && Date.now() < until) {
      await sleep(50);
      pod = view.pods.get(name);
    }
    if (!pod)
      opts.logger.warn(
        { pod: name, waitedMs: opts.podWaitMs },
        'pod not mirrored yet: attached to the default network only',
      );
    return pod;
  };
  return {
    async plan(id: Identity): Promise<PodNetworks> {
      if (id.namespace === '_cni') return DEFAULT_ONLY; // not a Kubernetes pod
      const pod = await podOf(id);
      return podNetworks({
        pod,
        namespaceAnnotations: view.namespaces.get(id.namespace)?.annotations,
        nad: (name) => view.netattachs.get(name),
        network: opts.network,
        primaryIfname: id.ifname,
      });
    },
    delegateAdd: (call: DelegateCall) => delegateAdd({ ...call, ...delegateOpts }),
    delegateDel: (call: DelegateCall) => delegateDel({ ...call, ...delegateOpts }),
    delegateCheck: (call: DelegateCall) => delegateCheck({ ...call, ...delegateOpts }),
    async setDefaultRoute(netns: string, ifname: string, gateway: string): Promise<void> {
      await runTool('ip', ['route', 'replace', 'default', 'via', gateway, 'dev', ifname], {
        netns,
        timeoutMs: 10_000,
      });
    },
    changed: () => opts.publisher.changed(),
  };
}
