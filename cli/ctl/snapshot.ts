// The cluster as the agents see it, read once: every key of the agent's view range through the
// agent's own ClusterView (so values decode exactly as an agent decodes them), plus the IPAM
// records of every node (decoded by the allocator's decodeEntry) at the same revision.
import type { Store } from '../../lib/etcd/store.ts';
import { ConfigError, errorMessage } from '../../lib/errors.ts';
import type { Keyspace } from '../../lib/keyspace.ts';
import { decodeEntry, type IpamRecord } from '../../agent/ipam/allocator.ts';
import { ClusterView } from '../../agent/view/view.ts';
import { keyspaceOf, withStore, type CtlConfig } from './common.ts';

/** A key whose value an agent would skip: shown to the operator instead of hidden. */
export interface Unreadable {
  key: string;
  error: string;
}

/** One ipam/<node>/<ip> record. */
export interface NodeIpamRecord extends IpamRecord {
  node: string;
  key: string;
}

export interface Snapshot {
  revision: number;
  view: ClusterView;
  ipam: NodeIpamRecord[];
  unreadable: Unreadable[];
}

/** The cluster as an agent sees it: every key of the agent's view range, read at one revision. */
export async function readView(
  store: Store,
  keyspace: Keyspace,
  unreadable: Unreadable[] = [],
): Promise<ClusterView> {
  const view = new ClusterView();
  const { kvs, revision } = await store.list(keyspace.agentView);
  for (const kv of kvs) {
    const ref = keyspace.tryParse(kv.key);
    if (!ref) continue;
    try {
      view.apply(ref, kv.value);
    } catch (err) {
      // An unreadable value: the agents skip it too.
      unreadable.push({ key: kv.key, error: errorMessage(err) });
    }
  }
  view.revision = revision;
  return view;
}

/** IPAM records, of one node or of all, at `revision` (0: the current one). */
export async function readIpam(
  store: Store,
  keyspace: Keyspace,
  revision: number,
  unreadable: Unreadable[] = [],
  node?: string,
): Promise<NodeIpamRecord[]> {
  const prefix = node === undefined ? keyspace.prefix('ipam') : keyspace.prefix('ipam', node);
  const { kvs } = await store.list(prefix, revision > 0 ? { revision } : {});
  const out: NodeIpamRecord[] = [];
  for (const kv of kvs) {
    const ref = keyspace.tryParse(kv.key);
    if (ref?.kind !== 'ipam') continue;
    try {
      out.push({
        node: ref.node,
        ip: ref.ip,
        key: kv.key,
        entry: decodeEntry(kv.value),
        modRevision: kv.modRevision,
      });
    } catch (err) {
      unreadable.push({ key: kv.key, error: errorMessage(err) });
    }
  }
  return out;
}

/** The view and every node's IPAM records, one revision. */
export async function readSnapshot(store: Store, keyspace: Keyspace): Promise<Snapshot> {
  const unreadable: Unreadable[] = [];
  const view = await readView(store, keyspace, unreadable);
  const ipam = await readIpam(store, keyspace, view.revision, unreadable);
  return { revision: view.revision, view, ipam, unreadable };
}

/**
 * The snapshot a command prints from, read within --timeout-ms. Values the agents cannot read
 * (and skip) are named on stderr, so a table is never silently short of them.
 */
export async function loadSnapshot(config: CtlConfig): Promise<Snapshot> {
  const keyspace = keyspaceOf(config);
  const snap = await withStore(config, (store) => readSnapshot(store, keyspace));
  for (const u of snap.unreadable)
    process.stderr.write(
      `netloom ctl: warning: ${u.key} is unreadable, the agents skip it too: ${u.error}\n`,
    );
  return snap;
}

/** Every node name the snapshot mentions: Kubernetes, ID claims, nodes/info, IPAM. */
export function knownNodes(s: Snapshot): string[] {
  const { view } = s;
  return [
    ...new Set([
      ...view.nodes.items.keys(),
      ...view.nodeInfos.items.keys(),
      ...view.nodeIds.items.values(),
      ...s.ipam.map((r) => r.node),
    ]),
  ].sort();
}

/** A node argument must name a node the cluster knows: a typo is bad input, not an empty answer. */
export function checkNode(s: Snapshot, node: string | undefined, cluster: string): void {
  if (node === undefined) return;
  const known = knownNodes(s);
  if (known.includes(node)) return;
  throw new ConfigError(
    'node',
    `no node ${JSON.stringify(node)} in cluster ${cluster} (known: ${known.length > 0 ? known.join(', ') : 'none'})`,
  );
}
