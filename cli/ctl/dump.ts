// `netloom ctl dump <node>`: what one node's agent has applied to its data plane and what it
// did last — the agent's /api/v1/dump (applied items, items not settled, last transactions).
// The node must be one etcd knows; its address comes from --agent-addr ({ip} is the management
// IP the agent published in nodes/info).
import { ConfigError } from '../../lib/errors.ts';
import type { AppliedItem } from '../../agent/scheduler/scheduler.ts';
import type { ItemStatus } from '../../agent/scheduler/status.ts';
import type { TxnRecord } from '../../agent/scheduler/txn-log.ts';
import { agentAddress, agentGet, AgentUnreachableError } from './agent-api.ts';
import { emit, parseArgs } from './common.ts';
import { checkNode, loadSnapshot } from './snapshot.ts';
import { cell, clip, formatTable } from './table.ts';

export interface AgentDump {
  node: { name?: string; id?: number; podSubnet?: string; ready?: string } & Record<string, unknown>;
  view: { revision: number; counts: Record<string, number> };
  applied: AppliedItem[];
  unsettled: ItemStatus[];
  transactions: TxnRecord[];
}

export interface DumpReport extends AgentDump {
  /** Where the agent was reached. */
  agent: string;
}

function isDump(v: unknown): v is AgentDump {
  const d = v as Partial<AgentDump> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    Array.isArray(d.applied) &&
    Array.isArray(d.unsettled) &&
    Array.isArray(d.transactions)
  );
}

export function dumpText(d: DumpReport): string {
  const n = d.node;
  const head = `node ${cell(n.name)} (ID ${cell(n.id)}, ${cell(n.podSubnet)}): ${cell(n.ready)} — agent ${d.agent}, view at revision ${d.view.revision}\n`;
  const applied = formatTable({
    columns: ['key', 'origin', 'value'],
    rows: d.applied.map((i) => [i.key, i.origin, clip(JSON.stringify(i.value) ?? '', 70)]),
    empty: 'nothing applied',
  });
  const unsettled =
    d.unsettled.length === 0
      ? ''
      : `\nNot settled (${d.unsettled.length}):\n` +
        formatTable({
          columns: ['key', 'state', 'attempts', 'why'],
          rows: d.unsettled.map((s) => [
            s.key,
            s.state,
            String(s.attempts),
            clip(s.error?.message ?? (s.missing ? `waits for ${s.missing.join(', ')}` : ''), 70),
          ]),
        });
  const txns = formatTable({
    columns: ['seq', 'kind', 'started', 'ms', 'changes', 'ops', 'errors', 'description'],
    rows: d.transactions.map((t) => [
      String(t.seq),
      t.kind,
      t.startedAt,
      t.durationMs.toFixed(1),
      String(t.changes),
      String(t.counts.create + t.counts.update + t.counts.delete),
      String(t.errors.length),
      clip(t.description, 50),
    ]),
    empty: 'no transactions yet',
  });
  return `${head}\nApplied items (${d.applied.length}):\n${applied}${unsettled}\nLast transactions (${d.transactions.length}, newest last):\n${txns}`;
}

export async function main(argv: string[]): Promise<number> {
  const usage = 'netloom ctl dump <node> [--agent-addr host:port|unix:/path] [--limit N]';
  const { config, positionals } = parseArgs(argv, 1, usage);
  const node = positionals[0];
  if (node === undefined) throw new ConfigError('node', `missing: ${usage}`);
  const snap = await loadSnapshot(config);
  checkNode(snap, node, config.cluster);
  const addr = agentAddress(config.agentAddr, node, snap.view.nodeInfos.get(node));
  const body = await agentGet(addr, `/api/v1/dump?limit=${config.limit}`, config.timeoutMs);
  if (!isDump(body))
    throw new AgentUnreachableError(`the agent at ${addr} has no /api/v1/dump (an older agent?)`);
  emit(config, { agent: addr, ...body }, dumpText);
  return 0;
}
