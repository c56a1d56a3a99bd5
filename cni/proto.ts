// The CNI service's message descriptors. The bundled shim carries them as JSON (computed from
// proto/cni.proto by protobufjs at build time, inlined with esbuild `define`), so it loads no
// protobuf library at run time; unbundled runs (tests, development) compute them the same way.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Descriptors, MessageDescriptor } from './wire.ts';

declare const __NETLOOM_CNI_DESCRIPTORS__: Descriptors | undefined;

export const CNI_SERVICE = '/netloom.cni.v1.Cni';

interface Namespace {
  nested?: Record<string, Namespace & Partial<MessageDescriptor>>;
}

/** The messages of package netloom.cni.v1, from protobufjs' JSON form of proto/cni.proto. */
export function descriptorsFromProto(protoText: string): Descriptors {
  // protobufjs only where the descriptors are computed (build time, tests).
  const require = createRequire(import.meta.url);
  const protobuf = require('protobufjs') as {
    parse(text: string, opts: object): { root: { toJSON(): Namespace } };
  };
  const json = protobuf.parse(protoText, { keepCase: false }).root.toJSON();
  const pkg = json.nested?.['netloom']?.nested?.['cni']?.nested?.['v1']?.nested ?? {};
  const out: Descriptors = {};
  for (const [name, node] of Object.entries(pkg)) if (node.fields) out[name] = { fields: node.fields };
  return out;
}

export function cniProtoText(): string {
  return readFileSync(new URL('../proto/cni.proto', import.meta.url), 'utf8');
}

export function cniDescriptors(): Descriptors {
  if (typeof __NETLOOM_CNI_DESCRIPTORS__ === 'object') return __NETLOOM_CNI_DESCRIPTORS__;
  return descriptorsFromProto(cniProtoText());
}
