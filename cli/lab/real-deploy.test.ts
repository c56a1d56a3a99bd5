// The real-node lab's kustomization (deploy/overlays/linux + what an operator sets) and the
// pod-namespace lookup `lab check` uses on real nodes. Rendering goes through kubectl's own
// kustomize where kubectl exists (test/tools/build.sh), so the patches are checked against the
// real manifests, not against what this file expects them to be.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { findKubectl } from './binaries.ts';
import {
  deployedImageName,
  labKustomization,
  OVERLAY,
  UPSTREAM_ETCD_IMAGE,
  type DeploySettings,
} from './real-deploy.ts';
import { localAddresses } from './real-status.ts';

const settings = (dir: string, over: Partial<DeploySettings> = {}): DeploySettings => ({
  overlay: relative(dir, OVERLAY),
  etcdIp: '192.168.214.11',
  cluster: 'blue',
  podCidr: '10.1.0.0/16',
  serviceCidr: '10.96.0.0/12',
  apiHost: '192.168.214.2',
  apiPort: 34567,
  lbPool: '198.51.100.0/28',
  netloomImage: { from: deployedImageName(), to: 'localhost/netloom/netloom:dev' },
  etcdImage: { from: UPSTREAM_ETCD_IMAGE, to: 'localhost/netloom/etcd:3.6.16' },
  ksrReplicas: 2,
  ...over,
});

interface Obj {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string }[];
}

function containersOf(o: Obj): Container[] {
  const spec = o.spec as {
    template?: { spec: { containers: Container[]; initContainers?: Container[] } };
    jobTemplate?: { spec: { template: { spec: { containers: Container[] } } } };
  };
  const pod = spec?.template?.spec ?? spec?.jobTemplate?.spec.template.spec;
  return pod
    ? [...(pod.containers ?? []), ...((pod as { initContainers?: Container[] }).initContainers ?? [])]
    : [];
}

const kubectl = findKubectl();

function render(text: string, dir: string): Obj[] {
  writeFileSync(join(dir, 'kustomization.yaml'), text);
  if (!kubectl.ok) throw new Error(kubectl.reason);
  const out = execFileSync(kubectl.path, ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj);
}

describe('labKustomization', () => {
  it('is the overlay as a resource, the per-cluster values, both images and the patches — nothing else', () => {
    const k = parse(labKustomization(settings('/run/netloom-lab/deploy'))) as Record<string, unknown>;
    expect(Object.keys(k).sort()).toEqual(
      ['apiVersion', 'configMapGenerator', 'images', 'kind', 'patches', 'resources'].sort(),
    );
    expect(k['resources']).toEqual([relative('/run/netloom-lab/deploy', OVERLAY)]);
    expect(k['images']).toEqual([
      { name: 'ghcr.io/netloom/netloom', newName: 'localhost/netloom/netloom', newTag: 'dev' },
      { name: 'gcr.io/etcd-development/etcd', newName: 'localhost/netloom/etcd', newTag: '3.6.16' },
    ]);
  });

  it('is the same text for the same settings', () => {
    expect(labKustomization(settings('/x'))).toBe(labKustomization(settings('/x')));
  });

  describe.skipIf(!kubectl.ok)('rendered by kubectl kustomize against deploy/overlays/linux', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netloom-lab-kustomize-'));
    const objs = render(labKustomization(settings(dir)), dir);
    const overlayOnly = ((): Obj[] => {
      const out = execFileSync(kubectl.ok ? kubectl.path : 'false', ['kustomize', OVERLAY], {
        encoding: 'utf8',
      });
      return parseAllDocuments(out).map((d) => d.toJS() as Obj);
    })();
    rmSync(dir, { recursive: true, force: true });
    const find = (kind: string, name: string): Obj =>
      objs.find((o) => o.kind === kind && o.metadata.name === name)!;
    const env = (o: Obj, container: string): Record<string, string | undefined> =>
      Object.fromEntries(
        (containersOf(o).find((c) => c.name === container)?.env ?? []).map((e) => [e.name, e.value]),
      );

    it('keeps every object of the overlay (same kinds and names)', () => {
      const ids = (l: Obj[]): string[] =>
        l.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
      expect(ids(objs)).toEqual(ids(overlayOnly));
    });

    it("runs every container from the lab's images", () => {
      const images = new Set(objs.flatMap((o) => containersOf(o).map((c) => c.image)));
      expect([...images].sort()).toEqual(['localhost/netloom/etcd:3.6.16', 'localhost/netloom/netloom:dev']);
    });

    it('sets etcd-ip, cluster and ranges in netloom-config', () => {
      const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('netloom-config'))!;
      expect(cm.data).toEqual({
        'etcd-ip': '192.168.214.11',
        cluster: 'blue',
        'pod-cidr': '10.1.0.0/16',
        'service-cidr': '10.96.0.0/12',
      });
    });

    it('points KSR and the certificate Job and CronJob at the API server, keeping their own settings', () => {
      const api = { KUBERNETES_SERVICE_HOST: '192.168.214.2', KUBERNETES_SERVICE_PORT: '34567' };
      const ksr = env(find('Deployment', 'netloom-ksr'), 'ksr');
      expect(ksr).toMatchObject({ ...api, NETLOOM_LB_POOLS: 'default=198.51.100.0/28' });
      expect(ksr).toHaveProperty('NETLOOM_ETCD_CERT', '/etc/netloom/etcd-pki/ksr.crt');
      expect(env(find('Job', 'netloom-certs'), 'certs')).toMatchObject(api);
      expect(env(find('CronJob', 'netloom-certs'), 'certs')).toMatchObject(api);
      expect((find('Deployment', 'netloom-ksr').spec as { replicas: number }).replicas).toBe(2);
    });

    it("gives the agents the lab's identity timings, nothing on the DaemonSet otherwise", () => {
      const agent = env(find('DaemonSet', 'netloom-agent'), 'agent');
      expect(agent).toMatchObject({
        NETLOOM_IDENTITY_CHECK_MS: '1000',
        NETLOOM_ID_SETTLE_MS: '2500',
        NETLOOM_LEASE_TTL_SECONDS: '5',
        NETLOOM_CNI_SOCKET: '/run/netloom/cni.sock',
      });
      expect(env(find('DaemonSet', 'netloom-agent'), 'install-cni')).toEqual({});
    });
  });
});

describe('localAddresses', () => {
  // /proc/<pid>/net/fib_trie of a real node namespace (the lab's node1), abridged.
  const trie = `Main:
  +-- 0.0.0.0/0 3 0 5
     +-- 10.1.0.0/22 2 1 2
        |-- 10.1.1.0
           /24 universe UNICAST
        +-- 10.1.2.0/24 2 0 2
              |-- 10.1.2.1
                 /32 host LOCAL
              |-- 10.1.2.2
                 /32 link UNICAST
           |-- 10.1.2.255
              /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
              |-- 10.1.2.1
                 /32 host LOCAL
           |-- 192.168.217.11
              /32 host LOCAL
`;

  it('lists the /32 host LOCAL leaves once each, not routes, broadcasts or the /8', () => {
    expect(localAddresses(trie).sort()).toEqual(['10.1.2.1', '127.0.0.1', '192.168.217.11']);
  });

  it('is empty for an empty table', () => {
    expect(localAddresses('')).toEqual([]);
  });
});
