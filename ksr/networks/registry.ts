// The network registry: runs on the KSR leader only, beside the syncer, for as long as the term
// lasts. It turns NetworkAttachmentDefinitions that define netloom networks into networks/
// records with IDs claimed in network-ids/ (and store-wide in _shared/network-ids/), holds a
// NAD's deletion with a finalizer while pods are attached, and says why in Events.
//
// etcd is the truth: records and claims are read at the start of every term, after any failure
// and every resync period, so a new leader reconciles what the last one left. A network's claims
// and its record are written in one transaction, create-only on the claims and guarded by the
// leader's claim on ksr/status: a leader killed at any point leaves either both or neither, an ID
// held in etcd is never given twice, and a deposed leader cannot write at all. Kubernetes writes
// (finalizers, Events) cannot carry that compare, so the claim is re-read just before them.
import { errorMessage } from '../../lib/errors.ts';
import { GuardFailedError, writeGuarded, type Guard } from '../../lib/etcd/guarded-write.ts';
import type { Store, WriteOp } from '../../lib/etcd/store.ts';
import { jsonObjectOf } from '../../lib/json.ts';
import { SharedKeyspace, type Keyspace } from '../../lib/keyspace.ts';
import type { Logger } from '../../lib/logging.ts';
import { Wakeup } from '../../lib/timing.ts';
import type { Network__Output as Network } from '../../proto/gen/netloom/model/v1/Network.ts';
import { compact, toJson } from '../convert/common.ts';
import type { Feed } from '../feed.ts';
import { claimHolds, confirmClaim, type Term } from '../leader.ts';
import type { KsrMetrics } from '../metrics.ts';
import { runReconcileLoop, type PassResult } from '../reconcile-loop.ts';
import type { AttachmentIndex } from '../netstatus/attachments.ts';
import type { NadWriter } from './kube.ts';
import { NadFeed, NETWORK_FINALIZER } from './nad.ts';
import { planNetworks, REASONS, type ClusterRanges, type NetworkAction, type RegistryState } from './plan.ts';

export interface RegistryOptions {
  ranges: ClusterRanges;
  /** How often to re-read networks/ and network-ids/ (edited or deleted behind the leader's back). */
  resyncMs: number;
  backoffMs: { min: number; max: number };
}

export interface RegistryDeps {
  store: Store;
  keyspace: Keyspace;
  kube: NadWriter;
  /** attachments/ of the cluster: which pods use which network. */
  index: AttachmentIndex;
  logger: Logger;
  metrics: KsrMetrics;
  options: RegistryOptions;
}

type EtcdState = Pick<RegistryState, 'records' | 'claims' | 'shared'> & {
  records: Map<string, Network>;
  claims: Map<number, string>;
  shared: Map<number, { cluster: string; network: string }>;
};

/** A claim whose value does not parse: released, as nobody can be shown to hold it. */
const UNREADABLE = '<unreadable>';
const REFUSALS: readonly string[] = [REASONS.invalid, REASONS.overlap, REASONS.vni];

export class NetworkRegistry {
  readonly wake = new Wakeup();
  private readonly d: RegistryDeps;
  private readonly shared = new SharedKeyspace();
  private feed: NadFeed | undefined;
  /** `<owner>|<reason>` → the last message sent, so a lasting condition is reported once. */
  private readonly reported = new Map<string, string>();

  constructor(deps: RegistryDeps) {
    this.d = deps;
  }

  /** Wraps the netattach feed: the registry sees every NAD the reflector sees. */
  tee(nadFeed: Feed): Feed {
    this.feed = new NadFeed(nadFeed, () => this.wake.notify());
    return this.feed;
  }

  /** Runs until the term ends; never throws. */
  run(term: Term): Promise<void> {
    const { logger, metrics, options, index } = this.d;
    return runReconcileLoop(
      term,
      {
        // Before the first complete lists, a NAD or an attachment not seen yet would look gone.
        ready: () => this.feed?.listed === true && index.synced,
        read: () => this.read(),
        pass: (state, guard) => this.pass(state, guard),
      },
      {
        kind: 'network',
        failure: 'network registry pass failed; re-reading',
        readyPollMs: 500,
        resyncMs: options.resyncMs,
        backoffMs: options.backoffMs,
        wake: this.wake,
        logger,
        metrics,
      },
    );
  }

  /** networks/, network-ids/ and the store-wide network-ids/. */
  private async read(): Promise<EtcdState> {
    const { store, keyspace, logger } = this.d;
    const records = new Map<string, Network>();
    for (const kv of (await store.list(keyspace.prefix('network'))).kvs) {
      const ref = keyspace.tryParse(kv.key);
      if (ref?.kind !== 'network') continue;
      const n = decodeNetwork(kv.value);
      if (n) records.set(`${ref.namespace}/${ref.name}`, n);
      else logger.warn({ key: kv.key }, 'unreadable network record (rewritten if its NAD defines it)');
    }
    const claims = new Map<number, string>();
    for (const kv of (await store.list(keyspace.prefix('networkId'))).kvs) {
      const ref = keyspace.tryParse(kv.key);
      const id = ref?.kind === 'networkId' ? Number(ref.id) : NaN;
      if (!Number.isInteger(id) || id < 1) continue;
      claims.set(id, field(kv.value, 'network') ?? UNREADABLE);
    }
    const shared = new Map<number, { cluster: string; network: string }>();
    for (const kv of (await store.list(this.shared.prefix('sharedNetworkId'))).kvs) {
      const ref = this.shared.tryParse(kv.key);
      const id = ref?.kind === 'sharedNetworkId' ? Number(ref.id) : NaN;
      if (!Number.isInteger(id) || id < 1) continue;
      shared.set(id, {
        cluster: field(kv.value, 'cluster') ?? UNREADABLE,
        network: field(kv.value, 'network') ?? '',
      });
    }
    return { records, claims, shared };
  }

  /**
   * One plan carried out; `state` follows every write. `done` counts what changed (zero: nothing
   * to do until something changes); `failed` asks for a backoff and a fresh read.
   */
  async pass(state: EtcdState, guard: Guard): Promise<PassResult> {
    const feed = this.feed;
    if (!feed) return { done: 0, failed: false };
    const plan = planNetworks({
      ...state,
      nads: feed.nads,
      inUse: this.d.index.inUse(),
      cluster: this.d.keyspace.cluster,
      ranges: this.d.options.ranges,
    });
    this.count(plan, state);
    let done = 0;
    let failed = false;
    let fenced = false;
    for (const a of plan) {
      if (!fenced && (a.type === 'finalizer' || a.type === 'event')) {
        await confirmClaim(this.d.store, guard);
        fenced = true;
      }
      try {
        if (await this.apply(a, state, guard)) done++;
      } catch (err) {
        // A refused create-only write whose leadership guard still holds: another claim was there.
        if (err instanceof GuardFailedError && !(await claimHolds(this.d.store, guard))) throw err;
        // A lost event is not worth a retry loop; anything else is retried after a fresh read.
        if (a.type !== 'event') failed = true;
        this.d.metrics.errors.inc({ kind: 'network', reason: a.type });
        this.d.logger.warn(
          { action: a.type, ...describe(a), err: errorMessage(err) },
          'network action failed',
        );
        if (a.type !== 'event') break;
      }
    }
    return { done, failed };
  }

  private count(plan: readonly NetworkAction[], state: EtcdState): void {
    const { metrics } = this.d;
    metrics.networks.set(state.records.size);
    const refused = new Map<string, number>(REFUSALS.map((r) => [r, 0]));
    for (const a of plan)
      if (a.type === 'event' && refused.has(a.reason))
        refused.set(a.reason, (refused.get(a.reason) ?? 0) + 1);
    for (const [reason, n] of refused) metrics.networksRefused.set({ reason }, n);
  }

  /** Carries out one action; false when it turned out to be nothing to do. */
  private async apply(a: NetworkAction, state: EtcdState, guard: Guard): Promise<boolean> {
    const { store, keyspace, kube, logger, metrics } = this.d;
    const cluster = keyspace.cluster;
    const claimKey = (id: number): string => keyspace.key({ kind: 'networkId', id: String(id) });
    const sharedKey = (id: number): string => this.shared.key({ kind: 'sharedNetworkId', id: String(id) });
    const recordKey = (owner: string): string => {
      const [namespace = '', name = ''] = owner.split('/');
      return keyspace.key({ kind: 'network', namespace, name });
    };
    switch (a.type) {
      case 'retire': {
        const ops: WriteOp[] = [
          ...(a.record ? [{ type: 'delete' as const, key: recordKey(a.owner) }] : []),
          ...a.ids.map((id) => ({ type: 'delete' as const, key: claimKey(id) })),
          ...a.sharedIds.map((id) => ({ type: 'delete' as const, key: sharedKey(id) })),
        ];
        await writeGuarded(store, ops, [guard]);
        if (a.record) state.records.delete(a.owner);
        for (const id of a.ids) state.claims.delete(id);
        for (const id of a.sharedIds) state.shared.delete(id);
        metrics.writes.inc({ kind: 'network', op: 'delete' }, ops.length);
        logger.info({ network: a.owner, ids: a.ids, record: a.record }, 'network retired');
        return true;
      }
      case 'create': {
        const id = a.network.id;
        const ops: WriteOp[] = [
          { type: 'put', key: claimKey(id), value: toJson({ network: a.owner }) },
          ...(a.sharedClaim
            ? [{ type: 'put' as const, key: sharedKey(id), value: toJson({ cluster, network: a.owner }) }]
            : []),
          { type: 'put', key: recordKey(a.owner), value: toJson(compact(a.network)) },
        ];
        // Create-only: these compares, not the plan, make a second holder of an ID impossible.
        await writeGuarded(store, ops, [
          guard,
          { key: claimKey(id), createRevision: 0 },
          ...(a.sharedClaim ? [{ key: sharedKey(id), createRevision: 0 }] : []),
        ]);
        state.claims.set(id, a.owner);
        if (a.sharedClaim) state.shared.set(id, { cluster, network: a.owner });
        state.records.set(a.owner, a.network);
        metrics.writes.inc({ kind: 'network', op: 'put' }, ops.length);
        logger.info(
          { network: a.owner, id, vni: a.network.vni, subnets: a.network.subnets },
          'network created',
        );
        return true;
      }
      case 'update': {
        await writeGuarded(
          store,
          [{ type: 'put', key: recordKey(a.owner), value: toJson(compact(a.network)) }],
          [guard],
        );
        state.records.set(a.owner, a.network);
        metrics.writes.inc({ kind: 'network', op: 'put' });
        logger.info({ network: a.owner, id: a.network.id }, 'network record written');
        return true;
      }
      case 'adopt': {
        const key = sharedKey(a.id);
        await writeGuarded(
          store,
          [{ type: 'put', key, value: toJson({ cluster, network: a.owner }) }],
          [guard, { key, createRevision: 0 }],
        );
        state.shared.set(a.id, { cluster, network: a.owner });
        metrics.writes.inc({ kind: 'network', op: 'put' });
        return true;
      }
      case 'finalizer': {
        const list = a.add
          ? [...a.nad.finalizers, NETWORK_FINALIZER]
          : a.nad.finalizers.filter((f) => f !== NETWORK_FINALIZER);
        const now = await kube.setFinalizers(a.nad, list);
        if (now === undefined) return false; // gone or changed meanwhile: its watch event wakes us
        this.feed?.observe(now);
        logger.info({ nad: `${a.nad.namespace}/${a.nad.name}`, add: a.add }, 'network finalizer set');
        return true;
      }
      case 'event': {
        const owner = `${a.nad.namespace}/${a.nad.name}`;
        const seen = `${owner}|${a.reason}`;
        if (this.reported.get(seen) === a.message) return false;
        await kube.event(a.nad, a);
        this.reported.set(seen, a.message);
        if (REFUSALS.includes(a.reason)) metrics.networkRefusals.inc({ reason: a.reason });
        if (a.warning) logger.warn({ nad: owner, reason: a.reason, message: a.message }, 'network not ready');
        return false; // an event changes nothing a next pass would see
      }
    }
  }
}

function describe(a: NetworkAction): Record<string, string> {
  return a.type === 'event' || a.type === 'finalizer'
    ? { nad: `${a.nad.namespace}/${a.nad.name}` }
    : { network: a.owner };
}

/** A non-empty string field of a stored JSON object; undefined for anything else. */
function field(text: string, name: string): string | undefined {
  const v = jsonObjectOf(text)?.[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A networks/ value with proto3 defaults filled; undefined when it is not one. */
export function decodeNetwork(text: string): Network | undefined {
  const o = jsonObjectOf(text);
  if (!o) return undefined;
  const uint = (k: string): number | undefined => {
    const x = o[k] ?? 0;
    return typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : undefined;
  };
  const [id, vni, nodePrefixLength, gatewayOffset] = ['id', 'vni', 'nodePrefixLength', 'gatewayOffset'].map(
    uint,
  );
  const subnets = o['subnets'] ?? [];
  if (
    typeof o['name'] !== 'string' ||
    id === undefined ||
    vni === undefined ||
    nodePrefixLength === undefined ||
    gatewayOffset === undefined ||
    !Array.isArray(subnets) ||
    !subnets.every((s) => typeof s === 'string')
  )
    return undefined;
  return { name: o['name'], id, subnets, vni, nodePrefixLength, gatewayOffset, snat: o['snat'] === true };
}
