// The harness's kube-apiserver is real: a namespace created through it reads back through
// @kubernetes/client-node, and kubectl can use the kubeconfig it writes.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { startKubeApiserver, type KubeApiserverHandle } from './harness/kube-apiserver.ts';
import { kubeApiserverAvailable, kubectlAvailable, skipUnless } from './harness/availability.ts';

const skip = skipUnless('kube-apiserver', kubeApiserverAvailable());
const noKubectl = skipUnless('kubectl against the harness kubeconfig', kubectlAvailable());

describe.skipIf(skip)('kube-apiserver (real, built from the Kubernetes modules)', () => {
  let kube: KubeApiserverHandle;
  const started = Date.now();
  let startMs = 0;

  beforeAll(async () => {
    kube = await startKubeApiserver();
    startMs = Date.now() - started;
  });
  afterAll(async () => {
    await kube?.destroy();
  });

  it('creates a namespace and reads it back with client-node', async () => {
    const core = kube.kubeConfig().makeApiClient(CoreV1Api);
    const name = `nl-${Date.now().toString(36)}`;
    await core.createNamespace({
      body: {
        metadata: { name, labels: { team: 'net' }, annotations: { 'opencontrail.org/isolation': 'true' } },
      },
    });
    const ns = await core.readNamespace({ name });
    expect(ns.metadata?.name).toBe(name);
    expect(ns.metadata?.labels).toMatchObject({ team: 'net', 'kubernetes.io/metadata.name': name });
    expect(ns.metadata?.annotations?.['opencontrail.org/isolation']).toBe('true');
    const list = await core.listNamespace();
    expect(list.items.map((n) => n.metadata?.name)).toContain(name);
    process.stderr.write(
      `kube-apiserver ${kube.version} with etcd ${kube.etcd.version} ready in ${startMs} ms\n`,
    );
  });

  it.skipIf(noKubectl)('writes a kubeconfig kubectl can use', () => {
    const out = execFileSync(
      'kubectl',
      ['--kubeconfig', kube.kubeconfigPath, 'get', 'namespaces', '-o', 'name'],
      { encoding: 'utf8' },
    );
    expect(out).toContain('namespace/default');
  });
});
