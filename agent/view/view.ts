// The cluster view: everything under the cluster prefix that the agent reads, typed and
// indexed in memory. Pure: `apply` takes one parsed key and its new value (or undefined for a
// delete) and reports what changed; the watcher (watcher.ts) feeds it in revision order.
import type { KeyRef } from '../../lib/keyspace.ts';
import {
  decode,
  type Endpoints,
  type K8sNode,
  type KsrStatus,
  type Namespace,
  type NetAttach,
  type Network,
  type NetworkIdClaim,
  type NodeInfo,
  type Pod,
  type Policy,
  type Service,
} from './decode.ts';

/** One change the view took in: the family, the object's name within it, before and after. */
export type ViewChange =
  | { kind: 'namespace'; name: string; old?: Namespace; new?: Namespace }
  | { kind: 'node'; name: string; old?: K8sNode; new?: K8sNode }
  | { kind: 'pod'; name: string; old?: Pod; new?: Pod }
  | { kind: 'service'; name: string; old?: Service; new?: Service }
  | { kind: 'endpoints'; name: string; old?: Endpoints; new?: Endpoints }
  | { kind: 'policy'; name: string; old?: Policy; new?: Policy }
  | { kind: 'netattach'; name: string; old?: NetAttach; new?: NetAttach }
  | { kind: 'nodeInfo'; name: string; old?: NodeInfo; new?: NodeInfo }
  | { kind: 'nodeId'; name: string; old?: string; new?: string }
  | { kind: 'network'; name: string; old?: Network; new?: Network }
  | { kind: 'networkId'; name: string; old?: NetworkIdClaim; new?: NetworkIdClaim }
  | { kind: 'ksrStatus'; name: string; old?: KsrStatus; new?: KsrStatus };

type Kind = ViewChange['kind'];

/** A map that reports the previous value on every write. */
class Table<T> {
  readonly items = new Map<string, T>();

  set(name: string, value: T | undefined): T | undefined {
    const old = this.items.get(name);
    if (value === undefined) this.items.delete(name);
    else this.items.set(name, value);
    return old;
  }

  get(name: string): T | undefined {
    return this.items.get(name);
  }

  get size(): number {
    return this.items.size;
  }

  clear(): void {
    this.items.clear();
  }
}

/** A secondary index: index value → names. */
class Index {
  private readonly map = new Map<string, Set<string>>();

  update(name: string, before: readonly string[], after: readonly string[]): void {
    for (const k of before) {
      const s = this.map.get(k);
      s?.delete(name);
      if (s?.size === 0) this.map.delete(k);
    }
    for (const k of after) {
      let s = this.map.get(k);
      if (!s) this.map.set(k, (s = new Set()));
      s.add(name);
    }
  }

  get(key: string): ReadonlySet<string> {
    return this.map.get(key) ?? EMPTY;
  }

  clear(): void {
    this.map.clear();
  }
}

const EMPTY: ReadonlySet<string> = new Set();

const nsName = (ref: { namespace: string; name: string }): string => `${ref.namespace}/${ref.name}`;
const labelKeys = (labels: Record<string, string>): string[] =>
  Object.entries(labels).map(([k, v]) => `${k}=${v}`);

export class ClusterView {
  readonly namespaces = new Table<Namespace>();
  readonly nodes = new Table<K8sNode>();
  /** By "namespace/name". */
  readonly pods = new Table<Pod>();
  readonly services = new Table<Service>();
  readonly endpoints = new Table<Endpoints>();
  readonly policies = new Table<Policy>();
  readonly netattachs = new Table<NetAttach>();
  readonly nodeInfos = new Table<NodeInfo>();
  /** Node ID claims: id → node name. */
  readonly nodeIds = new Table<string>();
  readonly networks = new Table<Network>();
  /** network-ids/<id> claims, by ID. */
  readonly networkIds = new Table<NetworkIdClaim>();
  ksrStatus: KsrStatus | undefined;
  /** The etcd revision the view reflects. */
  revision = 0;
  private readonly idsByNode = new Index();
  private readonly podsByNodeIndex = new Index();
  private readonly podsByLabelIndex = new Index();

  /** Pods scheduled to a node, as "namespace/name". */
  podsOnNode(node: string): ReadonlySet<string> {
    return this.podsByNodeIndex.get(node);
  }

  /** The IDs nodes/id/<id> gives a node name (one, unless claims conflict). */
  idsOfNode(node: string): ReadonlySet<string> {
    return this.idsByNode.get(node);
  }

  /** Pods carrying the label key=value, as "namespace/name". */
  podsWithLabel(key: string, value: string): ReadonlySet<string> {
    return this.podsByLabelIndex.get(`${key}=${value}`);
  }

  /** Forgets everything (before a relist). */
  clear(): void {
    for (const t of [
      this.namespaces,
      this.nodes,
      this.pods,
      this.services,
      this.endpoints,
      this.policies,
      this.netattachs,
      this.nodeInfos,
      this.nodeIds,
      this.networks,
      this.networkIds,
    ]) {
      t.clear();
    }
    this.idsByNode.clear();
    this.podsByNodeIndex.clear();
    this.podsByLabelIndex.clear();
    this.ksrStatus = undefined;
    this.revision = 0;
  }

  /** Applies one key's new value (undefined: deleted); undefined when the key is not the view's. */
  apply(ref: KeyRef, value: string | undefined): ViewChange | undefined {
    switch (ref.kind) {
      case 'namespace':
        return this.simple('namespace', this.namespaces, ref.name, value, decode.namespace);
      case 'node':
        return this.simple('node', this.nodes, ref.name, value, decode.node);
      case 'service':
        return this.simple('service', this.services, nsName(ref), value, decode.service);
      case 'endpoints':
        return this.simple('endpoints', this.endpoints, nsName(ref), value, decode.endpoints);
      case 'policy':
        return this.simple('policy', this.policies, nsName(ref), value, decode.policy);
      case 'netattach':
        return this.simple('netattach', this.netattachs, nsName(ref), value, decode.netattach);
      case 'nodeInfo':
        return this.simple('nodeInfo', this.nodeInfos, ref.name, value, decode.nodeInfo);
      case 'nodeId': {
        const change = this.simple('nodeId', this.nodeIds, ref.id, value, (t) => t);
        this.idsByNode.update(
          ref.id,
          change.old ? [change.old as string] : [],
          value !== undefined ? [value] : [],
        );
        return change;
      }
      case 'network':
        return this.simple('network', this.networks, nsName(ref), value, decode.network);
      case 'networkId':
        return this.simple('networkId', this.networkIds, ref.id, value, decode.networkId);
      case 'pod':
        return this.pod(nsName(ref), value);
      case 'ksrStatus': {
        const old = this.ksrStatus;
        this.ksrStatus = value === undefined ? undefined : decode.ksrStatus(value);
        return { kind: 'ksrStatus', name: 'status', old, new: this.ksrStatus };
      }
      default:
        return undefined; // ipam, lbipam, attachment: not part of the view
    }
  }

  private simple<T>(
    kind: Kind,
    table: Table<T>,
    name: string,
    value: string | undefined,
    parse: (t: string) => T,
  ): ViewChange {
    const next = value === undefined ? undefined : parse(value);
    const old = table.set(name, next);
    return { kind, name, old, new: next } as ViewChange;
  }

  private pod(name: string, value: string | undefined): ViewChange {
    const next = value === undefined ? undefined : decode.pod(value);
    const old = this.pods.set(name, next);
    this.podsByNodeIndex.update(
      name,
      old?.nodeName ? [old.nodeName] : [],
      next?.nodeName ? [next.nodeName] : [],
    );
    this.podsByLabelIndex.update(name, old ? labelKeys(old.labels) : [], next ? labelKeys(next.labels) : []);
    return { kind: 'pod', name, old, new: next };
  }
}
