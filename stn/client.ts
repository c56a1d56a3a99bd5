// The agent's side of STN. At start: stealAtStart() takes the NIC and returns its recorded
// configuration (addresses, routes, MAC, MTU, PCI address) for the data plane; if the daemon
// already holds it for this node (the agent restarted), the held configuration is returned.
// At orderly shutdown: releaseAtShutdown() gives it back. Errors carry the gRPC code and the
// daemon's error class name.
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { NetloomError } from '../lib/errors.ts';
import type { Logger } from '../lib/logging.ts';
import type { InterfaceConfig__Output } from '../proto/gen/netloom/stn/v1/InterfaceConfig.ts';
import type { StatusReply__Output } from '../proto/gen/netloom/stn/v1/StatusReply.ts';
import type { StnClient as GrpcStnClient } from '../proto/gen/netloom/stn/v1/Stn.ts';
import { DEFAULT_SOCKET, socketTarget, stnProto } from './grpc.ts';
import { ERROR_TRAILER } from './status-codes.ts';
import { Backoff, Deadline, sleep } from '../lib/timing.ts';

export class StnClientError extends NetloomError {
  readonly code: status;
  /** The daemon's error class, e.g. AlreadyStolenError ('' when the call never reached it). */
  readonly errorName: string;

  constructor(err: ServiceError) {
    super(err.details || err.message, { cause: err, retriable: err.code === status.UNAVAILABLE });
    this.code = err.code;
    const trailer = (err.metadata as Metadata | undefined)?.get(ERROR_TRAILER)[0];
    this.errorName = typeof trailer === 'string' ? trailer : '';
  }
}

export interface StnClientOptions {
  socket?: string;
  /** Per-call deadline; a steal or release waits for the kernel, so it is generous. */
  callTimeoutMs?: number;
}

export class StnClient {
  private readonly grpc: GrpcStnClient;
  private readonly callTimeoutMs: number;

  constructor(options: StnClientOptions = {}) {
    const Ctor = stnProto().netloom.stn.v1.Stn;
    this.grpc = new Ctor(socketTarget(options.socket ?? DEFAULT_SOCKET), credentials.createInsecure());
    this.callTimeoutMs = options.callTimeoutMs ?? 60_000;
  }

  private call<Req, Res>(method: 'steal' | 'release' | 'status', req: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      const fn = this.grpc[method].bind(this.grpc) as unknown as (
        r: Req,
        o: { deadline: Date },
        cb: (e: ServiceError | null, v?: Res) => void,
      ) => void;
      fn(req, { deadline: new Date(Date.now() + this.callTimeoutMs) }, (err, value) => {
        if (err) reject(new StnClientError(err));
        else resolve(value as Res);
      });
    });
  }

  async steal(
    interfaceName: string,
    opts: { dhcp?: boolean; unbind?: boolean } = {},
  ): Promise<InterfaceConfig__Output> {
    const r = await this.call<object, { config: InterfaceConfig__Output | null }>('steal', {
      interfaceName,
      dhcp: opts.dhcp ?? false,
      unbind: opts.unbind ?? false,
    });
    if (!r.config) throw new NetloomError('Steal answered without a configuration');
    return r.config;
  }

  async release(interfaceName: string): Promise<InterfaceConfig__Output | null> {
    const r = await this.call<object, { restored: InterfaceConfig__Output | null }>('release', {
      interfaceName,
    });
    return r.restored;
  }

  status(): Promise<StatusReply__Output> {
    return this.call<object, StatusReply__Output>('status', {});
  }

  close(): void {
    this.grpc.close();
  }
}

export interface StealAtStartOptions {
  dhcp?: boolean;
  unbind?: boolean;
  /** How long to keep trying while the daemon is not answering (it may be restarting). */
  retryForMs?: number;
  logger?: Logger;
}

/** Agent start: steal the NIC, or pick up the configuration the daemon already holds for it. */
export async function stealAtStart(
  client: StnClient,
  name: string,
  opts: StealAtStartOptions = {},
): Promise<InterfaceConfig__Output> {
  const deadline = new Deadline(opts.retryForMs ?? 30_000);
  const backoff = new Backoff(100, 2_000);
  for (;;) {
    try {
      return await client.steal(name, opts);
    } catch (err) {
      if (!(err instanceof StnClientError)) throw err;
      if (err.code === status.ALREADY_EXISTS) {
        const held = (await client.status()).stolen.find(
          (s) => s.config?.name === name && s.state === 'stolen',
        );
        if (held?.config) {
          opts.logger?.info(
            { interface: name, since: held.since },
            'STN daemon already holds the NIC; using its recorded configuration',
          );
          return held.config;
        }
      } else if (err.code !== status.UNAVAILABLE) {
        throw err;
      }
      const pause = backoff.next();
      if (pause > deadline.remaining()) throw err;
      opts.logger?.warn({ interface: name, err: err.message }, 'STN steal not possible yet; retrying');
      await sleep(pause);
    }
  }
}

/** Agent orderly shutdown: give the NIC back. Returns false when the daemon did not hold it. */
export async function releaseAtShutdown(client: StnClient, name: string): Promise<boolean> {
  try {
    await client.release(name);
    return true;
  } catch (err) {
    if (err instanceof StnClientError && err.errorName === 'NotStolenError') return false;
    throw err;
  }
}
