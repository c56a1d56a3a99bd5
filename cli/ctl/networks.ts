// `netloom ctl networks`: the custom networks (networks/<name>: VRF/VNI id and subnets) and the
// NetworkAttachmentDefinitions KSR mirrored (k8s/netattach/<ns>/<name>), as the agents decode them.
import type { NetAttach, Network } from '../../agent/view/decode.ts';
import { emit, parseArgs } from './common.ts';
import { loadSnapshot, type Snapshot } from './snapshot.ts';
import { clip, listCell, type Table } from './table.ts';

export interface NetworksReport {
  revision: number;
  networks: Network[];
  attachmentDefinitions: NetAttach[];
}

const byName = <T>(m: ReadonlyMap<string, T>): T[] =>
  [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

export function networksReport(s: Snapshot): NetworksReport {
  return {
    revision: s.revision,
    networks: byName(s.view.networks.items),
    attachmentDefinitions: byName(s.view.netattachs.items),
  };
}

export function networksTable(r: NetworksReport): Table {
  return {
    columns: ['kind', 'name', 'id', 'detail'],
    rows: [
      ...r.networks.map((n) => ['network', n.name, String(n.id), listCell(n.subnets)]),
      ...r.attachmentDefinitions.map((d) => [
        'attachment-definition',
        `${d.namespace}/${d.name}`,
        '-',
        clip(d.resourceName ? `resource ${d.resourceName}, ${d.config}` : d.config, 60),
      ]),
    ],
    empty: 'no custom networks and no NetworkAttachmentDefinitions (every pod is on the default network)',
  };
}

export async function main(argv: string[]): Promise<number> {
  const { config } = parseArgs(argv, 0, 'netloom ctl networks');
  const snap = await loadSnapshot(config);
  emit(config, networksReport(snap), networksTable);
  return 0;
}
