// Leader election through etcd: the leader is whoever holds the ksr/status key, created
// create-only and bound to the holder's lease. When the leader dies its lease expires, the key
// goes, and a standby (polling) claims it within ttl + poll interval. Every write the leader
// makes is guarded by that key's create revision (see syncer.ts), so a leader that lost its
// claim without noticing (paused, partitioned) cannot write: etcd refuses it.
import type { Lease } from 'etcd3';
import { errorMessage } from '../lib/errors.ts';
import { GuardFailedError, type Guard } from '../lib/etcd/guarded-write.ts';
import type { Store } from '../lib/etcd/store.ts';
import type { Logger } from '../lib/logging.ts';
import { sleep } from '../lib/timing.ts';
import type { KsrMetrics } from './metrics.ts';

/** One stretch of leadership. */
export interface Term {
  readonly identity: string;
  /** The claimed key (ksr/status). */
  readonly key: string;
  readonly createRevision: number;
  /** Lease ID (decimal string) the key is bound to; puts to the key must carry it. */
  readonly lease: string;
  /** Aborted when the term ends, whatever the reason. */
  readonly signal: AbortSignal;
  /** Ends the term (idempotent) and frees the key. */
  end(reason: string): Promise<void>;
}

export interface ElectorOptions {
  store: Store;
  key: string;
  identity: string;
  ttlSeconds: number;
  pollMs: number;
  logger: Logger;
  /** The value written when claiming. */
  initialValue: () => string;
}

export class Elector {
  /** The other replica seen holding the key at the last poll (undefined: none seen). */
  otherLeader: string | undefined;
  private readonly o: ElectorOptions;

  constructor(options: ElectorOptions) {
    this.o = options;
  }

  /** Resolves with a term once this replica leads; undefined when `signal` aborts first. */
  async campaign(signal: AbortSignal): Promise<Term | undefined> {
    const { store, key, logger } = this.o;
    let announced = '';
    while (!signal.aborted) {
      try {
        const current = await store.get(key);
        this.otherLeader = current ? leaderOf(current.value) : undefined;
        if (current) {
          const holder = leaderOf(current.value);
          if (holder !== announced) logger.info({ leader: holder }, 'standing by');
          announced = holder;
        } else {
          const term = await this.claim();
          if (term) {
            this.otherLeader = undefined;
            return term;
          }
        }
      } catch (err) {
        this.otherLeader = undefined;
        logger.warn({ err: errorMessage(err) }, 'campaign step failed; retrying');
      }
      await sleep(this.o.pollMs, signal);
    }
    return undefined;
  }

  private async claim(): Promise<Term | undefined> {
    const { store, key, identity, ttlSeconds, logger } = this.o;
    const lease = store.client.lease(ttlSeconds);
    let id: string;
    try {
      id = await lease.grant();
      const res = await store.create(key, this.o.initialValue(), id);
      if (!res.created) {
        await lease.revoke().catch(() => undefined);
        return undefined;
      }
      logger.info({ identity, createRevision: res.revision, lease: id }, 'became leader');
      return makeTerm({ identity, key, createRevision: res.revision, lease: id }, lease, logger);
    } catch (err) {
      await lease.revoke().catch(() => undefined);
      throw err;
    }
  }
}

function makeTerm(base: Omit<Term, 'signal' | 'end'>, lease: Lease, logger: Logger): Term {
  const ctl = new AbortController();
  let ending: Promise<void> | undefined;
  const end = (reason: string): Promise<void> => {
    ending ??= (async () => {
      logger.warn({ reason }, 'leadership ended');
      ctl.abort(new Error(reason));
      // Revoking deletes the key at once so a standby need not wait for the TTL.
      await lease
        .revoke()
        .catch((err: unknown) => logger.debug({ err: errorMessage(err) }, 'lease revoke failed'));
    })();
    return ending;
  };
  lease.on('lost', (err: Error) => void end(`lease lost: ${err.message}`));
  return { ...base, signal: ctl.signal, end };
}

/** The leader named in a status value (best effort: it is only shown in logs). */
function leaderOf(value: string): string {
  try {
    const leader = (JSON.parse(value) as { leader?: unknown }).leader;
    return typeof leader === 'string' ? leader : '?';
  } catch {
    return '?';
  }
}

/**
 * A write refused by the leader's guard means the claim is gone (taken over, expired, wiped):
 * ends the term, counted, and answers true. Any other error is the caller's to handle.
 */
export async function endTermIfFenced(err: unknown, term: Term, metrics: KsrMetrics): Promise<boolean> {
  if (!(err instanceof GuardFailedError)) return false;
  metrics.errors.inc({ kind: 'leader', reason: 'fenced' });
  await term.end('lost the claim on ksr/status (taken over, expired or wiped)');
  return true;
}

/** The compare every etcd write of the term carries: ksr/status is still the key it created. */
export function guardOf(term: Term): Guard {
  return { key: term.key, createRevision: term.createRevision };
}

/** Whether the term's claim still holds (one read of ksr/status). */
export async function claimHolds(store: Store, guard: Guard): Promise<boolean> {
  return (await store.get(guard.key))?.createRevision === guard.createRevision;
}

/**
 * Writes to Kubernetes cannot carry etcd's compare: the leader's workers call this just before
 * them, so a leader paused past its lease does not write a stale plan. A claim gone throws
 * GuardFailedError, which endTermIfFenced turns into the end of the term.
 */
export async function confirmClaim(store: Store, guard: Guard): Promise<void> {
  if (!(await claimHolds(store, guard)))
    throw new GuardFailedError('ksr/status is no longer the claim of this term');
}
