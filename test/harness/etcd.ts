// A real etcd for tests: on free loopback ports with a throwaway data dir, from the cached 3.6
// build (or Debian's 3.4, or a container where a Docker engine is reachable). As netloom's etcd
// runs in production, it speaks TLS only and wants a client certificate signed by the run's CA
// (harness/pki.ts); tests reach it through `config`/`configFor`/`flags`, never a bare endpoint.
// `restart` keeps ports and data; `kill` is kill -9; `backup`/`restore` copy the data dir while
// stopped, which is what an operator's restore from an older backup looks like to a running cluster.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from '../../cli/lab/http.ts';
import { etcdClientOf, type EtcdConfig, type EtcdTlsFiles } from '../../lib/etcd/client.ts';
import type { PkiFiles } from '../../lib/etcd/pki.ts';
import { Store } from '../../lib/etcd/store.ts';
import { findEtcd } from './binaries.ts';
import { dockerConfigured, startEtcdContainer } from './containers.ts';
import { freePort } from '../../lib/free-ports.ts';
import { testPki } from './pki.ts';
import { TestProcess } from './process.ts';

/** Whose client certificate a process presents (lib/etcd/pki.ts DEFAULT_CLIENTS). */
export type EtcdClientName = 'admin' | 'ksr' | 'agent';

export interface EtcdHandle {
  /** https://127.0.0.1:<port> (http:// only for the container fallback, which has no TLS). */
  readonly endpoint: string;
  readonly dataDir: string;
  readonly version: string;
  /** The run's CA and certificates; undefined for the container fallback. */
  readonly pki: PkiFiles | undefined;
  /** The admin client's CA/cert/key (what a test's own clients present). */
  readonly tls: EtcdTlsFiles | undefined;
  /** The etcd settings of a process presenting the admin certificate. */
  readonly config: EtcdConfig;
  /** The etcd settings of a process presenting `client`'s certificate. */
  configFor(client: EtcdClientName): EtcdConfig;
  /** `--etcd-endpoints … --etcd-ca … --etcd-cert … --etcd-key …` for a netloom process. */
  flags(client?: EtcdClientName): string[];
  /** A Store on this etcd; closed by stop(). */
  store(): Store;
  /** SIGTERM and wait; data kept. */
  stop(): Promise<void>;
  /** kill -9; data kept. */
  kill(): Promise<void>;
  /** Start again on the same ports and data. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Copies the data dir (etcd must be stopped) to a new directory and returns it. */
  backup(): string;
  /** Replaces the data dir with a backup (etcd must be stopped). */
  restore(backupDir: string): void;
  /** Stops etcd, closes stores, removes the data dir. */
  destroy(): Promise<void>;
}

export interface EtcdOptions {
  name?: string;
  extraArgs?: string[];
}

/** A process's etcd flags for these settings. */
export function etcdFlags(c: EtcdConfig): string[] {
  return [
    '--etcd-endpoints',
    c.etcdEndpoints.join(','),
    ...(c.etcdCa ? ['--etcd-ca', c.etcdCa] : []),
    ...(c.etcdCert ? ['--etcd-cert', c.etcdCert] : []),
    ...(c.etcdKey ? ['--etcd-key', c.etcdKey] : []),
  ];
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdHandle> {
  const found = findEtcd();
  if (!found.ok) {
    if (dockerConfigured()) return startEtcdContainer();
    throw new Error(`cannot start etcd: ${found.reason}`);
  }
  const name = options.name ?? 'etcd';
  const base = mkdtempSync(join(tmpdir(), `netloom-${name}-`));
  const dataDir = join(base, 'data');
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const pki = await testPki();
  const endpoint = `https://127.0.0.1:${clientPort}`;
  // Peers stay plaintext: a single member, on loopback, never dialled by anyone.
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${name}=${peer}`,
    '--client-cert-auth',
    `--trusted-ca-file=${pki.ca}`,
    `--cert-file=${pki.server.cert}`,
    `--key-file=${pki.server.key}`,
    '--logger=zap',
    '--log-level=warn',
    // A killed process loses nothing the kernel has; only a machine crash would, and tests
    // never crash the machine. Without fsync the suite runs several times faster.
    ...(atLeast(found.version, 3, 5) ? ['--unsafe-no-fsync'] : []),
    ...(options.extraArgs ?? []),
  ];
  const proc = new TestProcess({ name, command: found.path, args, logFile: join(base, 'etcd.log') });
  const stores: Store[] = [];
  const admin = pki.clients['admin']!;
  const probeTls = { ca: readFileSync(pki.ca), cert: readFileSync(admin.cert), key: readFileSync(admin.key) };
  const configFor = (client: EtcdClientName): EtcdConfig => {
    const pair = pki.clients[client]!;
    return { etcdEndpoints: [endpoint], etcdCa: pki.ca, etcdCert: pair.cert, etcdKey: pair.key };
  };
  const config = configFor('admin');

  const start = async (): Promise<void> => {
    proc.start();
    await proc.waitUntil(
      async () => {
        const res = await get(`${endpoint}/health`, { ...probeTls, timeoutMs: 1_000 });
        return res.status === 200 && (JSON.parse(res.body) as { health?: string }).health === 'true';
      },
      20_000,
      'healthy',
    );
  };
  await start();

  const handle: EtcdHandle = {
    endpoint,
    dataDir,
    version: found.version,
    pki,
    tls: { ca: pki.ca, cert: admin.cert, key: admin.key },
    config,
    configFor,
    flags: (client = 'admin') => etcdFlags(configFor(client)),
    store() {
      const store = new Store(etcdClientOf(config));
      stores.push(store);
      return store;
    },
    stop: () => proc.stop(),
    kill: () => proc.kill(),
    start,
    async restart() {
      await proc.stop();
      await start();
    },
    backup() {
      if (proc.running) throw new Error('backup needs etcd stopped');
      const dir = mkdtempSync(join(tmpdir(), `netloom-${name}-backup-`));
      cpSync(dataDir, dir, { recursive: true });
      return dir;
    },
    restore(backupDir) {
      if (proc.running) throw new Error('restore needs etcd stopped');
      rmSync(dataDir, { recursive: true, force: true });
      cpSync(backupDir, dataDir, { recursive: true });
    },
    async destroy() {
      for (const s of stores.splice(0)) s.close();
      await proc.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
  return handle;
}
