// The cluster as the policy engine reads it: namespaces and pods indexed once per call, so
// selecting a peer's pods walks one namespace's pods, not the whole table. Built from the same
// maps the pipeline keeps; nothing is stored between calls.
import { isIp, ipToBigInt, parseIp } from '../../../lib/cidr.ts';
import type { K8sNode, Namespace, Pod, Policy } from '../../view/decode.ts';

export interface PolicyInputs {
  /** By name. */
  namespaces: ReadonlyMap<string, Namespace>;
  /** By "ns/name". */
  pods: ReadonlyMap<string, Pod>;
  /** By "ns/name". */
  policies: ReadonlyMap<string, Policy>;
  /**
   * By name; optional. Only `explain` reads it, for the addresses of a pod's own node (which
   * always reaches its pods). Without it, a node's addresses are those of its hostNetwork pods.
   */
  nodes?: ReadonlyMap<string, K8sNode>;
}

export const podKey = (p: Pod): string => `${p.namespace}/${p.name}`;

/** Addresses sorted for sets: IPv4 before IPv6, then by value; duplicates removed. */
export function sortAddresses(ips: Iterable<string>): string[] {
  // IPv4 compared as numbers, IPv6 as bigints: a set of 10,000 pods is sorted on every render.
  const v4: { ip: string; n: number }[] = [];
  const v6: { ip: string; n: bigint }[] = [];
  for (const ip of new Set(ips)) {
    if (ip.includes(':')) v6.push({ ip, n: ipToBigInt(ip) });
    else v4.push({ ip, n: parseIp(ip) ?? Number(ipToBigInt(ip)) });
  }
  v4.sort((a, b) => a.n - b.n);
  v6.sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  return [...v4.map((x) => x.ip), ...v6.map((x) => x.ip)];
}

// A Pod value is never changed once the view holds it (a change is a new value), so what was
// checked of it holds for as long as it lives; every render walks every pod's addresses.
const checkedAddresses = new WeakMap<Pod, readonly string[]>();

/** A pod's usable addresses (anything malformed dropped), primary first. Not to be changed. */
export function addressesOf(p: Pod): readonly string[] {
  let out = checkedAddresses.get(p);
  if (out === undefined) {
    out = (Array.isArray(p.podIps) ? p.podIps : []).filter((ip) => typeof ip === 'string' && isIp(ip));
    checkedAddresses.set(p, out);
  }
  return out;
}

/**
 * Whether a pod takes part as a peer. A pod that has finished (Succeeded, Failed) keeps its IP in
 * the API while the IP may already serve a new pod, so it must not lend that IP its labels.
 */
const live = (p: Pod): boolean => p.phase !== 'Succeeded' && p.phase !== 'Failed';

export class ClusterIndex {
  readonly inputs: PolicyInputs;
  /** Sorted by name, so every walk (and every set) comes out in one order. */
  readonly namespaceNames: string[];
  private readonly byNamespace = new Map<string, Pod[]>();
  private readonly byIp = new Map<string, Pod[]>();

  constructor(inputs: PolicyInputs) {
    this.inputs = inputs;
    const names = new Set(inputs.namespaces.keys());
    // Keys made once, not per comparison (10,000 pods are indexed on every render).
    const sorted = [...inputs.pods.values()]
      .filter((p) => typeof p?.namespace === 'string' && typeof p.name === 'string')
      .map((p) => ({ key: podKey(p), p }))
      .sort((a, b) => cmp(a.key, b.key))
      .map((x) => x.p);
    for (const p of sorted) {
      names.add(p.namespace);
      let list = this.byNamespace.get(p.namespace);
      if (!list) this.byNamespace.set(p.namespace, (list = []));
      list.push(p);
      if (!live(p)) continue;
      for (const ip of addressesOf(p)) {
        const same = this.byIp.get(ip);
        if (same) same.push(p);
        else this.byIp.set(ip, [p]);
      }
    }
    this.namespaceNames = [...names].sort(cmp);
  }

  /** Live pods of one namespace, by name. */
  podsIn(namespace: string): Pod[] {
    return (this.byNamespace.get(namespace) ?? []).filter(live);
  }

  /** A namespace's labels; a namespace the view does not hold (yet) has none. */
  namespaceLabels(namespace: string): Record<string, string> {
    const labels = this.inputs.namespaces.get(namespace)?.labels;
    return typeof labels === 'object' && labels !== null ? labels : {};
  }

  namespaceAnnotation(namespace: string, key: string): string | undefined {
    const a = this.inputs.namespaces.get(namespace)?.annotations;
    const v = typeof a === 'object' && a !== null ? a[key] : undefined;
    return typeof v === 'string' ? v : undefined;
  }

  /**
   * The pod an address belongs to: a pod network pod before a hostNetwork one (whose address is
   * its node's), then by key.
   */
  podByIp(ip: string): Pod | undefined {
    const list = this.byIp.get(ip) ?? [];
    return list.find((p) => !p.hostNetwork) ?? list[0];
  }

  /** A node's addresses: its Node object's, and those of its hostNetwork pods. */
  nodeAddresses(node: string): Set<string> {
    const out = new Set<string>();
    for (const a of this.inputs.nodes?.get(node)?.addresses ?? [])
      if (isIp(a?.address ?? '')) out.add(a.address);
    for (const list of this.byNamespace.values())
      for (const p of list)
        if (p.hostNetwork && p.nodeName === node) addressesOf(p).forEach((ip) => out.add(ip));
    return out;
  }
}

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
