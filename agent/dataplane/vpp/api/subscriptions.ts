// Event subscriptions that outlive connections. VPP forgets a client's subscriptions when its
// socket closes, so every subscription keeps the request that enables it and is enabled again
// on each new session before the client reports itself connected.
import type { Logger } from '../../../../lib/logging.ts';
import { Channel } from './channel.ts';
import type { VppFields } from './field-codecs.ts';

/** The request that turns events on (e.g. want_interface_events {enable_disable: 1}). */
export interface EventRequest {
  readonly request: string;
  readonly fields: VppFields;
}

export interface Subscription extends AsyncIterable<VppFields> {
  readonly event: string;
  /** Events lost because the consumer fell behind. */
  readonly dropped: number;
  close(): Promise<void>;
}

/** What the registry needs from a live session to (re)enable and disable subscriptions. */
export type RequestFn = (name: string, fields: VppFields) => Promise<unknown>;

class Sub implements Subscription {
  readonly event: string;
  readonly enable: EventRequest | undefined;
  readonly disable: EventRequest | undefined;
  readonly channel: Channel<VppFields>;
  private readonly onClose: (s: Sub) => Promise<void>;

  constructor(
    event: string,
    enable: EventRequest | undefined,
    disable: EventRequest | undefined,
    capacity: number,
    onClose: (s: Sub) => Promise<void>,
  ) {
    this.event = event;
    this.enable = enable;
    this.disable = disable;
    this.channel = new Channel(capacity);
    this.onClose = onClose;
  }

  get dropped(): number {
    return this.channel.dropped;
  }

  close(): Promise<void> {
    if (this.channel.isEnded) return Promise.resolve();
    this.channel.end();
    return this.onClose(this);
  }

  [Symbol.asyncIterator](): AsyncIterator<VppFields> {
    return this.channel[Symbol.asyncIterator]();
  }
}

export class Subscriptions {
  private readonly subs = new Set<Sub>();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  get size(): number {
    return this.subs.size;
  }

  add(
    event: string,
    enable: EventRequest | undefined,
    disable: EventRequest | undefined,
    capacity: number,
    send: () => RequestFn | undefined,
  ): Sub {
    const sub = new Sub(event, enable, disable, capacity, async (s) => {
      this.subs.delete(s);
      const request = send();
      if (s.disable !== undefined && request !== undefined && !this.anyEnabledBy(s.enable)) {
        await request(s.disable.request, s.disable.fields);
      }
    });
    this.subs.add(sub);
    return sub;
  }

  deliver(event: string, msg: VppFields): boolean {
    let delivered = false;
    for (const s of this.subs) {
      if (s.event === event) {
        s.channel.push(msg);
        delivered = true;
      }
    }
    return delivered;
  }

  /** Enables every subscription on a new session; returns how many enable requests failed. */
  async enableAll(request: RequestFn): Promise<number> {
    const seen = new Set<string>();
    const sends: Promise<unknown>[] = [];
    for (const s of this.subs) {
      if (s.enable === undefined) continue;
      const key = JSON.stringify(s.enable);
      if (seen.has(key)) continue;
      seen.add(key);
      sends.push(request(s.enable.request, s.enable.fields));
    }
    const results = await Promise.allSettled(sends);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failed)
      this.logger.warn({ err: f.reason as unknown }, 'resubscribing to VPP events failed');
    return failed.length;
  }

  endAll(): void {
    for (const s of this.subs) s.channel.end();
    this.subs.clear();
  }

  private anyEnabledBy(enable: EventRequest | undefined): boolean {
    const key = JSON.stringify(enable);
    for (const s of this.subs) if (JSON.stringify(s.enable) === key) return true;
    return false;
  }
}
