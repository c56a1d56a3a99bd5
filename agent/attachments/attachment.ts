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

const FIELDS = ['containerId', 'ifname', 'namespace', 'pod', 'netns', 'ip', 'network'] as const;

/** Whether a value read back from disk has the shape of an attachment (the values are checked by the drivers). */
export function isAttachment(v: unknown): v is Attachment {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    FIELDS.every((f) => typeof r[f] === 'string') &&
    FIELDS.filter((f) => f !== 'network').every((f) => r[f] !== '')
  );
}
