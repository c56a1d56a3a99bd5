// The shim's gRPC client to its agent over a unix socket. Every call has a deadline, so the
// shim never waits longer than the configuration allows.
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import type { CniClient } from '../proto/gen/netloom/cni/v1/Cni.ts';
import type { CniReply__Output } from '../proto/gen/netloom/cni/v1/CniReply.ts';
import type { CniRequest } from '../proto/gen/netloom/cni/v1/CniRequest.ts';
import type { GcRequest } from '../proto/gen/netloom/cni/v1/GcRequest.ts';
import type { StatusRequest } from '../proto/gen/netloom/cni/v1/StatusRequest.ts';
import type { AgentPort } from './shim.ts';
import { cniPackageDefinition } from './proto.ts';

type ClientCtor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options?: object) => CniClient;

export function connectAgent(socketPath: string, timeoutMs: number): AgentPort {
  const pkg = loadPackageDefinition(cniPackageDefinition()) as unknown as { netloom: { cni: { v1: { Cni: ClientCtor } } } };
  const client = new pkg.netloom.cni.v1.Cni(`unix://${socketPath}`, credentials.createInsecure(), {
    'grpc.enable_retries': 0,
  });
  const deadline = (): Date => new Date(Date.now() + timeoutMs);
  type Callback = (err: ServiceError | null, res?: CniReply__Output) => void;
  const unary =
    <Req>(invoke: (req: Req, opts: { deadline: Date }, cb: Callback) => unknown) =>
    (req: Req): Promise<CniReply__Output> =>
      new Promise((resolve, reject) => {
        invoke(req, { deadline: deadline() }, (err, res) => (err || !res ? reject(err ?? new Error('empty reply')) : resolve(res)));
      });
  return {
    add: unary<CniRequest>((r, o, cb) => client.Add(r, o, cb)),
    del: unary<CniRequest>((r, o, cb) => client.Del(r, o, cb)),
    check: unary<CniRequest>((r, o, cb) => client.Check(r, o, cb)),
    status: unary<StatusRequest>((r, o, cb) => client.Status(r, o, cb)),
    gc: unary<GcRequest>((r, o, cb) => client.Gc(r, o, cb)),
    close: () => (client as unknown as Client).close(),
  };
}
