// Reports peers whose nodes/info says what their node ID contradicts (peer-select.ts's
// judgeNodeInfo: the record is corrected or ignored when rendered; this only tells). A forged
// or stale record is logged once per change of what is wrong with it — not on every view
// event — and counted in the agent's metrics, so an operator sees that a record was
// distrusted and why, while the data plane routes only what the IDs imply.
import type { Logger } from '../../lib/logging.ts';
import { Counter, Gauge, type Registry } from '../../lib/metrics.ts';
import { judgeNodeInfo, type PeerInputs } from '../renderers/peer-select.ts';
import type { ClusterView, ViewChange } from './view.ts';

export interface PeerAuditOptions {
  view: ClusterView;
  /** This node's name (its own record is its identity's business, not a peer's). */
  self: string;
  subnetOf: PeerInputs['subnetOf'];
  logger: Logger;
  registry?: Registry;
}

export class PeerAudit {
  private readonly opts: PeerAuditOptions;
  /** Peers whose record is distrusted now → what is wrong with it. */
  private readonly distrusted = new Map<string, string>();
  private readonly gauge: Gauge;
  private readonly counter: Counter;

  constructor(opts: PeerAuditOptions) {
    this.opts = opts;
    const registers = opts.registry ? [opts.registry] : [];
    this.gauge = new Gauge({
      name: 'netloom_agent_peer_records_distrusted',
      help: 'Peers whose nodes/info disagrees with what their node ID implies (corrected or ignored, never routed as published)',
      registers,
    });
    this.counter = new Counter({
      name: 'netloom_agent_peer_record_disagreements_total',
      help: 'Times a peer nodes/info record was seen to disagree with its node ID in a new way',
      registers,
    });
  }

  /** Peers whose record is distrusted now, and why. */
  current(): ReadonlyMap<string, string> {
    return this.distrusted;
  }

  /** Re-judges the peers a batch of view changes touched (as the pipeline re-renders them). */
  observe(changes: readonly ViewChange[]): void {
    const names = new Set<string>();
    for (const c of changes) {
      if (c.kind === 'nodeInfo') names.add(c.name);
      if (c.kind === 'nodeId') for (const n of [c.old, c.new]) if (n) names.add(n);
    }
    for (const name of names) this.judge(name);
  }

  /** Re-judges every peer (after a relist). */
  all(): void {
    for (const name of new Set([...this.opts.view.nodeInfos.items.keys(), ...this.distrusted.keys()]))
      this.judge(name);
  }

  private judge(name: string): void {
    const { view, logger } = this.opts;
    const info = name === this.opts.self ? undefined : view.nodeInfos.get(name);
    const ids = [...view.idsOfNode(name)];
    const verdict = info
      ? judgeNodeInfo(name, info, {
          ...(ids.length === 1 ? { claimedId: Number(ids[0]) } : {}),
          subnetOf: this.opts.subnetOf,
        })
      : { problems: [] };
    const why = verdict.problems.join('; ');
    const before = this.distrusted.get(name);
    if (why === before || (why === '' && before === undefined)) return;
    if (why === '') {
      this.distrusted.delete(name);
      logger.info(
        { node: name },
        info ? 'peer nodes/info agrees with its node ID again' : 'distrusted peer nodes/info gone',
      );
    } else {
      this.distrusted.set(name, why);
      this.counter.inc();
      logger.warn(
        { node: name, problems: verdict.problems, published: info, used: verdict.peer ?? null },
        verdict.peer
          ? `peer nodes/info disagrees with its node ID; the ID's values are used instead: ${why}`
          : `peer nodes/info cannot be trusted and is not used: ${why}`,
      );
    }
    this.gauge.set(this.distrusted.size);
  }
}
