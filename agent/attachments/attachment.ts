// A pod interface attached on this node by a CNI ADD: what the renderers need to wire it.
export interface Attachment {
  containerId: string;
  ifname: string;
  namespace: string;
  pod: string;
  /** The pod's network namespace path, as the runtime gave it. */
  netns: string;
  /** The address IPAM allocated (ipam/<node>/<ip>). */
  ip: string;
  /** Custom network name; '' for the default network. */
  network: string;
}
