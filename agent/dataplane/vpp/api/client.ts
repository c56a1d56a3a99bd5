// The VPP API client: keeps one session to VPP's socket alive (reconnect with backoff, liveness
// by control_ping, resubscription), and offers request/dump/subscribe on whatever session is
// current. While disconnected, calls fail at once with a retriable VppDisconnectedError: the
// caller (the KV scheduler) owns retries, and a request is never silently resent to a VPP that
// may have restarted with other state.
import type { Logger } from '../../../../lib/logging.ts';
import type { Registry } from '../../../../lib/metrics.ts';
import { Backoff, sleep } from '../../../../lib/timing.ts';
import { BOOTSTRAP_MODULE } from './bootstrap.ts';
import { Channel } from './channel.ts';
import { VppCodec } from './codec.ts';
import { ApiDefinitions, definitionsFromApiJsonReply } from './definitions.ts';
import { VppDisconnectedError, VppTimeoutError } from './errors.ts';
import type { VppFields } from './field-codecs.ts';
import { startLiveness, type LivenessOptions } from './liveness.ts';
import { vppApiMetrics, type VppApiMetrics } from './metrics.ts';
import { VppSession } from './session.ts';
import { Subscriptions, type EventRequest, type Subscription } from './subscriptions.ts';

export interface ReconnectOptions {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export interface VppClientOptions {
  /** /run/vpp/api.sock on a standard install. */
  readonly socketPath: string;
  /** Our definitions, or 'server' to fetch the running VPP's with get_api_json at every connect. */
  readonly definitions: ApiDefinitions | 'server';
  readonly clientName?: string;
  readonly requestTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly reconnect?: Partial<ReconnectOptions>;
  /** false disables the probe. */
  readonly liveness?: Partial<LivenessOptions> | false;
  readonly logger: Logger;
  readonly registry?: Registry;
}

export type VppClientStatus =
  | {
      readonly type: 'connected';
      readonly clientIndex: number;
      readonly messages: number;
      readonly mismatched: readonly string[];
      readonly resubscribeFailures: number;
    }
  | { readonly type: 'disconnected'; readonly error?: Error }
  | {
      readonly type: 'reconnecting';
      readonly attempt: number;
      readonly delayMs: number;
      readonly error?: Error;
    }
  | { readonly type: 'closed' };

export interface CallOptions {
  readonly timeoutMs?: number;
}

export class VppClient {
  private readonly options: VppClientOptions;
  private readonly reconnectOptions: ReconnectOptions;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly metrics: VppApiMetrics;
  private readonly subscriptions: Subscriptions;
  private readonly statusChannels = new Set<Channel<VppClientStatus>>();
  private readonly staticCodec: VppCodec | undefined;
  private readonly bootstrapCodec = new VppCodec(
    new ApiDefinitions().addModule('bootstrap', BOOTSTRAP_MODULE),
  );
  private session: VppSession | undefined;
  private lastConnected: Extract<VppClientStatus, { type: 'connected' }> | undefined;
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private loop: Promise<void> | undefined;
  private closing = false;
  /** Aborted by close(): cuts a reconnect pause short. */
  private readonly stopped = new AbortController();

  constructor(options: VppClientOptions) {
    this.options = options;
    this.logger = options.logger;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.reconnectOptions = { initialDelayMs: 100, maxDelayMs: 5_000, ...options.reconnect };
    this.metrics = vppApiMetrics(options.registry);
    this.subscriptions = new Subscriptions(options.logger);
    if (options.definitions !== 'server') {
      // The handshake and ping messages must be known whatever the caller's definitions hold.
      this.staticCodec = new VppCodec(options.definitions.clone().addModule('bootstrap', BOOTSTRAP_MODULE));
    }
  }

  /** Starts the client and waits for the first connection (rejects after connectTimeoutMs). */
  static async connect(
    options: VppClientOptions,
    readyTimeoutMs = options.connectTimeoutMs ?? 5_000,
  ): Promise<VppClient> {
    const client = new VppClient(options);
    client.start();
    try {
      await client.ready(readyTimeoutMs);
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  /** Begins connecting, and reconnecting whenever the session ends, until close(). */
  start(): void {
    this.loop ??= this.run();
  }

  get isConnected(): boolean {
    return this.session?.isOpen === true;
  }

  /** The connected session's definitions (differ per connect in 'server' mode). */
  get definitions(): ApiDefinitions | undefined {
    return this.session?.definitions ?? this.staticCodec?.definitions;
  }

  /** Resolves once connected (at once if connected now). */
  ready(timeoutMs = this.timeoutMs): Promise<void> {
    if (this.isConnected) return Promise.resolve();
    if (this.closing) return Promise.reject(new VppDisconnectedError('client closed'));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (): void => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error): void => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
        reject(new VppTimeoutError(`connect to ${this.options.socketPath}`, timeoutMs));
      }, timeoutMs);
      this.readyWaiters.push(waiter);
    });
  }

  /**
   * What the current session's connect reported (its message count and the messages VPP has at
   * another CRC, which are refused); undefined while not connected. The CRC report of a node.
   */
  get connection(): Extract<VppClientStatus, { type: 'connected' }> | undefined {
    return this.isConnected ? this.lastConnected : undefined;
  }

  /** True when the connected VPP has `name` (and its reply) at our definitions' CRC. */
  supports(name: string): boolean {
    return this.session?.supports(name) ?? false;
  }

  request(name: string, fields: VppFields = {}, options: CallOptions = {}): Promise<VppFields> {
    return this.call((s) => s.request(name, fields, options.timeoutMs ?? this.timeoutMs), name);
  }

  dump(name: string, fields: VppFields = {}, options: CallOptions = {}): Promise<VppFields[]> {
    return this.call((s) => s.dump(name, fields, options.timeoutMs ?? this.timeoutMs), name);
  }

  /**
   * Subscribes to an event (e.g. sw_interface_event). `enable` is sent now if connected, and
   * again after every reconnect; `disable` when the last subscription with that enable closes.
   */
  async subscribe(
    event: string,
    enable?: EventRequest,
    disable?: EventRequest,
    capacity = 10_000,
  ): Promise<Subscription> {
    const sub = this.subscriptions.add(event, enable, disable, capacity, () => this.requestFn());
    const s = this.session;
    if (enable !== undefined && s?.isOpen) {
      try {
        await s.request(enable.request, enable.fields, this.timeoutMs);
      } catch (err) {
        await sub.close().catch(() => undefined);
        throw err;
      }
    }
    return sub;
  }

  /** Status changes from now on, until close(). */
  status(capacity = 1_000): AsyncIterable<VppClientStatus> {
    const ch = new Channel<VppClientStatus>(capacity);
    if (this.closing) ch.end();
    else this.statusChannels.add(ch);
    return ch;
  }

  /** Closes the session politely (sockclnt_delete) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.closing) {
      await this.loop;
      return;
    }
    this.closing = true;
    this.stopped.abort();
    const s = this.session;
    if (s !== undefined) await s.close(Math.min(this.timeoutMs, 1_000));
    await this.loop;
    for (const w of this.readyWaiters) w.reject(new VppDisconnectedError('client closed'));
    this.readyWaiters = [];
    this.subscriptions.endAll();
    this.emit({ type: 'closed' });
    for (const ch of this.statusChannels) ch.end();
    this.statusChannels.clear();
  }

  private async call<T>(fn: (s: VppSession) => Promise<T>, name: string): Promise<T> {
    const s = this.session;
    if (s === undefined || !s.isOpen) {
      this.metrics.request('disconnected');
      throw new VppDisconnectedError(`${name}: not connected to VPP at ${this.options.socketPath}`);
    }
    try {
      const r = await fn(s);
      this.metrics.request('ok');
      return r;
    } catch (err) {
      this.metrics.request(
        err instanceof VppTimeoutError
          ? 'timeout'
          : err instanceof VppDisconnectedError
            ? 'disconnected'
            : 'error',
      );
      throw err;
    }
  }

  private requestFn(): ((name: string, fields: VppFields) => Promise<unknown>) | undefined {
    const s = this.session;
    return s?.isOpen
      ? (name, fields): Promise<unknown> => s.request(name, fields, this.timeoutMs)
      : undefined;
  }

  private async run(): Promise<void> {
    // Delays spread uniformly over [ceiling/2, ceiling]: agents restarted with VPP do not knock in step.
    const backoff = new Backoff(this.reconnectOptions.initialDelayMs, this.reconnectOptions.maxDelayMs, {
      jitter: 'upper-half',
    });
    while (!this.closing) {
      let error: Error | undefined;
      try {
        const session = await this.openSession();
        backoff.reset();
        error = await this.serve(session);
      } catch (err) {
        error = err as Error;
        if (backoff.attempts === 0)
          this.logger.warn(
            { err, socket: this.options.socketPath },
            'cannot connect to VPP; retrying with backoff',
          );
      }
      if (this.closing) break;
      const delayMs = backoff.next();
      const attempt = backoff.attempts;
      this.emit(
        error === undefined
          ? { type: 'reconnecting', attempt, delayMs }
          : { type: 'reconnecting', attempt, delayMs, error },
      );
      await sleep(delayMs, this.stopped.signal);
    }
  }

  private async openSession(): Promise<VppSession> {
    const server = this.staticCodec === undefined;
    const session = await VppSession.open({
      path: this.options.socketPath,
      clientName: this.options.clientName ?? 'netloom',
      codec: this.staticCodec ?? this.bootstrapCodec,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 5_000,
      logger: this.logger,
    });
    try {
      if (server) session.useCodec(await this.fetchCodec(session));
      session.onEvent = (name, msg): void => {
        this.metrics.event();
        this.subscriptions.deliver(name, msg);
      };
      return session;
    } catch (err) {
      session.destroy();
      throw err;
    }
  }

  private async fetchCodec(session: VppSession): Promise<VppCodec> {
    const reply = await session.request('get_api_json', {}, Math.max(this.timeoutMs, 30_000));
    const defs = definitionsFromApiJsonReply(
      reply['json'] as string,
      new ApiDefinitions().addModule('bootstrap', BOOTSTRAP_MODULE),
    );
    return new VppCodec(defs);
  }

  /** Runs one session: resubscribe, announce, probe liveness, wait for its end. */
  private async serve(session: VppSession): Promise<Error | undefined> {
    const resubscribeFailures = await this.subscriptions.enableAll((n, f) =>
      session.request(n, f, this.timeoutMs),
    );
    if (this.closing || !session.isOpen) {
      await session.close(1_000);
      return undefined;
    }
    this.session = session;
    this.metrics.connected(true);
    const defs = session.definitions;
    const cmp = session.table.compare(defs);
    if (cmp.mismatched.length > 0)
      this.logger.info(
        { mismatched: cmp.mismatched.length },
        'VPP has other CRCs for some of our messages; those are refused',
      );
    this.lastConnected = {
      type: 'connected',
      clientIndex: session.clientIndex,
      messages: session.table.size,
      mismatched: cmp.mismatched,
      resubscribeFailures,
    };
    this.emit(this.lastConnected);
    for (const w of this.readyWaiters) w.resolve();
    this.readyWaiters = [];
    const stop =
      this.options.liveness === false
        ? undefined
        : startLiveness(session, this.options.liveness ?? {}, this.logger);
    const cause = await session.closed;
    stop?.();
    this.session = undefined;
    this.metrics.connected(false);
    if (!this.closing) {
      this.logger.warn({ err: cause }, 'VPP API session ended; reconnecting');
      this.emit(cause === undefined ? { type: 'disconnected' } : { type: 'disconnected', error: cause });
    }
    return cause;
  }

  private emit(status: VppClientStatus): void {
    for (const ch of this.statusChannels) {
      if (ch.isEnded) this.statusChannels.delete(ch);
      else ch.push(status);
    }
  }
}
