// The CNI service on a unix socket (proto/cni.proto). The socket is created with mode 0600
// (umask held while binding, chmod after): only root talks to the agent. A stale socket file
// from a dead agent is removed first; the directory is created when missing.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  Server,
  ServerCredentials,
  loadPackageDefinition,
  type ServiceDefinition,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Logger } from '../../lib/logging.ts';
import type { CniReply } from '../../proto/gen/netloom/cni/v1/CniReply.ts';
import type { CniRequest__Output } from '../../proto/gen/netloom/cni/v1/CniRequest.ts';
import type { GcRequest__Output } from '../../proto/gen/netloom/cni/v1/GcRequest.ts';
import type { CniService } from './service.ts';

export const DEFAULT_CNI_SOCKET = '/run/netloom/cni.sock';

const PROTO = new URL('../../proto/cni.proto', import.meta.url).pathname;

function cniServiceDefinition(): ServiceDefinition {
  const def = loadSync(PROTO, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = loadPackageDefinition(def) as unknown as {
    netloom: { cni: { v1: { Cni: { service: ServiceDefinition } } } };
  };
  return pkg.netloom.cni.v1.Cni.service;
}

export interface CniServer {
  readonly socketPath: string;
  /** Stops accepting calls, lets running ones finish (up to `graceMs`), removes the socket. */
  close(graceMs?: number): Promise<void>;
}

function unary<Req>(handle: (req: Req) => Promise<CniReply>) {
  return (call: ServerUnaryCall<Req, CniReply>, cb: sendUnaryData<CniReply>): void => {
    handle(call.request).then(
      (reply) => cb(null, reply),
      (err: unknown) => cb(null, { error: { code: 999, msg: `agent failure: ${String(err)}`, details: '' } }),
    );
  };
}

export async function startCniServer(opts: {
  socketPath?: string;
  service: CniService;
  logger: Logger;
}): Promise<CniServer> {
  const socketPath = opts.socketPath ?? DEFAULT_CNI_SOCKET;
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
  rmSync(socketPath, { force: true });
  const server = new Server();
  const s = opts.service;
  server.addService(cniServiceDefinition(), {
    Add: unary<CniRequest__Output>((r) => s.add(r)),
    Del: unary<CniRequest__Output>((r) => s.del(r)),
    Check: unary<CniRequest__Output>((r) => s.check(r)),
    Status: unary<unknown>(() => s.status()),
    Gc: unary<GcRequest__Output>((r) => s.gc(r)),
  });
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  } finally {
    process.umask(previous);
  }
  chmodSync(socketPath, 0o600);
  opts.logger.info({ socket: socketPath }, 'CNI server listening');
  return {
    socketPath,
    close: async (graceMs = 5_000) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      rmSync(socketPath, { force: true });
    },
  };
}
