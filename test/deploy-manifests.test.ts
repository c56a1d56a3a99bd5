// deploy/kube-system is accepted by a real API server (server-side dry run: schema, defaults,
// admission), and every netloom container's arguments parse with that command's own schema, so
// the manifests cannot drift from the flags the code accepts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import type { z } from 'zod';
import { loadConfig } from '../lib/config.ts';
import { ksrConfigSchema } from '../ksr/config.ts';
import { agentConfigSchema } from '../agent/config.ts';
import { stnConfigSchema } from '../stn/config.ts';
import { installCniSchema } from '../cli/install-cni.ts';
import { startKubeApiserver, type KubeApiserverHandle } from './harness/kube-apiserver.ts';
import { kubeApiserverAvailable, skipUnless } from './harness/availability.ts';

const dir = new URL('../deploy/kube-system/', import.meta.url).pathname;
const objects: KubernetesObject[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJSON() as KubernetesObject),
  );

const SCHEMAS: Record<string, z.ZodObject> = {
  ksr: ksrConfigSchema,
  agent: agentConfigSchema,
  stn: stnConfigSchema,
  'install-cni': installCniSchema,
};

interface Container {
  name: string;
  image: string;
  args?: string[];
}

function netloomContainers(): Container[] {
  return objects.flatMap((o) => {
    const spec = (
      o as { spec?: { template?: { spec?: { containers?: Container[]; initContainers?: Container[] } } } }
    ).spec?.template?.spec;
    return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].filter((c) =>
      c.image.startsWith('netloom:'),
    );
  });
}

describe('deploy/kube-system manifests', () => {
  it('run every netloom command with arguments its schema accepts', () => {
    const containers = netloomContainers();
    expect(containers.map((c) => c.args?.[0]).sort()).toEqual(['agent', 'install-cni', 'ksr', 'stn']);
    for (const c of containers) {
      const [command = '', ...argv] = c.args ?? [];
      const schema = SCHEMAS[command];
      expect(schema, command).toBeDefined();
      expect(() => loadConfig(schema!, { argv, env: {} }), `${c.name}: ${argv.join(' ')}`).not.toThrow();
    }
  });

  const skip = skipUnless('manifests against kube-apiserver', kubeApiserverAvailable());
  describe.skipIf(skip)('against a real API server', () => {
    let kube: KubeApiserverHandle;
    beforeAll(async () => {
      kube = await startKubeApiserver();
    });
    afterAll(async () => {
      await kube?.destroy();
    });

    it('are accepted by a server-side dry run', async () => {
      const api = KubernetesObjectApi.makeApiClient(kube.kubeConfig());
      const accepted: string[] = [];
      for (const o of objects) {
        const res = await api.create(o, undefined, 'All');
        accepted.push(`${res.kind}/${res.metadata?.name}`);
      }
      expect(accepted).toHaveLength(objects.length);
      expect(accepted).toEqual(
        expect.arrayContaining([
          'DaemonSet/netloom-agent',
          'Deployment/netloom-ksr',
          'StatefulSet/netloom-etcd',
          'DaemonSet/netloom-stn',
          'ClusterRole/netloom-ksr',
        ]),
      );
    });
  });
});
