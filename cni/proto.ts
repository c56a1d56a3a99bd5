// The CNI service definition. The bundled shim carries proto/cni.proto as text (esbuild
// `define`), so the single file needs nothing beside it; unbundled runs read the file.
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { fromJSON, type PackageDefinition } from '@grpc/proto-loader';

declare const __NETLOOM_CNI_PROTO__: string | undefined;

export const PROTO_LOADER_OPTIONS = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true } as const;

export function cniProtoText(): string {
  if (typeof __NETLOOM_CNI_PROTO__ === 'string') return __NETLOOM_CNI_PROTO__;
  return readFileSync(new URL('../proto/cni.proto', import.meta.url), 'utf8');
}

export function cniPackageDefinition(): PackageDefinition {
  const root = protobuf.parse(cniProtoText(), { keepCase: false }).root;
  return fromJSON(root.toJSON(), PROTO_LOADER_OPTIONS);
}
