// A prefix watch that loses nothing and applies nothing twice across disconnects.
//
// etcd3's own watcher resumes from the header revision of the last response it saw, which
// during a catch-up can lie past events it never delivered. Here the resume point is the
// revision after the last batch the *consumer* finished: a batch counts as processed when the
// consumer asks for the next one. Events are yielded one revision at a time (a transaction's
// writes stay together), so a resume never splits a revision. A compacted start revision ends
// the watch with a `compacted` event: the caller relists and watches again.
import type { Etcd3 } from 'etcd3';
import { errorMessage } from '../errors.ts';
import { Backoff, sleep } from '../timing.ts';
import { rangeOf, type KeyRange } from './store.ts';

export type Change =
  | {
      type: 'put';
      key: string;
      value: string;
      modRevision: number;
      createRevision: number;
      version: number;
      prevValue?: string;
    }
  | { type: 'delete'; key: string; modRevision: number; prevValue?: string };

export type WatchEvent =
  /** Every change of one revision, in order. */
  | { type: 'events'; revision: number; changes: Change[] }
  /** No change under the prefix up to `revision`. */
  | { type: 'progress'; revision: number }
  /** The resume revision is gone; the iteration ends after this. */
  | { type: 'compacted'; compactRevision: number; requestedRevision: number };

export type WatchStatus =
  { type: 'connected'; fromRevision: number } | { type: 'disconnected'; error: string };

export interface WatchOptions {
  /** The first revision to deliver: usually the revision of the list plus one. */
  startRevision: number;
  prevKv?: boolean;
  signal?: AbortSignal;
  onStatus?: (status: WatchStatus) => void;
  backoffMs?: { min: number; max: number };
}

interface RawEvent {
  type: 'Put' | 'Delete' | number;
  kv: { key: Buffer; value: Buffer; create_revision: string; mod_revision: string; version: string };
  prev_kv?: { value: Buffer } | null;
}

interface RawResponse {
  header: { revision: string };
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason?: string;
  events: RawEvent[];
}

interface Duplex {
  write(req: unknown): unknown;
  on(event: string, fn: (arg: never) => void): unknown;
  end(): void;
  cancel?: () => void;
}

/** A tiny single-consumer queue fed by stream callbacks. */
class Inbox<T> {
  private items: T[] = [];
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async take(): Promise<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) return item;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}

function toChange(ev: RawEvent): Change {
  const isDelete = ev.type === 'Delete' || ev.type === 1;
  const prev = ev.prev_kv ? { prevValue: ev.prev_kv.value.toString() } : {};
  const key = ev.kv.key.toString();
  const modRevision = Number(ev.kv.mod_revision);
  if (isDelete) return { type: 'delete', key, modRevision, ...prev };
  return {
    type: 'put',
    key,
    value: ev.kv.value.toString(),
    modRevision,
    createRevision: Number(ev.kv.create_revision),
    version: Number(ev.kv.version),
    ...prev,
  };
}

function groupByRevision(events: RawEvent[]): { revision: number; changes: Change[] }[] {
  const groups: { revision: number; changes: Change[] }[] = [];
  for (const ev of events) {
    const change = toChange(ev);
    const last = groups[groups.length - 1];
    if (last && last.revision === change.modRevision) last.changes.push(change);
    else groups.push({ revision: change.modRevision, changes: [change] });
  }
  return groups;
}

async function open(
  client: Etcd3,
  prefix: string | KeyRange,
  from: number,
  prevKv: boolean,
  inbox: Inbox<RawResponse>,
): Promise<Duplex> {
  const stream = (await client.watchClient.watch()) as unknown as Duplex;
  stream.on('data', (res: RawResponse) => inbox.push(res));
  stream.on('error', (err: Error) => inbox.fail(err));
  stream.on('end', () => inbox.fail(new Error('watch stream ended')));
  const { key, end } = rangeOf(prefix);
  stream.write({
    create_request: {
      key,
      range_end: end,
      start_revision: String(from),
      progress_notify: true,
      prev_kv: prevKv,
    },
  });
  return stream;
}

/** What one response means to a watch that resumes at `next` (pure). */
function interpret(res: RawResponse, next: number): { connected: boolean; events: WatchEvent[] } {
  const compactRevision = Number(res.compact_revision);
  if (compactRevision > 0) {
    return { connected: false, events: [{ type: 'compacted', compactRevision, requestedRevision: next }] };
  }
  if (res.canceled) throw new Error(`watch canceled by server: ${res.cancel_reason ?? 'no reason given'}`);
  if (res.created) return { connected: true, events: [] };
  if (res.events.length === 0) {
    const revision = Number(res.header.revision);
    return { connected: false, events: revision >= next ? [{ type: 'progress', revision }] : [] };
  }
  const events: WatchEvent[] = groupByRevision(res.events)
    .filter((g) => g.revision >= next) // already processed before a resume
    .map((g) => ({ type: 'events', revision: g.revision, changes: g.changes }));
  return { connected: false, events };
}

export async function* watchPrefix(
  client: Etcd3,
  prefix: string | KeyRange,
  options: WatchOptions,
): AsyncGenerator<WatchEvent> {
  const { min, max } = options.backoffMs ?? { min: 100, max: 3_000 };
  const signal = options.signal;
  let next = options.startRevision;
  const backoff = new Backoff(min, max);
  while (!signal?.aborted) {
    const inbox = new Inbox<RawResponse>();
    const onAbort = (): void => inbox.fail(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    let stream: Duplex | undefined;
    try {
      stream = await open(client, prefix, next, options.prevKv ?? false, inbox);
      for (;;) {
        const step = interpret(await inbox.take(), next);
        if (step.connected) {
          options.onStatus?.({ type: 'connected', fromRevision: next });
          backoff.reset();
        }
        for (const ev of step.events) {
          yield ev; // returns when the consumer asks for more: the batch is processed
          if (ev.type === 'compacted') return;
          next = ev.revision + 1;
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      options.onStatus?.({ type: 'disconnected', error: errorMessage(err) });
    } finally {
      signal?.removeEventListener('abort', onAbort);
      try {
        stream?.cancel?.();
        stream?.end();
      } catch {
        // the stream is already gone
      }
    }
    await sleep(backoff.next(), signal);
  }
}
