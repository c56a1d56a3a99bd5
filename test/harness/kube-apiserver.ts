// A real kube-apiserver for tests, with its own etcd: static token auth, AlwaysAllow
// authorization (or Node,RBAC as kubeadm runs it, for tests of what an account may do), a
// generated service-account key, a self-signed serving cert, and a kubeconfig
// file a test (or kubectl) can load. Built from the Kubernetes modules by test/tools/build.sh.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { findKubeApiserver } from './binaries.ts';
import { startEtcd, type EtcdHandle } from './etcd.ts';
import { freePort } from '../../lib/free-ports.ts';
import { dockerConfigured, startK3sContainer } from './containers.ts';
import { TestProcess } from './process.ts';

export interface KubeApiserverHandle {
  readonly url: string;
  readonly token: string;
  readonly kubeconfigPath: string;
  readonly version: string;
  readonly etcd: EtcdHandle;
  kubeConfig(): KubeConfig;
  stop(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export interface KubeApiserverOptions {
  serviceCidr?: string;
  /**
   * The one address it listens on (default 127.0.0.1). A client in another network namespace
   * has its own loopback, so kube-proxy in one needs an address on a link into it (see
   * KubeProxyNetns in kube-proxy.ts).
   */
  bindAddress?: string;
  extraArgs?: string[];
  /**
   * `rbac`: --authorization-mode=Node,RBAC, so `kubectl auth can-i --as=…` answers what the
   * roles allow (the admin token is in system:masters either way). Default: AlwaysAllow.
   */
  authorization?: 'always-allow' | 'rbac';
}

function kubeconfigYaml(url: string, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: netloom-test
  cluster:
    server: ${url}
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: ${token}
contexts:
- name: netloom-test
  context:
    cluster: netloom-test
    user: admin
current-context: netloom-test
`;
}

/** GET /readyz over TLS with the serving cert unchecked (it is self-signed, made at start). */
function readyz(url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${url}/readyz`,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** The container fallback: k3s, whose API server keeps its data internally (no `etcd` handle). */
async function startK3s(): Promise<KubeApiserverHandle> {
  const k3s = await startK3sContainer();
  const base = mkdtempSync(join(tmpdir(), 'netloom-k3s-'));
  const kubeconfigPath = join(base, 'kubeconfig');
  writeFileSync(kubeconfigPath, k3s.kubeConfigYaml, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromString(k3s.kubeConfigYaml);
  const noProcess = (): Promise<void> => Promise.reject(new Error('not supported for the k3s container'));
  return {
    url: kc.getCurrentCluster()?.server ?? '',
    token: '',
    kubeconfigPath,
    version: 'k3s',
    get etcd(): EtcdHandle {
      throw new Error('the k3s container has no separate etcd');
    },
    kubeConfig: () => {
      const copy = new KubeConfig();
      copy.loadFromString(k3s.kubeConfigYaml);
      return copy;
    },
    stop: noProcess,
    kill: noProcess,
    start: noProcess,
    async destroy() {
      await k3s.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

export async function startKubeApiserver(options: KubeApiserverOptions = {}): Promise<KubeApiserverHandle> {
  const found = findKubeApiserver();
  if (!found.ok) {
    if (dockerConfigured()) return startK3s();
    throw new Error(`cannot start kube-apiserver: ${found.reason}`);
  }
  const base = mkdtempSync(join(tmpdir(), 'netloom-kube-'));
  const etcd = await startEtcd({ name: 'kube-etcd' });
  const port = await freePort();
  const bindAddress = options.bindAddress ?? '127.0.0.1';
  const url = `https://${bindAddress}:${port}`;
  const token = randomBytes(24).toString('hex');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(base, 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }));
  writeFileSync(join(base, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(base, 'tokens.csv'), `${token},admin,admin,system:masters\n`);
  const kubeconfigPath = join(base, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(url, token), { mode: 0o600 });

  const args = [
    `--etcd-servers=${etcd.endpoint}`,
    // The harness's etcd wants a client certificate, as netloom's does; the admin one serves.
    ...(etcd.tls?.ca && etcd.tls.cert && etcd.tls.key
      ? [`--etcd-cafile=${etcd.tls.ca}`, `--etcd-certfile=${etcd.tls.cert}`, `--etcd-keyfile=${etcd.tls.key}`]
      : []),
    `--bind-address=${bindAddress}`,
    `--secure-port=${port}`,
    `--cert-dir=${join(base, 'certs')}`,
    `--token-auth-file=${join(base, 'tokens.csv')}`,
    `--authorization-mode=${options.authorization === 'rbac' ? 'Node,RBAC' : 'AlwaysAllow'}`,
    `--service-account-key-file=${join(base, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(base, 'sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-cluster-ip-range=${options.serviceCidr ?? '10.96.0.0/12'}`,
    '--allow-privileged=true', // as every real cluster: CNI and STN DaemonSets are privileged
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--v=1',
    ...(options.extraArgs ?? []),
  ];
  const proc = new TestProcess({
    name: 'kube-apiserver',
    command: found.path,
    args,
    logFile: join(base, 'kube-apiserver.log'),
  });

  const start = async (): Promise<void> => {
    proc.start();
    await proc.waitUntil(() => readyz(url, token), 90_000, 'ready');
  };
  await start();

  return {
    url,
    token,
    kubeconfigPath,
    version: found.version,
    etcd,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc;
    },
    stop: () => proc.stop(),
    kill: () => proc.kill(),
    start,
    async destroy() {
      await proc.stop();
      await etcd.destroy();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
