// `netloom ctl services [node]`: every Service KSR mirrored, as the agents program it — each
// frontend (VIP, protocol, port) with the backends it balances to, rendered by the agents' own
// renderer (agent/renderers/services.ts) from the same view. With a node, exactly what that
// node's agent renders (Local traffic policies keep its endpoints only). Without one, what a
// node holding none of the endpoints renders: Cluster-policy frontends are the same on every
// node; Local ones show no backends there (ask per node for those).
import { renderService } from '../../agent/renderers/services.ts';
import type { NodeContext } from '../../agent/renderers/context.ts';
import type { Service as Frontend } from '../../agent/items/values.ts';
import type { NodeInfo } from '../../agent/view/decode.ts';
import { emit, parseArgs } from './common.ts';
import { checkNode, loadSnapshot, type Snapshot } from './snapshot.ts';
import { formatTable, listCell } from './table.ts';

export interface FrontendRecord extends Frontend {
  /** The item key the agents apply it under. */
  key: string;
}

export interface ServiceRecord {
  namespace: string;
  name: string;
  type: string;
  clusterIps: string[];
  /** Empty for headless and ExternalName Services, which program nothing. */
  frontends: FrontendRecord[];
}

export interface ServicesReport {
  /** The node whose view this is; null: a node holding none of the endpoints. */
  node: string | null;
  revision: number;
  services: ServiceRecord[];
}

/**
 * The renderer reads only the node's name (which endpoints are local) and the cluster pod CIDR
 * (what is masqueraded) from the context; the rest is filled from nodes/info for completeness.
 */
function contextOf(node: string, info: NodeInfo | undefined, podCidr: string): NodeContext {
  return {
    node,
    id: info?.id ?? 0,
    podSubnet: info?.podSubnet ?? '',
    gateway: '',
    podPrefixLength: 0,
    podCidr,
    serviceCidr: '',
    tunnelEndpoint: info?.tunnelEndpoint ?? '',
    vni: 0,
    vxlanPort: 0,
    mtu: 0,
  };
}

export function servicesReport(s: Snapshot, node: string | undefined, podCidr: string): ServicesReport {
  const ctx = contextOf(node ?? '', node ? s.view.nodeInfos.get(node) : undefined, podCidr);
  const services: ServiceRecord[] = [];
  // The custom networks' subnets, as the agent's pipeline passes them (their clients keep their address).
  const networkSubnets = [...s.view.networks.items.values()].flatMap((n) => n.subnets).sort();
  for (const [key, svc] of s.view.services.items) {
    const rendered = renderService(ctx, svc, s.view.endpoints.get(key), networkSubnets);
    const frontends = rendered.map((item): FrontendRecord => ({
      key: item.key,
      ...(item.value as Frontend),
    }));
    services.push({
      namespace: svc.namespace,
      name: svc.name,
      type: svc.type,
      clusterIps: svc.clusterIps,
      frontends,
    });
  }
  services.sort((a, b) =>
    a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1,
  );
  return { node: node ?? null, revision: s.revision, services };
}

function why(s: ServiceRecord): string {
  if (s.type === 'ExternalName') return 'ExternalName: nothing programmed';
  if (s.clusterIps.includes('None')) return 'headless: nothing programmed';
  return 'no usable port or address';
}

export function servicesTable(r: ServicesReport): string {
  const rows: string[][] = [];
  for (const s of r.services) {
    if (s.frontends.length === 0) rows.push([s.namespace, s.name, '-', '-', why(s), '']);
    for (const f of s.frontends) {
      const vip = f.vip === 'node' ? '<node>' : f.vip;
      const backends = f.backends.map((b) => `${b.ip}:${b.port}`);
      rows.push([
        s.namespace,
        s.name,
        f.kind,
        `${vip}:${f.port}/${f.protocol}`,
        r.node === null && f.masqueradeOutside === null
          ? 'per node (Local)'
          : f.backends.length === 0
            ? `none (${f.noBackends})`
            : listCell(backends),
        f.affinitySeconds > 0 ? `ClientIP ${f.affinitySeconds}s` : '',
      ]);
    }
  }
  const table = formatTable({
    columns: ['namespace', 'name', 'kind', 'frontend', 'backends', 'affinity'],
    rows,
    empty: 'no services',
  });
  // A Local traffic policy keeps the client's address (masqueradeOutside null) and each node's
  // own endpoints: seen from no node in particular, such a frontend has none.
  const local =
    r.node === null && r.services.some((s) => s.frontends.some((f) => f.masqueradeOutside === null));
  return local
    ? `${table}\nper node (Local): the traffic policy is Local, so each node balances to its own endpoints only; see netloom ctl services <node>\n`
    : table;
}

export async function main(argv: string[]): Promise<number> {
  const { config, positionals } = parseArgs(argv, 1, 'netloom ctl services [node]');
  const snap = await loadSnapshot(config);
  checkNode(snap, positionals[0], config.cluster);
  emit(config, servicesReport(snap, positionals[0], config.podCidr), servicesTable);
  return 0;
}
