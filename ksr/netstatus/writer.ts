// The network-status writer: runs on the KSR leader only, for as long as the term lasts. Each pod
// with attachments/ records gets the `k8s.v1.cni.cncf.io/network-status` annotation they make
// (status.ts), patched only when the pod's annotation says something else. Work is per pod: a
// change to a pod's records or to the pod marks it; a pass patches what differs, a few at a
// time; a failed patch is logged once and retried with backoff (that pod alone).
import { errorMessage } from '../../lib/errors.ts';
import type { Store } from '../../lib/etcd/store.ts';
import type { Logger } from '../../lib/logging.ts';
import { Backoff, Wakeup } from '../../lib/timing.ts';
import type { Feed } from '../feed.ts';
import { confirmClaim, endTermIfFenced, guardOf, type Term } from '../leader.ts';
import type { KsrMetrics } from '../metrics.ts';
import type { AttachmentIndex } from './attachments.ts';
import type { PodAnnotator } from './kube.ts';
import { PodStatusFeed } from './pods.ts';
import { NETWORK_STATUS_ANNOTATION, networkStatusText } from './status.ts';

export interface NetStatusOptions {
  /** Patches in flight at once. */
  concurrency: number;
  backoffMs: { min: number; max: number };
}

export interface NetStatusDeps {
  store: Store;
  pods: PodAnnotator;
  index: AttachmentIndex;
  /** The UID of a pod as reflected (undefined: not known, or gone). */
  podUid: (podKey: string) => string | undefined;
  logger: Logger;
  metrics: KsrMetrics;
  options: NetStatusOptions;
}

interface Retry {
  backoff: Backoff;
  at: number;
}

export class NetStatusWriter {
  readonly wake = new Wakeup();
  private readonly d: NetStatusDeps;
  private feed: PodStatusFeed | undefined;
  private readonly dirty = new Set<string>();
  private readonly retries = new Map<string, Retry>();

  constructor(deps: NetStatusDeps) {
    this.d = deps;
  }

  /** Wraps the pod feed: the writer sees each pod's current annotation. */
  tee(podFeed: Feed): Feed {
    this.feed = new PodStatusFeed(podFeed, (podKey) => this.touch(podKey, false));
    return this.feed;
  }

  /**
   * A pod or its records changed. A pod change matters only for pods with records (most pod
   * events are status churn of pods the writer has nothing to say about).
   */
  touch(podKey: string, records: boolean): void {
    if (!records && !this.d.index.has(podKey)) return;
    this.dirty.add(podKey);
    this.wake.notify();
  }

  /** Runs until the term ends; never throws. */
  async run(term: Term): Promise<void> {
    const { index, metrics, logger } = this.d;
    const signal = term.signal;
    const guard = guardOf(term);
    while (!signal.aborted) {
      try {
        if (!this.feed?.listed || !index.synced) {
          await this.wake.wait(500, signal);
          continue;
        }
        const due = this.take();
        if (due.length === 0) {
          await this.wake.wait(this.nextRetryIn(), signal);
          continue;
        }
        await confirmClaim(this.d.store, guard);
        await this.patchAll(due, signal);
      } catch (err) {
        if (signal.aborted) break;
        if (await endTermIfFenced(err, term, metrics)) break;
        logger.warn({ err: errorMessage(err) }, 'network-status pass failed');
        await this.wake.wait(this.d.options.backoffMs.max, signal);
      }
    }
    this.retries.clear();
    metrics.networkStatusRetrying.set(0);
  }

  /** Dirty pods and pods whose retry is due. */
  private take(): string[] {
    const now = Date.now();
    const due = new Set(this.dirty);
    this.dirty.clear();
    for (const [podKey, r] of this.retries) if (r.at <= now) due.add(podKey);
    return [...due];
  }

  private nextRetryIn(): number {
    let next = 60_000;
    for (const r of this.retries.values()) next = Math.min(next, Math.max(0, r.at - Date.now()));
    return next;
  }

  private async patchAll(due: string[], signal: AbortSignal): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < due.length && !signal.aborted) await this.patchOne(due[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.d.options.concurrency, due.length) }, worker));
    this.d.metrics.networkStatusRetrying.set(this.retries.size);
  }

  private async patchOne(podKey: string): Promise<void> {
    const { pods, index, podUid, logger, metrics, options } = this.d;
    const feed = this.feed!;
    const uid = podUid(podKey);
    // A pod not known (yet, or any more) is looked at again when its pod event arrives.
    const value = uid === undefined ? undefined : networkStatusText(index.recordsOf(podKey), uid);
    if (uid === undefined || value === undefined || feed.says(podKey, value)) {
      this.retries.delete(podKey);
      return;
    }
    const slash = podKey.indexOf('/');
    const ref = { namespace: podKey.slice(0, slash), name: podKey.slice(slash + 1), uid };
    try {
      const written = await pods.annotate(ref, NETWORK_STATUS_ANNOTATION, value);
      this.retries.delete(podKey);
      if (written) feed.observe(podKey, value);
      metrics.networkStatusPatches.inc({ result: written ? 'written' : 'gone' });
    } catch (err) {
      const r = this.retries.get(podKey) ?? {
        backoff: new Backoff(options.backoffMs.min, options.backoffMs.max),
        at: 0,
      };
      const delay = r.backoff.next();
      r.at = Date.now() + delay;
      this.retries.set(podKey, r);
      metrics.networkStatusPatches.inc({ result: 'error' });
      logger.warn({ pod: podKey, err: errorMessage(err), retryInMs: delay }, 'network-status patch failed');
    }
  }
}
