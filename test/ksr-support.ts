// Shared by the KSR suites: run `netloom ksr` as a real child process, compute what etcd must
// hold from what Kubernetes holds (listing it and converting with KSR's own feeds, which the
// unit tests pin to exact JSON), read what etcd does hold, and wait for the two to agree.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../lib/errors.ts';
import type { Store } from '../lib/etcd/store.ts';
import { Keyspace, type K8sKind } from '../lib/keyspace.ts';
import { silentLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import { createKubeClient, KubeApiError } from '../ksr/kube/client.ts';
import { createKsrMetrics } from '../ksr/metrics.ts';
import { Mirror } from '../ksr/mirror.ts';
import { RESOURCES } from '../ksr/resources.ts';
import { TestProcess } from './harness/process.ts';
import { etcdFlags, startEtcd, type EtcdHandle } from './harness/etcd.ts';
import type { EtcdConfig } from '../lib/etcd/client.ts';
import { startKubeApiserver, type KubeApiserverHandle } from './harness/kube-apiserver.ts';
import { sleep } from '../lib/timing.ts';

const ROOT = new URL('..', import.meta.url).pathname;

export interface KsrProcess {
  readonly identity: string;
  readonly proc: TestProcess;
  /** http://host:port of its health server (known once started). */
  url: string;
  /** JSON log lines so far. */
  logs(): Record<string, unknown>[];
  readyz(): Promise<number>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  status(): Promise<{ leader: boolean }>;
  /** Starts again (same identity and flags) after a kill. */
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  destroy(): Promise<void>;
}

export interface KsrProcessOptions {
  kubeconfig: string;
  /** etcd settings (EtcdHandle.configFor('ksr')). */
  etcd: EtcdConfig;
  cluster: string;
  identity: string;
  args?: string[];
}

/** Fast timings for tests: a lost leader is replaced within ~2 s. */
export const FAST_FLAGS = [
  '--lease-ttl-seconds',
  '2',
  '--campaign-poll-ms',
  '200',
  '--heartbeat-ms',
  '300',
  '--log-level',
  'debug',
];

export async function startKsrProcess(o: KsrProcessOptions): Promise<KsrProcess> {
  const dir = mkdtempSync(join(tmpdir(), `netloom-ksr-${o.identity}-`));
  const logFile = join(dir, 'ksr.log');
  const args = [
    'cli/netloom.ts',
    'ksr',
    '--kubeconfig',
    o.kubeconfig,
    ...etcdFlags(o.etcd),
    '--cluster',
    o.cluster,
    '--identity',
    o.identity,
    '--metrics-addr',
    '127.0.0.1:0',
    ...FAST_FLAGS,
    ...(o.args ?? []),
  ];
  const proc = new TestProcess({
    name: `ksr-${o.identity}`,
    command: join(ROOT, 'node_modules/.bin/node'),
    args,
    logFile,
    cwd: ROOT,
  });
  const logs = (): Record<string, unknown>[] =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  let starts = 0;
  const handle: KsrProcess = {
    identity: o.identity,
    proc,
    url: '',
    logs,
    async readyz() {
      return (await fetch(`${handle.url}/readyz`)).status;
    },
    async metric(name, labels = {}) {
      const text = await (await fetch(`${handle.url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
          sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
    async status() {
      return (await (await fetch(`${handle.url}/status`)).json()) as { leader: boolean };
    },
    async start() {
      const before = starts++;
      proc.start();
      await proc.waitUntil(
        async () => {
          const started = logs().filter((l) => l['msg'] === 'ksr started');
          const mine = started[before];
          if (!mine) return false;
          handle.url = String(mine['url']);
          return true;
        },
        30_000,
        'started',
      );
    },
    stop: () => proc.stop(),
    kill: () => proc.kill(),
    signal(sig) {
      if (proc.pid) process.kill(proc.pid, sig);
    },
    async destroy() {
      await proc.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}

/** What etcd must hold: every resource listed from Kubernetes and converted by KSR's feeds. */
export async function expectedMirror(kc: KubeConfig, keyspace: Keyspace): Promise<Map<string, string>> {
  const kube = createKubeClient(kc);
  const mirror = new Mirror((k) => keyspace.tryParse(k)?.kind as K8sKind | undefined);
  const deps = {
    mirror,
    keyspace,
    logger: silentLogger(),
    metrics: createKsrMetrics(createRegistry('t', { processMetrics: false })),
  };
  for (const r of RESOURCES) {
    const feed = r.feed(deps);
    feed.beginRelist();
    let token: string | undefined;
    try {
      do {
        const page = await kube.list(r.path, { limit: 1000, continueToken: token });
        for (const item of page.items) feed.upsert(item as never);
        token = page.continueToken;
      } while (token);
    } catch (err) {
      if (!(r.optional && err instanceof KubeApiError && err.status === 404)) throw err;
    }
    feed.endRelist();
  }
  return new Map([...mirror.keysUnder(keyspace.k8sPrefix)].map((k) => [k, mirror.get(k) ?? '']));
}

export interface EtcdEntry {
  value: string;
  modRevision: number;
}

/** What etcd holds under the k8s/ prefix. */
export async function etcdMirror(store: Store, keyspace: Keyspace): Promise<Map<string, EtcdEntry>> {
  const { kvs } = await store.list(keyspace.k8sPrefix);
  return new Map(kvs.map((kv) => [kv.key, { value: kv.value, modRevision: kv.modRevision }]));
}

/** Human-readable differences (empty when equal). */
export function diff(want: Map<string, string>, have: Map<string, EtcdEntry>): string[] {
  const out: string[] = [];
  for (const [k, v] of want) {
    const h = have.get(k);
    if (!h) out.push(`missing ${k}`);
    else if (h.value !== v) out.push(`differs ${k}: etcd ${h.value} want ${v}`);
  }
  for (const k of have.keys()) if (!want.has(k)) out.push(`stale ${k}`);
  return out;
}

/** Waits until etcd mirrors Kubernetes exactly; returns the etcd content. */
export async function waitConverged(
  kc: KubeConfig,
  store: Store,
  keyspace: Keyspace,
  timeoutMs = 30_000,
): Promise<Map<string, EtcdEntry>> {
  const deadline = Date.now() + timeoutMs;
  let last: string[];
  for (;;) {
    const want = await expectedMirror(kc, keyspace);
    const have = await etcdMirror(store, keyspace).catch(() => new Map<string, EtcdEntry>());
    last = diff(want, have);
    if (last.length === 0) return have;
    if (Date.now() > deadline)
      throw new Error(
        `etcd did not converge in ${timeoutMs} ms; ${last.length} differences:\n${last.slice(0, 20).join('\n')}`,
      );
    await sleep(250);
  }
}

/** Polls until `probe` holds. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    await sleep(100);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${errorMessage(lastErr)}` : ''}`,
  );
}

/** Installs the NetworkAttachmentDefinition CRD and waits until it is served. */
export async function installNadCrd(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  await api.createCustomResourceDefinition({
    body: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'network-attachment-definitions.k8s.cni.cncf.io' },
      spec: {
        group: 'k8s.cni.cncf.io',
        scope: 'Namespaced',
        names: {
          plural: 'network-attachment-definitions',
          singular: 'network-attachment-definition',
          kind: 'NetworkAttachmentDefinition',
          shortNames: ['net-attach-def'],
        },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            // Permissive like many installs in the wild: spec is not checked, so a NAD whose
            // config is not a string can exist (and KSR must survive it).
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: { spec: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
              },
            },
          },
        ],
      },
    },
  });
  const kube = createKubeClient(kc);
  await eventually(
    async () =>
      (await kube.list('/apis/k8s.cni.cncf.io/v1/network-attachment-definitions', { limit: 1 })) !==
      undefined,
    30_000,
    'NAD CRD served',
  );
}

export function randomSuffix(): string {
  return Math.random().toString(16).slice(2, 8);
}

/**
 * Creates a namespace as a full cluster would leave it: with its `default` service account
 * (no controller-manager runs here, and pod admission needs it).
 */
export async function createNamespace(
  core: CoreV1Api,
  name: string,
  labels: Record<string, string> = {},
): Promise<void> {
  await core.createNamespace({ body: { metadata: { name, labels } } });
  await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: 'default' } } });
}

/** What every KSR suite runs against: a real API server, netloom's etcd, a test namespace. */
export interface KsrWorld {
  kube: KubeApiserverHandle;
  etcd: EtcdHandle;
  store: Store;
  core: CoreV1Api;
  /** Starts `netloom ksr` on this world; destroy() stops every one started. */
  startKsr(identity: string, args?: string[]): Promise<KsrProcess>;
  destroy(): Promise<void>;
}

export async function startKsrWorld(o: { cluster: string; namespace: string }): Promise<KsrWorld> {
  const [kube, etcd] = await Promise.all([startKubeApiserver(), startEtcd({ name: 'ksr-etcd' })]);
  const store = etcd.store();
  const core = kube.kubeConfig().makeApiClient(CoreV1Api);
  await createNamespace(core, o.namespace);
  const started: KsrProcess[] = [];
  return {
    kube,
    etcd,
    store,
    core,
    async startKsr(identity, args) {
      const p = await startKsrProcess({
        kubeconfig: kube.kubeconfigPath,
        etcd: etcd.configFor('ksr'),
        cluster: o.cluster,
        identity,
        ...(args ? { args } : {}),
      });
      started.push(p);
      return p;
    },
    async destroy() {
      for (const p of started) await p.destroy();
      await Promise.all([kube.destroy(), etcd.destroy()]);
    },
  };
}
