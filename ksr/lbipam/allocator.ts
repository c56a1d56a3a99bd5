// The LoadBalancer allocator: runs on the KSR leader only, beside the syncer, for as long as the
// term lasts. Each pass reads nothing new from Kubernetes (the service reflector keeps the view
// current), plans with planLb, and carries the plan out: records in etcd first (create-only and
// guarded by the leader's claim, so neither a stale view nor a deposed leader can hand out an
// address twice), then status through the API server, then Events. The lbipam/ records are the
// truth; they are read at the start of every term, after any failure, and periodically, so a new
// leader simply reconciles what the last one left.
import { errorMessage } from '../../lib/errors.ts';
import { GuardFailedError, writeGuarded, type Guard } from '../../lib/etcd/guarded-write.ts';
import type { Store } from '../../lib/etcd/store.ts';
import type { Keyspace } from '../../lib/keyspace.ts';
import type { Logger } from '../../lib/logging.ts';
import { Wakeup } from '../../lib/timing.ts';
import type { LbIpamEntry } from '../../proto/gen/netloom/model/v1/LbIpamEntry.ts';
import { toJson } from '../convert/common.ts';
import type { Feed } from '../feed.ts';
import type { KubeWriter } from '../kube/writer.ts';
import { confirmClaim, type Term } from '../leader.ts';
import type { KsrMetrics } from '../metrics.ts';
import { runReconcileLoop, type PassResult } from '../reconcile-loop.ts';
import { planLb, type LbAction } from './plan.ts';
import type { LbPools } from './pools.ts';
import { LbServiceFeed, ownerOf } from './service.ts';

export interface AllocatorOptions {
  /** netloom's loadBalancerClass; services without a class are netloom's too. */
  lbClass: string;
  /** How often to re-read lbipam/ (records edited or deleted behind the leader's back). */
  resyncMs: number;
  backoffMs: { min: number; max: number };
}

export interface AllocatorDeps {
  store: Store;
  keyspace: Keyspace;
  kube: KubeWriter;
  pools: LbPools;
  logger: Logger;
  metrics: KsrMetrics;
  options: AllocatorOptions;
}

/** A record whose value does not parse: released, as nobody can be shown to own it. */
const UNREADABLE = '<unreadable>';

export class Allocator {
  readonly wake = new Wakeup();
  private readonly d: AllocatorDeps;
  private feed: LbServiceFeed | undefined;
  /** owner → the last event sent about it, so a lasting conflict is reported once, not per pass. */
  private readonly reported = new Map<string, string>();

  constructor(deps: AllocatorDeps) {
    this.d = deps;
  }

  /** Wraps the service feed: the allocator sees every service the reflector sees. */
  tee(serviceFeed: Feed): Feed {
    this.feed = new LbServiceFeed(serviceFeed, this.d.options.lbClass, () => this.wake.notify());
    return this.feed;
  }

  /** Runs until the term ends; never throws. */
  run(term: Term): Promise<void> {
    const { logger, metrics, options } = this.d;
    return runReconcileLoop(
      term,
      {
        // Before the first complete list, a service not seen yet would look gone.
        ready: () => this.feed?.listed === true,
        read: () => this.read(),
        pass: (records, guard) => this.pass(records, guard),
      },
      {
        kind: 'lbipam',
        failure: 'lbipam pass failed; re-reading records',
        readyPollMs: 1_000,
        resyncMs: options.resyncMs,
        backoffMs: options.backoffMs,
        wake: this.wake,
        logger,
        metrics,
      },
    );
  }

  /** lbipam/ as ip → owner. */
  private async read(): Promise<Map<string, string>> {
    const { store, keyspace, logger } = this.d;
    const { kvs } = await store.list(keyspace.prefix('lbipam'));
    const out = new Map<string, string>();
    for (const kv of kvs) {
      const ref = keyspace.tryParse(kv.key);
      if (ref?.kind !== 'lbipam') continue;
      let owner = UNREADABLE;
      try {
        const e = JSON.parse(kv.value) as LbIpamEntry;
        if (e.namespace && e.service) owner = `${e.namespace}/${e.service}`;
      } catch {
        // owner stays UNREADABLE
      }
      if (owner === UNREADABLE) logger.warn({ key: kv.key, value: kv.value }, 'unreadable lbipam record');
      out.set(ref.ip, owner);
    }
    return out;
  }

  /**
   * One plan carried out; `records` follows every write. `done` counts what changed (zero:
   * nothing to do until something changes); `failed` asks for a backoff and a fresh read.
   */
  async pass(records: Map<string, string>, guard: Guard): Promise<PassResult> {
    const feed = this.feed;
    if (!feed) return { done: 0, failed: false };
    for (const owner of this.reported.keys()) if (!feed.services.has(owner)) this.reported.delete(owner);
    const plan = planLb(records, feed.services, this.d.pools);
    const blocked = new Set<string>();
    let done = 0;
    let fenced = false;
    for (const a of plan) {
      const owner = a.type === 'release' ? a.owner : ownerOf(a.service);
      if (blocked.has(owner)) continue;
      if (!fenced && (a.type === 'status' || a.type === 'event')) {
        await confirmClaim(this.d.store, guard);
        fenced = true;
      }
      try {
        if (await this.apply(a, records, guard)) done++;
      } catch (err) {
        if (err instanceof GuardFailedError && !(await this.raced(a))) throw err;
        // A lost event is not worth a retry loop; anything else is retried after a fresh read.
        if (a.type !== 'event') blocked.add(owner);
        this.d.metrics.errors.inc({ kind: 'lbipam', reason: a.type });
        this.d.logger.warn({ action: a.type, owner, err: errorMessage(err) }, 'lbipam action failed');
      }
    }
    return { done, failed: blocked.size > 0 };
  }

  /** A refused claim: another record was there (this view was stale), not a lost leadership. */
  private async raced(a: LbAction): Promise<boolean> {
    if (a.type !== 'claim') return false;
    return (await this.d.store.get(this.d.keyspace.key({ kind: 'lbipam', ip: a.ip }))) !== undefined;
  }

  /** Carries out one action; false when it turned out to be nothing to do. */
  private async apply(a: LbAction, records: Map<string, string>, guard: Guard): Promise<boolean> {
    const { store, keyspace, kube, logger, metrics } = this.d;
    switch (a.type) {
      case 'release': {
        const key = keyspace.key({ kind: 'lbipam', ip: a.ip });
        await writeGuarded(store, [{ type: 'delete', key }], [guard]);
        records.delete(a.ip);
        this.reported.delete(a.owner);
        metrics.writes.inc({ kind: 'lbipam', op: 'delete' });
        logger.info({ ip: a.ip, owner: a.owner }, 'load balancer address released');
        return true;
      }
      case 'claim': {
        const key = keyspace.key({ kind: 'lbipam', ip: a.ip });
        const entry: LbIpamEntry = { namespace: a.service.namespace, service: a.service.name };
        // Create-only: the record must not exist. This compare, not the plan, is what makes a
        // second owner impossible.
        await writeGuarded(
          store,
          [{ type: 'put', key, value: toJson(entry) }],
          [guard, { key, createRevision: 0 }],
        );
        records.set(a.ip, ownerOf(a.service));
        metrics.writes.inc({ kind: 'lbipam', op: 'put' });
        logger.info({ ip: a.ip, owner: ownerOf(a.service), pool: a.pool }, 'load balancer address claimed');
        return true;
      }
      case 'status': {
        const now = await kube.setLoadBalancerStatus(a.service, a.ips);
        if (now === undefined) return false; // gone or replaced: its own events will follow
        this.feed?.observe(now);
        return true;
      }
      case 'event': {
        const text = `${a.reason}: ${a.message}`;
        const owner = ownerOf(a.service);
        if (this.reported.get(owner) === text) return false;
        await kube.event(a.service, a);
        this.reported.set(owner, text);
        if (a.warning)
          logger.warn({ owner, reason: a.reason, message: a.message }, 'load balancer not assigned');
        return false; // an event changes nothing a next pass would see
      }
    }
  }
}
