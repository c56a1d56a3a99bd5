// Who a CNI request is about, checked as the spec requires (the shim checks too; the agent
// does not trust its socket's other clients to have done so): container ID, interface name
// and netns path by the rules the shim uses (cni/validate.ts), then what the netns path is on
// this node (netns-path.ts), then the pod from K8S_POD_* (or, outside Kubernetes, the
// container itself).
import type { CniRequest__Output } from '../../proto/gen/netloom/cni/v1/CniRequest.ts';
import { CniCode, CniError } from '../../cni/errors.ts';
import { containerIdProblem, ifnameProblem, netnsPathProblem } from '../../cni/validate.ts';
import { NetnsCheck } from './netns-path.ts';

export interface Identity {
  containerId: string;
  ifname: string;
  netns: string;
  namespace: string;
  pod: string;
  podUid: string;
}

export interface IdentifyOptions {
  /** ADD and CHECK: a netns is required and will be entered. DEL: it may be absent. */
  needNetns: boolean;
  /** The netns check; default: the lenient one (a missing path is left to the data plane). */
  netns?: NetnsCheck;
}

/** Kubernetes names: DNS labels/subdomains; anything else cannot become an item key part. */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Refuses the host's namespace, namespaces of other kinds, files, directories and symlinks;
 * leaves a path that does not exist to the data plane. The unit tests' fake data planes model
 * namespaces that exist only in them; the assembly should pass a `refuse` check where the
 * data plane is real (see the README).
 */
const DEFAULT_NETNS_CHECK = new NetnsCheck({ missing: 'defer' });

export function identify(req: CniRequest__Output, opts: IdentifyOptions): Identity {
  const bad = (what: string): CniError => new CniError(CniCode.InvalidEnvironment, what);
  const problem =
    containerIdProblem(req.containerId) ??
    ifnameProblem(req.ifname) ??
    (opts.needNetns || req.netns !== '' ? netnsPathProblem(req.netns) : undefined);
  if (problem) throw bad(problem);
  if (req.netns !== '')
    (opts.netns ?? DEFAULT_NETNS_CHECK).check(req.netns, opts.needNetns ? 'enter' : 'teardown');
  let namespace = req.podNamespace;
  let pod = req.podName;
  if (namespace === '' && pod === '') {
    namespace = '_cni'; // not a Kubernetes pod (cnitool, a bare runtime): the container is the pod
    pod = req.containerId;
  } else if (!K8S_NAME.test(namespace) || !K8S_NAME.test(pod)) {
    throw bad(`invalid K8S_POD_NAMESPACE/K8S_POD_NAME ${JSON.stringify(`${namespace}/${pod}`)}`);
  }
  return {
    containerId: req.containerId,
    ifname: req.ifname,
    netns: req.netns,
    namespace,
    pod,
    podUid: req.podUid,
  };
}
