// The keyspace: the only module that builds and parses etcd keys. Every key of a cluster lives
// under /netloom/v1/<cluster>/; what several clusters sharing one etcd must agree on lives under
// /netloom/v1/_shared/ (SharedKeyspace: `_` cannot start a cluster name, so no cluster collides
// with it). docs/keyspace.md describes both tables, and a test checks they agree with the code.
import { KeyspaceError } from './errors.ts';

/** Each family: its fixed path segments, then the names of its variable segments. */
const FAMILIES = {
  namespace: { path: ['k8s', 'namespace'], vars: ['name'] },
  node: { path: ['k8s', 'node'], vars: ['name'] },
  pod: { path: ['k8s', 'pod'], vars: ['namespace', 'name'] },
  service: { path: ['k8s', 'service'], vars: ['namespace', 'name'] },
  endpoints: { path: ['k8s', 'endpoints'], vars: ['namespace', 'name'] },
  policy: { path: ['k8s', 'policy'], vars: ['namespace', 'name'] },
  netattach: { path: ['k8s', 'netattach'], vars: ['namespace', 'name'] },
  ksrStatus: { path: ['ksr', 'status'], vars: [] },
  nodeId: { path: ['nodes', 'id'], vars: ['id'] },
  nodeInfo: { path: ['nodes', 'info'], vars: ['name'] },
  ipam: { path: ['ipam'], vars: ['node', 'ip'] },
  lbipam: { path: ['lbipam'], vars: ['ip'] },
  network: { path: ['networks'], vars: ['namespace', 'name'] },
  networkId: { path: ['network-ids'], vars: ['id'] },
  attachment: { path: ['attachments'], vars: ['node', 'namespace', 'pod', 'ifname'] },
} as const satisfies Record<string, { path: readonly string[]; vars: readonly string[] }>;

type Families = typeof FAMILIES;
export type KeyKind = keyof Families;
type VarsOf<K extends KeyKind> = Families[K]['vars'][number];

/** A parsed key: its family and its variable parts. */
export type KeyRef = { [K in KeyKind]: { kind: K } & { [V in VarsOf<K>]: string } }[KeyKind];

/** The Kubernetes kinds KSR reflects, in the order their families appear above. */
export const K8S_KINDS = ['namespace', 'node', 'pod', 'service', 'endpoints', 'policy', 'netattach'] as const;
export type K8sKind = (typeof K8S_KINDS)[number];

const CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkPart(kind: string, name: string, value: string): void {
  if (value === '' || value.includes('/') || value === '.' || value === '..') {
    throw new KeyspaceError(
      `invalid ${kind} key part ${name}=${JSON.stringify(value)}: must be non-empty, without '/'`,
    );
  }
}

export class Keyspace {
  readonly cluster: string;
  /** `/netloom/v1/<cluster>/`, with the trailing slash. */
  readonly root: string;

  constructor(cluster: string) {
    if (!CLUSTER_NAME.test(cluster)) {
      throw new KeyspaceError(
        `invalid cluster name ${JSON.stringify(cluster)}: use a DNS label (a-z, 0-9, '-')`,
      );
    }
    this.cluster = cluster;
    this.root = `/netloom/v1/${cluster}/`;
  }

  /** The key for one object. */
  key(ref: KeyRef): string {
    const family = FAMILIES[ref.kind];
    const values = family.vars.map((v) => (ref as Record<string, string>)[v] ?? '');
    family.vars.forEach((v, i) => checkPart(ref.kind, v, values[i] ?? ''));
    return this.root + [...family.path, ...values].join('/');
  }

  /**
   * The prefix of a family, optionally narrowed by its leading variable parts
   * (`prefix('pod', 'default')` → all pods of namespace default). Ends with '/'.
   */
  prefix(kind: KeyKind, ...scope: string[]): string {
    const family = FAMILIES[kind];
    if (scope.length >= Math.max(family.vars.length, 1)) {
      throw new KeyspaceError(`prefix of ${kind} takes at most ${family.vars.length - 1} scope parts`);
    }
    scope.forEach((s, i) => checkPart(kind, family.vars[i] ?? '?', s));
    return this.root + [...family.path, ...scope].join('/') + '/';
  }

  /** The prefix of everything KSR mirrors from Kubernetes. */
  get k8sPrefix(): string {
    return this.root + 'k8s/';
  }

  /**
   * What a node agent renders from, as one key range so one watch at one revision covers it:
   * k8s/, ksr/, network-ids/, networks/ and nodes/, which sort together. It leaves out ipam/
   * (every node's pod addresses: the churn of the whole cluster) and attachments/; lbipam/
   * sorts inside it and comes along (one key per LoadBalancer address, ignored by the view).
   */
  get agentView(): { from: string; to: string } {
    return { from: this.root + 'k8s/', to: this.root + 'nodes0' }; // '0' follows '/'
  }

  /** Parses a key of this cluster; undefined for keys outside the keyspace. */
  tryParse(key: string): KeyRef | undefined {
    if (!key.startsWith(this.root)) return undefined;
    const parts = key.slice(this.root.length).split('/');
    for (const [kind, family] of Object.entries(FAMILIES) as [KeyKind, Families[KeyKind]][]) {
      if (parts.length !== family.path.length + family.vars.length) continue;
      if (!family.path.every((p, i) => parts[i] === p)) continue;
      const values = parts.slice(family.path.length);
      if (values.some((v) => v === '')) return undefined;
      const ref: Record<string, string> = { kind };
      family.vars.forEach((v, i) => (ref[v] = values[i] ?? ''));
      return ref as KeyRef;
    }
    return undefined;
  }

  /** Parses a key of this cluster; throws KeyspaceError for anything else. */
  parse(key: string): KeyRef {
    const ref = this.tryParse(key);
    if (!ref) throw new KeyspaceError(`not a netloom key of cluster ${this.cluster}: ${key}`);
    return ref;
  }
}

/** The family table, for docs and tests: `k8s/pod/<namespace>/<name>` per kind. */
export function keyLayout(): Record<KeyKind, string> {
  const out = {} as Record<KeyKind, string>;
  for (const [kind, f] of Object.entries(FAMILIES) as [KeyKind, Families[KeyKind]][]) {
    out[kind] = [...f.path, ...f.vars.map((v) => `<${v}>`)].join('/');
  }
  return out;
}

/** Store-wide families, under `/netloom/v1/_shared/`: what clusters sharing one etcd agree on. */
const SHARED_FAMILIES = {
  cluster: { path: ['clusters'], vars: ['cluster'] },
  sharedNodeId: { path: ['node-ids'], vars: ['id'] },
  sharedNetworkId: { path: ['network-ids'], vars: ['id'] },
} as const satisfies Record<string, { path: readonly string[]; vars: readonly string[] }>;

type SharedFamilies = typeof SHARED_FAMILIES;
export type SharedKeyKind = keyof SharedFamilies;
type SharedVarsOf<K extends SharedKeyKind> = SharedFamilies[K]['vars'][number];

/** A parsed store-wide key. */
export type SharedKeyRef = {
  [K in SharedKeyKind]: { kind: K } & { [V in SharedVarsOf<K>]: string };
}[SharedKeyKind];

/** The root of the store-wide registry; no cluster name can start with `_`. */
export const SHARED_ROOT = '/netloom/v1/_shared/';

/**
 * The store-wide registry of the clusters sharing one etcd: `clusters/<cluster>` (each
 * cluster's addressing plan), `node-ids/<id>` (→ `<cluster>/<node>`: a node ID is unique across
 * every cluster of the store) and `network-ids/<id>` (the same for network IDs / VNIs).
 */
export class SharedKeyspace {
  readonly root = SHARED_ROOT;

  key(ref: SharedKeyRef): string {
    const family = SHARED_FAMILIES[ref.kind];
    const values = family.vars.map((v) => (ref as Record<string, string>)[v] ?? '');
    family.vars.forEach((v, i) => checkPart(ref.kind, v, values[i] ?? ''));
    if (ref.kind === 'cluster') new Keyspace(values[0] ?? ''); // a cluster name, or KeyspaceError
    return this.root + [...family.path, ...values].join('/');
  }

  /** The prefix of a family, ending with '/'. */
  prefix(kind: SharedKeyKind): string {
    return this.root + SHARED_FAMILIES[kind].path.join('/') + '/';
  }

  tryParse(key: string): SharedKeyRef | undefined {
    if (!key.startsWith(this.root)) return undefined;
    const parts = key.slice(this.root.length).split('/');
    for (const [kind, family] of Object.entries(SHARED_FAMILIES) as [
      SharedKeyKind,
      SharedFamilies[SharedKeyKind],
    ][]) {
      if (parts.length !== family.path.length + family.vars.length) continue;
      if (!family.path.every((p, i) => parts[i] === p)) continue;
      const values = parts.slice(family.path.length);
      if (values.some((v) => v === '')) return undefined;
      const ref: Record<string, string> = { kind };
      family.vars.forEach((v, i) => (ref[v] = values[i] ?? ''));
      return ref as SharedKeyRef;
    }
    return undefined;
  }
}

/** The value of `node-ids/<id>`: which node of which cluster holds the ID. */
export function sharedNodeIdHolder(cluster: string, node: string): string {
  return `${cluster}/${node}`;
}

/** Parses a `node-ids/<id>` value; undefined for anything not `<cluster>/<node>`. */
export function parseSharedNodeIdHolder(value: string): { cluster: string; node: string } | undefined {
  const at = value.indexOf('/');
  if (at <= 0 || at === value.length - 1 || value.indexOf('/', at + 1) !== -1) return undefined;
  return { cluster: value.slice(0, at), node: value.slice(at + 1) };
}

/** The store-wide family table, for docs and tests. */
export function sharedKeyLayout(): Record<SharedKeyKind, string> {
  const out = {} as Record<SharedKeyKind, string>;
  for (const [kind, f] of Object.entries(SHARED_FAMILIES) as [
    SharedKeyKind,
    SharedFamilies[SharedKeyKind],
  ][]) {
    out[kind] = [...f.path, ...f.vars.map((v) => `<${v}>`)].join('/');
  }
  return out;
}
