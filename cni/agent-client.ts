// The shim's client to its agent: gRPC over the agent's unix socket (see grpc-h2.ts), messages
// encoded from proto/cni.proto's descriptors (wire.ts). Every call has a deadline.
import type { CniReply__Output } from '../proto/gen/netloom/cni/v1/CniReply.ts';
import type { AgentPort } from './shim.ts';
import { GrpcUnixClient } from './grpc-h2.ts';
import { CNI_SERVICE, cniDescriptors } from './proto.ts';
import { decodeMessage, encodeMessage, type Message } from './wire.ts';

export function connectAgent(socketPath: string, timeoutMs: number): AgentPort {
  const types = cniDescriptors();
  const client = new GrpcUnixClient(socketPath);
  const unary =
    (method: string, requestType: string) =>
    async (req: object): Promise<CniReply__Output> => {
      const reply = await client.call(
        `${CNI_SERVICE}/${method}`,
        encodeMessage(types, requestType, req as Message),
        timeoutMs,
      );
      return decodeMessage(types, 'CniReply', reply) as unknown as CniReply__Output;
    };
  return {
    add: unary('Add', 'CniRequest'),
    del: unary('Del', 'CniRequest'),
    check: unary('Check', 'CniRequest'),
    status: unary('Status', 'StatusRequest'),
    gc: unary('Gc', 'GcRequest'),
    close: () => client.close(),
  };
}
