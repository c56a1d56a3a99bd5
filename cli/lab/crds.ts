// The CRDs the lab's cluster gets at `lab up`, as an operator installs them with netloom's
// manifests: the NetworkAttachmentDefinition kind, which netloom's networks and multi-net read.
// The definition is deploy/'s own file, so the lab and production serve the same schema.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KubeApi, KubeError } from './kubelet/kube-api.ts';

const NAD_CRD = join(import.meta.dirname, '..', '..', 'deploy', 'base', 'nad-crd.yaml');

/** Creates the NetworkAttachmentDefinition CRD unless the API server has it. */
export async function ensureNadCrd(
  server: string,
  token: string,
  ca: Buffer | undefined,
): Promise<'created' | 'kept'> {
  const api = new KubeApi({ server, token, ...(ca ? { ca } : {}) });
  try {
    await api.call(
      'POST',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      parse(readFileSync(NAD_CRD, 'utf8')),
    );
    return 'created';
  } catch (err) {
    if (err instanceof KubeError && err.status === 409) return 'kept';
    throw err;
  } finally {
    api.close();
  }
}
