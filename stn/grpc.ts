// Loads the Stn service from proto/stn.proto at run time (the options every netloom service
// uses), shared by the daemon and the agent-side client.
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType } from '../proto/gen/stn.ts';

export const DEFAULT_SOCKET = '/run/netloom/stn.sock';

let cached: ProtoGrpcType | undefined;

/** The generated package tree; loading is cached because the definition never changes. */
export function stnProto(): ProtoGrpcType {
  cached ??= loadPackageDefinition(
    loadSync(fileURLToPath(new URL('../proto/stn.proto', import.meta.url)), {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    }),
  ) as unknown as ProtoGrpcType;
  return cached;
}

export function socketTarget(path: string): string {
  return `unix://${path}`;
}
