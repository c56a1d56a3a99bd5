// The container path, for machines that have a Docker engine and no local builds: etcd and k3s
// through testcontainers. Used only when the local binaries are missing; this machine type has
// no engine, so this path is exercised where one exists (the probe says which path a run took).
import { existsSync } from 'node:fs';
import { etcdFlags, type EtcdHandle } from './etcd.ts';
import { Store } from '../../lib/etcd/store.ts';
import { etcdClientOf, type EtcdConfig } from '../../lib/etcd/client.ts';

const ETCD_IMAGE = 'gcr.io/etcd-development/etcd:v3.6.16';
const K3S_IMAGE = 'rancher/k3s:v1.35.4-k3s1';

/** A cheap, synchronous guess (a socket or DOCKER_HOST); the real probe happens at start. */
export function dockerConfigured(): boolean {
  return !!process.env['DOCKER_HOST'] || existsSync('/var/run/docker.sock');
}

/** Asks testcontainers for a working engine; throws its "no working container runtime" error. */
export async function probeDocker(): Promise<string> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  return `${client.info.containerRuntime.host} (${client.info.node.version})`;
}

/** Plaintext, unlike the local etcd: the module's container has no TLS; etcd-tls.test.ts needs the local build. */
export async function startEtcdContainer(): Promise<EtcdHandle> {
  const { EtcdContainer } = await import('@testcontainers/etcd');
  const container = await new EtcdContainer(ETCD_IMAGE).start();
  const endpoint = container.getClientEndpoint();
  const stores: Store[] = [];
  const config: EtcdConfig = { etcdEndpoints: [endpoint] };
  const unsupported = (what: string) => (): never => {
    throw new Error(
      `${what} is not supported for the container etcd; use the local build (test/tools/build.sh)`,
    );
  };
  return {
    endpoint,
    dataDir: '(in container)',
    version: ETCD_IMAGE.split(':v')[1] ?? 'unknown',
    pki: undefined,
    tls: undefined,
    config,
    configFor: () => config,
    flags: () => etcdFlags(config),
    store() {
      const store = new Store(etcdClientOf(config));
      stores.push(store);
      return store;
    },
    stop: unsupported('stop'),
    kill: unsupported('kill'),
    start: unsupported('start'),
    restart: async () => {
      await container.restart();
    },
    backup: unsupported('backup'),
    restore: unsupported('restore'),
    async destroy() {
      for (const s of stores.splice(0)) s.close();
      await container.stop();
    },
  };
}

/** k3s in a privileged container; returns its kubeconfig text. */
export async function startK3sContainer(): Promise<{ kubeConfigYaml: string; stop(): Promise<void> }> {
  const { K3sContainer } = await import('@testcontainers/k3s');
  const container = await new K3sContainer(K3S_IMAGE).start();
  return { kubeConfigYaml: container.getKubeConfig(), stop: async () => void (await container.stop()) };
}
