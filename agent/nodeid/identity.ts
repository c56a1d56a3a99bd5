// The node's identity while the agent runs: its ID (claimed or re-asserted at start, see
// claim.ts), its pod subnet, and `nodes/info/<node>` published under the agent's lease. The
// info key doubles as the one-agent-per-node lock: it is created only if absent, so a second
// agent for the same node fails with a clear error. A periodic check re-asserts the claim and
// the info (an etcd restore loses both, and the lease), and reports a restore to the caller so
// IPAM can write back its records.
import type { Lease } from 'etcd3';
import type { Store } from '../../lib/etcd/store.ts';
import { NetloomError, errorMessage } from '../../lib/errors.ts';
import type { Keyspace } from '../../lib/keyspace.ts';
import type { Logger } from '../../lib/logging.ts';
import { Deadline, Wakeup } from '../../lib/timing.ts';
import type { NodeInfo } from '../../proto/gen/netloom/model/v1/NodeInfo.ts';
import type { AddressPlan, NodeSubnet } from '../ipam/plan.ts';
import { assertClaim, claimFreshId, NodeIdConflictError, type ClaimContext } from './claim.ts';
import { readState, writeState, type NodeState } from './state-file.ts';

/** Another live agent publishes this node. */
export class AgentConflictError extends NetloomError {}

export interface NodeIdentityOptions {
  store: Store;
  keyspace: Keyspace;
  node: string;
  stateDir: string;
  plan: AddressPlan;
  managementIp: string;
  tunnelEndpoint: string;
  leaseTtlSeconds: number;
  /** Interval of the re-assert check, and the poll of a fresh claim's settle. */
  checkMs: number;
  /** How long a new node holds a fresh claim before committing it. */
  settleMs: number;
  /** How long to wait for another agent's info lease to expire before giving up. */
  ownerWaitMs: number;
  logger: Logger;
  /** Called after etcd was found to have lost this node's records. */
  onRestored?: () => Promise<void>;
  /** Another cluster holding this node's ID store-wide: refuse (default; the mesh needs it) or warn. */
  foreignIds?: 'refuse' | 'warn';
}

export class NodeIdentity {
  readonly id: number;
  readonly subnet: NodeSubnet;
  private readonly opts: NodeIdentityOptions;
  private state: NodeState;
  private lease: Lease | undefined;
  private leaseId = '';
  private problem: string | null = null;
  private readonly stop = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private readonly wake = new Wakeup();

  private constructor(opts: NodeIdentityOptions, state: NodeState) {
    this.opts = opts;
    this.state = state;
    this.id = state.id;
    this.subnet = opts.plan.forNode(state.id);
  }

  static async start(opts: NodeIdentityOptions): Promise<NodeIdentity> {
    const { store, keyspace, node, logger } = opts;
    const previous = readState(opts.stateDir, keyspace.cluster);
    if (previous && previous.node !== node) {
      throw new NetloomError(
        `state directory ${opts.stateDir} belongs to node ${previous.node}, not ${node}`,
      );
    }
    await waitForOwner(opts, previous?.lease);
    const ctx: ClaimContext = {
      store,
      keyspace,
      node,
      maxId: opts.plan.maxNodeId,
      logger,
      ...(opts.foreignIds ? { foreignIds: opts.foreignIds } : {}),
    };
    let state: NodeState;
    if (previous) {
      const result = await assertClaim(ctx, previous.id, previous.claimedAt);
      if (result !== 'held')
        logger.warn({ id: previous.id, result }, 'node ID claim re-asserted from the state file');
      state = previous;
    } else {
      const id = await claimFreshId(ctx, { settleMs: opts.settleMs, checkMs: opts.checkMs });
      state = { cluster: keyspace.cluster, node, id, claimedAt: new Date().toISOString() };
      writeState(opts.stateDir, state);
    }
    const identity = new NodeIdentity(opts, state);
    await identity.publish(true);
    logger.info({ id: state.id, subnet: identity.subnet.cidr }, 'node identity established');
    identity.loop = identity.run();
    return identity;
  }

  info(): Required<NodeInfo> {
    return {
      name: this.opts.node,
      id: this.id,
      managementIp: this.opts.managementIp,
      tunnelEndpoint: this.opts.tunnelEndpoint,
      podSubnet: this.subnet.cidr,
    };
  }

  /** Null when the claim and the info are in place; else what is wrong. */
  readiness(): string | null {
    return this.problem;
  }

  /** Stops the checks and revokes the lease (the info disappears at once). */
  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
    await this.lease?.revoke().catch(() => undefined);
  }

  /**
   * Stops the checks and the lease's keep-alives without revoking it, as a killed agent would
   * leave it: the info stays until the lease expires or a restarted agent takes it over.
   */
  async abandon(): Promise<void> {
    this.stop.abort();
    await this.loop;
    this.lease?.release();
  }

  /** Runs a check now (tests; a watch that saw the store go back in time). */
  checkNow(): void {
    this.wake.notify();
  }

  private async run(): Promise<void> {
    while (!this.stop.signal.aborted) {
      await this.wake.wait(this.opts.checkMs, this.stop.signal);
      if (this.stop.signal.aborted) return;
      await this.check().catch((err: unknown) => {
        this.problem = `node identity check failed: ${errorMessage(err)}`;
        this.opts.logger.warn({ err: errorMessage(err) }, 'node identity check failed; retrying');
      });
    }
  }

  private async check(): Promise<void> {
    const ctx: ClaimContext = { ...this.opts, maxId: this.opts.plan.maxNodeId };
    let restored = false;
    try {
      const result = await assertClaim(ctx, this.id, this.state.claimedAt);
      if (result !== 'held') {
        this.opts.logger.warn(
          { id: this.id, result },
          'node ID claim was missing or taken: re-asserted (etcd restored from an older backup?)',
        );
        restored = true;
      }
    } catch (err) {
      if (err instanceof NodeIdConflictError) {
        if (this.problem !== err.message)
          this.opts.logger.error({ id: this.id, holder: err.holder }, err.message);
        this.problem = err.message;
        return;
      }
      throw err;
    }
    restored = (await this.publish(false)) || restored;
    this.problem = null;
    if (restored) await this.opts.onRestored?.();
  }

  /** Makes sure nodes/info/<node> holds our info under a live lease; true when it had to write it. */
  private async publish(first: boolean): Promise<boolean> {
    const key = this.opts.keyspace.key({ kind: 'nodeInfo', name: this.opts.node });
    const current = await this.opts.store.get(key);
    if (current && current.lease === this.leaseId && this.lease && !this.lease.revoked()) return false;
    if (current && current.lease !== this.leaseId && current.lease !== '0') {
      throw new AgentConflictError(
        `another agent publishes node ${this.opts.node} (nodes/info lease ${current.lease}); this one stays unready`,
      );
    }
    if (current && current.lease === '0') await this.opts.store.deleteIf(key, current.modRevision); // written without a lease: not an agent's
    await this.renewLease();
    const value = JSON.stringify(this.info());
    const res = await this.opts.store.create(key, value, this.leaseId);
    if (!res.created && res.existing.lease !== this.leaseId) {
      await this.lease?.revoke().catch(() => undefined);
      throw new AgentConflictError(
        `another agent for node ${this.opts.node} started at the same time and won (nodes/info lease ${res.existing.lease}); ` +
          `refusing to run a second agent for one node`,
      );
    }
    if (!first) this.opts.logger.warn({ key }, 'nodes/info was missing: republished');
    return !first;
  }

  private async renewLease(): Promise<void> {
    if (this.lease && !this.lease.revoked() && this.leaseId && (await this.leaseAlive())) return;
    this.lease?.release();
    const lease = this.opts.store.client.lease(this.opts.leaseTtlSeconds, { autoKeepAlive: true });
    lease.on('lost', (err) => {
      this.opts.logger.warn({ err: errorMessage(err) }, 'agent lease lost; checking the node identity');
      this.checkNow();
    });
    this.leaseId = await lease.grant();
    this.lease = lease;
    this.state = { ...this.state, lease: this.leaseId };
    writeState(this.opts.stateDir, this.state);
  }

  private async leaseAlive(): Promise<boolean> {
    try {
      const res = await this.opts.store.client.leaseClient.leaseTimeToLive({ ID: this.leaseId });
      return Number(res.TTL) > 0;
    } catch {
      return false;
    }
  }
}

/**
 * Waits until no other agent publishes this node. Its own leftover (same lease as the state
 * file) is revoked at once; a live stranger's lease gets `ownerWaitMs` to expire.
 */
async function waitForOwner(opts: NodeIdentityOptions, ownLease: string | undefined): Promise<void> {
  const key = opts.keyspace.key({ kind: 'nodeInfo', name: opts.node });
  const deadline = new Deadline(opts.ownerWaitMs);
  let said = false;
  for (;;) {
    const current = await opts.store.get(key);
    if (!current || current.lease === '0') return;
    if (current.lease === ownLease) {
      opts.logger.info({ lease: current.lease }, "revoking the lease of this node's previous agent");
      await opts.store.client.leaseClient.leaseRevoke({ ID: current.lease }).catch(() => undefined);
      return;
    }
    if (!said) {
      opts.logger.warn(
        { lease: current.lease, waitMs: opts.ownerWaitMs },
        'another agent publishes this node; waiting for its lease to expire',
      );
      said = true;
    }
    if (deadline.expired()) {
      throw new AgentConflictError(
        `node ${opts.node} is already served by another agent: nodes/info/${opts.node} is held by lease ${current.lease}, ` +
          `not this agent's. If that agent is gone, its lease expires within ${opts.leaseTtlSeconds}s; ` +
          `refusing to start a second agent for the same node`,
      );
    }
    await deadline.pause(500);
  }
}
