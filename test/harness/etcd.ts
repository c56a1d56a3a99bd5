// A real etcd for tests: on free loopback ports with a throwaway data dir, from the cached 3.6
// build (or Debian's 3.4, or a container where a Docker engine is reachable). `restart` keeps
// ports and data; `kill` is kill -9; `backup`/`restore` copy the data dir while stopped, which is
// what an operator's restore from an older backup looks like to a running cluster.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEtcdClient } from '../../lib/etcd/client.ts';
import { Store } from '../../lib/etcd/store.ts';
import { findEtcd } from './binaries.ts';
import { dockerConfigured, startEtcdContainer } from './containers.ts';
import { freePort } from '../../lib/free-ports.ts';
import { TestProcess } from './process.ts';

export interface EtcdHandle {
  readonly endpoint: string;
  readonly dataDir: string;
  readonly version: string;
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
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${name}=${peer}`,
    '--logger=zap',
    '--log-level=warn',
    // A killed process loses nothing the kernel has; only a machine crash would, and tests
    // never crash the machine. Without fsync the suite runs several times faster.
    ...(atLeast(found.version, 3, 5) ? ['--unsafe-no-fsync'] : []),
    ...(options.extraArgs ?? []),
  ];
  const proc = new TestProcess({ name, command: found.path, args, logFile: join(base, 'etcd.log') });
  const stores: Store[] = [];

  const start = async (): Promise<void> => {
    proc.start();
    await proc.waitUntil(
      async () => {
        const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
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
    store() {
      const store = new Store(createEtcdClient({ endpoints: [endpoint] }));
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
