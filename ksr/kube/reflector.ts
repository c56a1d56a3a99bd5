// A reflector: keeps one feed equal to one Kubernetes resource. It lists (paginated, one
// snapshot), then watches from the list's resourceVersion with bookmarks; it re-watches where it
// left off when the server closes the stream, relists on 410 Gone and periodically, restarts a
// watch whose last event (bookmarks included) is older than the watchdog allows (the silent
// stalls client-node is known for), and backs off on errors. An optional resource (a CRD) that
// is not installed counts as empty and is polled until it appears.
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logging.ts';
import type { Feed } from '../feed.ts';
import type { KsrMetrics } from '../metrics.ts';
import { Backoff, sleep } from '../../lib/timing.ts';
import { KubeApiError, type KubeClient, type WatchEventType, type WatchHandle } from './client.ts';

export interface ReflectorOptions {
  /** API path of the collection, e.g. /api/v1/pods. */
  path: string;
  /** 404 means "not installed yet", not an error. */
  optional: boolean;
  pageSize: number;
  relistMs: number;
  watchdogMs: number;
  /** Server-side watch timeout; the stream then closes cleanly and is resumed. */
  watchTimeoutSeconds: number;
  backoffMs: { min: number; max: number };
  /** Poll interval for an optional resource that is not installed. */
  absentPollMs: number;
}

export const DEFAULT_REFLECTOR_OPTIONS: Omit<ReflectorOptions, 'path' | 'optional'> = {
  pageSize: 500,
  relistMs: 15 * 60_000,
  watchdogMs: 120_000,
  watchTimeoutSeconds: 300,
  backoffMs: { min: 500, max: 30_000 },
  absentPollMs: 5_000,
};

type WatchEnd = {
  reason: 'closed' | 'watchdog' | 'gone' | 'error' | 'relist' | 'stopped';
  rv: string | undefined;
  events: number;
  err?: string;
};

export class Reflector {
  /** The first list is done (or the optional resource is known to be absent). */
  synced = false;
  private readonly client: KubeClient;
  private readonly feed: Feed;
  private readonly o: ReflectorOptions;
  private readonly logger: Logger;
  private readonly metrics: KsrMetrics;
  private readonly onSynced: () => void;
  private readonly onListed: ((objects: number) => void) | undefined;
  private absent = false;

  constructor(
    client: KubeClient,
    feed: Feed,
    options: ReflectorOptions,
    deps: { logger: Logger; metrics: KsrMetrics; onSynced: () => void; onListed?: (objects: number) => void },
  ) {
    this.client = client;
    this.feed = feed;
    this.o = options;
    this.logger = deps.logger.child({ kind: feed.kind });
    this.metrics = deps.metrics;
    this.onSynced = deps.onSynced;
    this.onListed = deps.onListed;
  }

  get kind(): string {
    return this.feed.kind;
  }

  /** Whether a key of this resource holds its final value even before the first list ends. */
  get settled(): boolean {
    return this.synced || !this.feed.folds;
  }

  /** Runs until `signal` aborts. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.o.backoffMs.min, this.o.backoffMs.max);
    let rv: string | undefined;
    let relistAt = 0;
    while (!signal.aborted) {
      try {
        if (rv === undefined || Date.now() >= relistAt) {
          rv = await this.relist(signal);
          relistAt = Date.now() + this.o.relistMs * (0.9 + Math.random() * 0.2);
          this.markSynced();
        }
        const end = await this.watchOnce(rv, relistAt, signal);
        if (end.reason === 'stopped') break;
        this.metrics.watchRestarts.inc({ kind: this.kind, reason: end.reason });
        rv = end.reason === 'gone' ? undefined : end.rv;
        if (end.reason === 'relist') relistAt = 0;
        if (end.reason === 'error' || (end.reason === 'closed' && end.events === 0)) {
          const delay = backoff.next();
          this.logger.warn(
            { reason: end.reason, err: end.err, retryInMs: delay },
            'watch ended; resuming after backoff',
          );
          await sleep(delay, signal);
        } else {
          if (end.reason !== 'closed') this.logger.info({ reason: end.reason }, 'watch restarted');
          backoff.reset();
        }
      } catch (err) {
        if (signal.aborted) break;
        rv = undefined;
        if (this.o.optional && err instanceof KubeApiError && err.status === 404) {
          this.resourceAbsent();
          await sleep(this.o.absentPollMs, signal);
          continue;
        }
        this.metrics.errors.inc({ kind: this.kind, reason: 'list' });
        const delay = backoff.next();
        this.logger.warn({ err: errorMessage(err), retryInMs: delay }, 'list failed');
        await sleep(delay, signal);
      }
    }
  }

  private markSynced(): void {
    if (this.absent) this.logger.info('resource installed; reflecting it');
    this.absent = false;
    if (this.synced) return;
    this.synced = true;
    this.onSynced();
  }

  /** The optional resource is not served: it has no objects (so none stay mirrored). */
  private resourceAbsent(): void {
    if (!this.absent) this.logger.info({ path: this.o.path }, 'resource not installed; waiting for it');
    this.absent = true;
    this.feed.beginRelist();
    this.feed.endRelist();
    if (!this.synced) {
      this.synced = true;
      this.onSynced();
    }
  }

  /** Lists every object (page by page, one snapshot) into the feed; returns the list's RV. */
  private async relist(signal: AbortSignal): Promise<string> {
    const started = Date.now();
    let token: string | undefined;
    let rv: string;
    let count = 0;
    this.feed.beginRelist();
    try {
      do {
        const page = await this.client.list(this.o.path, {
          limit: this.o.pageSize,
          continueToken: token,
          signal,
        });
        for (const item of page.items) this.feed.upsert(item as never);
        count += page.items.length;
        rv = page.resourceVersion;
        token = page.continueToken;
      } while (token !== undefined && !signal.aborted);
    } catch (err) {
      this.feed.abortRelist();
      throw err;
    }
    if (signal.aborted) {
      this.feed.abortRelist();
      return rv;
    }
    this.feed.endRelist();
    this.metrics.events.inc({ kind: this.kind, type: 'relist' });
    this.logger.info({ objects: count, ms: Date.now() - started, resourceVersion: rv }, 'listed');
    this.onListed?.(count);
    return rv;
  }

  /** One watch stream, from `rv` until it ends for one of WatchEnd's reasons. */
  private watchOnce(rv: string, relistAt: number, signal: AbortSignal): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let current = rv;
      let events = 0;
      let lastEvent = Date.now();
      let handle: WatchHandle | undefined;
      let finished = false;
      const finish = (reason: WatchEnd['reason'], err?: string): void => {
        if (finished) return;
        finished = true;
        clearInterval(timer);
        signal.removeEventListener('abort', onAbort);
        handle?.abort();
        resolve({ reason, rv: current, events, ...(err ? { err } : {}) });
      };
      const onAbort = (): void => finish('stopped');
      signal.addEventListener('abort', onAbort, { once: true });
      const timer = setInterval(
        () => {
          if (Date.now() - lastEvent > this.o.watchdogMs) finish('watchdog');
          else if (Date.now() >= relistAt) finish('relist');
        },
        Math.max(50, Math.min(1_000, this.o.watchdogMs / 4)),
      );
      const onEvent = (type: WatchEventType, obj: Record<string, unknown>): void => {
        if (finished) return;
        lastEvent = Date.now();
        if (type === 'ERROR') {
          const status = obj as { code?: number; message?: string };
          if (status.code === 410) finish('gone');
          else finish('error', `watch error ${status.code ?? '?'}: ${status.message ?? ''}`);
          return;
        }
        events++;
        if (type === 'ADDED' || type === 'MODIFIED') this.feed.upsert(obj);
        else if (type === 'DELETED') this.feed.remove(obj);
        this.metrics.events.inc({ kind: this.kind, type: type.toLowerCase() });
        const next = (obj as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
        if (next) current = next;
      };
      const done = (err: unknown): void => {
        if (err === null || err === undefined) return finish('closed');
        const e = err as { statusCode?: number; name?: string };
        if (e.statusCode === 410) return finish('gone');
        if (e.statusCode === 404 && this.o.optional) return finish('gone');
        finish('error', errorMessage(err));
      };
      const query = {
        resourceVersion: rv,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(this.o.watchTimeoutSeconds),
      };
      this.client.watch(this.o.path, query, onEvent, done).then(
        (h) => {
          handle = h;
          if (finished) h.abort();
        },
        (err: unknown) => finish('error', errorMessage(err)),
      );
    });
  }
}
