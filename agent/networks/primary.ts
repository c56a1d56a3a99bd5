// Which network a pod's primary interface (eth0) joins: Contrail's `opencontrail.org/network`
// on the pod, else on its namespace, else the default network. Pure.

export const NETWORK_ANNOTATION = 'opencontrail.org/network';

export interface NetworkRef {
  namespace: string;
  name: string;
}

/** A malformed annotation: the pod must not silently land in the default network. */
export class NetworkAnnotationError extends Error {
  readonly where: string;

  constructor(where: string, message: string) {
    super(`${NETWORK_ANNOTATION} on ${where}: ${message}`);
    this.name = 'NetworkAnnotationError';
    this.where = where;
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * Parses one annotation value: `name`, `namespace/name`, or Contrail's JSON
 * `{"domain": …, "project": …, "name": …}` (the project is the namespace; the domain is
 * Contrail's tenancy root and means nothing here). `home` is the namespace a bare name lives in.
 */
export function parseNetworkRef(value: string, home: string, where: string): NetworkRef {
  const text = value.trim();
  let namespace = home;
  let name: string;
  if (text.startsWith('{')) {
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (err) {
      throw new NetworkAnnotationError(where, `not valid JSON (${(err as Error).message})`);
    }
    const r = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
    if (typeof r['name'] !== 'string')
      throw new NetworkAnnotationError(where, 'the JSON form needs a "name"');
    name = r['name'];
    if (r['project'] !== undefined) {
      if (typeof r['project'] !== 'string')
        throw new NetworkAnnotationError(where, '"project" is not a string');
      namespace = r['project'];
    }
  } else {
    const parts = text.split('/');
    if (parts.length > 2)
      throw new NetworkAnnotationError(where, `${JSON.stringify(text)} has more than one '/'`);
    if (parts.length === 2) namespace = parts[0]!;
    name = parts.at(-1)!;
  }
  if (!DNS_LABEL.test(namespace))
    throw new NetworkAnnotationError(where, `namespace ${JSON.stringify(namespace)} is not a DNS label`);
  if (!DNS_SUBDOMAIN.test(name))
    throw new NetworkAnnotationError(where, `network name ${JSON.stringify(name)} is not a DNS subdomain`);
  return { namespace, name };
}

/**
 * The primary network a pod asks for, or undefined for the default network. The pod's own
 * annotation wins over its namespace's.
 */
export function primaryNetworkOf(
  pod: { namespace: string; name: string; annotations: Readonly<Record<string, string>> },
  namespaceAnnotations: Readonly<Record<string, string>> | undefined,
): NetworkRef | undefined {
  const own = pod.annotations[NETWORK_ANNOTATION];
  if (own !== undefined && own.trim() !== '')
    return parseNetworkRef(own, pod.namespace, `pod ${pod.namespace}/${pod.name}`);
  const inherited = namespaceAnnotations?.[NETWORK_ANNOTATION];
  if (inherited !== undefined && inherited.trim() !== '')
    return parseNetworkRef(inherited, pod.namespace, `namespace ${pod.namespace}`);
  return undefined;
}

export const networkName = (ref: NetworkRef): string => `${ref.namespace}/${ref.name}`;
