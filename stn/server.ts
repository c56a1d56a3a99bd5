// The gRPC face of the daemon on a unix socket (mode 0600: only root may steal the NIC).
// Handlers translate between proto messages and the engine; errors become status codes.
import { Metadata, Server, ServerCredentials, type ServiceError, type sendUnaryData } from '@grpc/grpc-js';
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { errorMessage, NetloomError } from '../lib/errors.ts';
import type { Logger } from '../lib/logging.ts';
import type { StnHandlers } from '../proto/gen/netloom/stn/v1/Stn.ts';
import type { StatusReply } from '../proto/gen/netloom/stn/v1/StatusReply.ts';
import type { NicEngine } from './engine.ts';
import { StnError } from './errors.ts';
import { toInterfaceConfig } from './model.ts';
import { ERROR_TRAILER, grpcStatusOf, isRefusal } from './status-codes.ts';
import { socketTarget, stnProto } from './grpc.ts';
import type { Watchdog } from './watchdog.ts';

export interface StnServerOptions {
  socket: string;
  engine: NicEngine;
  watchdog: Watchdog;
  logger: Logger;
}

export interface StnServer {
  close(): Promise<void>;
}

function fail(err: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set(ERROR_TRAILER, err instanceof NetloomError ? err.name : 'Error');
  return { code: grpcStatusOf(err), details: errorMessage(err), metadata };
}

function reply<T>(
  logger: Logger,
  method: string,
  name: string,
  cb: sendUnaryData<T>,
  work: () => Promise<T>,
): void {
  work().then(
    (value) => cb(null, value),
    (err: unknown) => {
      const e = fail(err);
      const level = isRefusal(e.code ?? 0) ? 'info' : 'error';
      logger[level]({ method, interface: name, code: e.code, err: e.details }, 'request failed');
      cb(e, null);
    },
  );
}

export function statusReply(engine: NicEngine, watchdog: Watchdog): StatusReply {
  return {
    stolen: engine
      .list()
      .map((h) => ({ config: toInterfaceConfig(h.record), since: h.since, state: h.phase })),
    watchdog: watchdog.status(),
  };
}

/** A socket file nobody answers on is a leftover of a dead daemon; a live one is an error. */
export async function clearStaleSocket(path: string): Promise<void> {
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (!exists) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
  if (alive) throw new StnError(`another process serves ${path}: is an STN daemon already running?`);
  await rm(path, { force: true });
}

export async function startStnServer(opts: StnServerOptions): Promise<StnServer> {
  const { engine, watchdog, logger } = opts;
  const handlers: StnHandlers = {
    Steal: (call, cb) => {
      const r = call.request;
      reply(logger, 'Steal', r.interfaceName, cb, async () => ({
        config: toInterfaceConfig(
          await engine.steal({ name: r.interfaceName, dhcp: r.dhcp, unbind: r.unbind }),
        ),
      }));
    },
    Release: (call, cb) => {
      const name = call.request.interfaceName;
      reply(logger, 'Release', name, cb, async () => ({
        restored: toInterfaceConfig(await engine.release(name, 'requested')),
      }));
    },
    Status: (_call, cb) =>
      reply(logger, 'Status', '', cb, () => Promise.resolve(statusReply(engine, watchdog))),
  };
  const server = new Server();
  server.addService(stnProto().netloom.stn.v1.Stn.service, handlers);
  await mkdir(dirname(opts.socket), { recursive: true, mode: 0o755 });
  await clearStaleSocket(opts.socket);
  // The umask closes the window between bind() and chmod() in which others could connect.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(socketTarget(opts.socket), ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      );
    });
  } finally {
    process.umask(umask);
  }
  await chmod(opts.socket, 0o600);
  logger.info({ socket: opts.socket }, 'serving the Stn gRPC service');
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => (server.forceShutdown(), resolve()), 2_000).unref();
      }).then(() => rm(opts.socket, { force: true })),
  };
}
