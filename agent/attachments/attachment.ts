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
  /** The netloom network (`<namespace>/<name>` of its NetworkAttachmentDefinition); '' for the default network. */
  network: string;
  /**
   * An extra interface (from `k8s.v1.cni.cncf.io/networks`): no default route, its network's
   * subnets routed through it instead. Absent: the pod's primary interface.
   */
  extra?: boolean;
  /** The MAC the pod side must have (a requested one); absent or '': the data plane's choice. */
  mac?: string;
  /** The pod's UID as the runtime gave it (K8S_POD_UID), when it did. */
  podUid?: string;
  /** An extra interface's place in the pod's k8s.v1.cni.cncf.io/networks (1 the first); absent for the primary. */
  index?: number;
  /**
   * The pod's default route goes through this interface via these gateways (an extra's
   * `default-route`); for the primary, an empty list means another interface has it.
   */
  defaultRoute?: string[];
  /**
   * An interface another CNI plugin made (a NetworkAttachmentDefinition of another type): netloom
   * renders nothing for it and undoes it through the same plugin. `ip` is then ''.
   */
  delegated?: DelegatedInterface;
}

/** What DEL and CHECK of a delegated interface need: the config it was made with, and its result. */
export interface DelegatedInterface {
  /** `<namespace>/<name>` of the NetworkAttachmentDefinition. */
  attachmentDefinition: string;
  /** The NetworkAttachmentDefinition's config, as the plugin(s) got it. */
  config: string;
  /** The plugin chain's result (JSON), the prevResult of DEL and CHECK. */
  result: string;
  /** The selection it was made for (ips, mac, cni-args…), as JSON: DEL passes the same runtime config. */
  selection: string;
  ips: string[];
  mac: string;
}

const FIELDS = ['containerId', 'ifname', 'namespace', 'pod', 'netns', 'ip', 'network'] as const;

function isDelegated(v: unknown): v is DelegatedInterface {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    ['attachmentDefinition', 'config', 'result', 'selection', 'mac'].every((f) => typeof r[f] === 'string') &&
    Array.isArray(r['ips']) &&
    r['ips'].every((x) => typeof x === 'string')
  );
}

/** Whether a value read back from disk has the shape of an attachment (the values are checked by the drivers). */
export function isAttachment(v: unknown): v is Attachment {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  const delegated = r['delegated'];
  if (delegated !== undefined && !isDelegated(delegated)) return false;
  if (r['extra'] !== undefined && typeof r['extra'] !== 'boolean') return false;
  if (r['mac'] !== undefined && typeof r['mac'] !== 'string') return false;
  if (r['podUid'] !== undefined && typeof r['podUid'] !== 'string') return false;
  if (
    r['defaultRoute'] !== undefined &&
    !(Array.isArray(r['defaultRoute']) && r['defaultRoute'].every((x) => typeof x === 'string'))
  )
    return false;
  if (r['index'] !== undefined && !(Number.isSafeInteger(r['index']) && (r['index'] as number) >= 0))
    return false;
  return (
    FIELDS.every((f) => typeof r[f] === 'string') &&
    FIELDS.filter((f) => f !== 'network' && (f !== 'ip' || delegated === undefined)).every((f) => r[f] !== '')
  );
}

/** Whether netloom wires the attachment itself (renders items for it). */
export const isNative = (a: Attachment): boolean => a.delegated === undefined;
