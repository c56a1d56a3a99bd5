// Who a CNI request is about, checked as the spec requires (the shim checks too; the agent
// does not trust its socket's other clients to have done so): container ID and interface
// name, the namespace path for ADD/CHECK, the pod from K8S_POD_* (or, outside Kubernetes, the
// container itself).
import type { CniRequest__Output } from '../../proto/gen/netloom/cni/v1/CniRequest.ts';
import { CniCode, CniError } from '../../cni/errors.ts';

export interface Identity {
  containerId: string;
  ifname: string;
  netns: string;
  namespace: string;
  pod: string;
  podUid: string;
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
/** Kubernetes names: DNS labels/subdomains; anything else cannot become an item key part. */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function identify(req: CniRequest__Output, opts: { needNetns: boolean }): Identity {
  const bad = (what: string): CniError => new CniError(CniCode.InvalidEnvironment, what);
  if (!CONTAINER_ID.test(req.containerId))
    throw bad(`invalid container ID ${JSON.stringify(req.containerId)}`);
  if (!IFNAME.test(req.ifname)) throw bad(`invalid interface name ${JSON.stringify(req.ifname)}`);
  if (opts.needNetns && !req.netns.startsWith('/'))
    throw bad(`netns must be an absolute path, got ${JSON.stringify(req.netns)}`);
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
