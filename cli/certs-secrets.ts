// `netloom certs-secrets`: `netloom certs` for a cluster — the certificates of netloom's etcd
// (ADR 0008) kept in Kubernetes Secrets, one per holder, so that `kubectl apply -k deploy/…`
// alone brings the cluster up (deploy/base/certs.yaml runs it as a Job and a CronJob).
//
// Each run reads the Secrets into a private directory, lets lib/etcd/pki.ts keep what is right
// and issue what is missing, mismatched or close to expiry (it never replaces a CA), and writes
// back only the Secrets whose contents changed — so a re-run is a no-op, and a run after the
// etcd address changed reissues etcd's server certificate alone. Secrets (namespace
// `--namespace`, names `<prefix>-<holder>`):
//   ca     ca.crt ca.key                   only this command reads it (the CA's key)
//   server ca.crt server.crt server.key    etcd's --trusted-ca-file/--cert-file/--key-file
//   ksr, agent, admin: ca.crt <name>.crt <name>.key    each component's client pair
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpMethod, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { bool, list, loadConfig, num } from '../lib/config.ts';
import { ensurePki, pkiFiles } from '../lib/etcd/pki.ts';
import { KubeApiError, kubeFetch, loadKubeConfig } from '../ksr/kube/client.ts';

export const certsSecretsConfigSchema = z.object({
  /** kubeconfig file; without it: the pod's service account, else $KUBECONFIG / ~/.kube/config. */
  kubeconfig: z.string().optional(),
  namespace: z.string().min(1).default('kube-system'),
  /** Secret names are `<prefix>-ca`, `<prefix>-server`, `<prefix>-<client>`. */
  prefix: z.string().min(1).default('netloom-etcd'),
  /** Addresses etcd is reached at (its server certificate's IP SANs). */
  ip: list(z.string()).default(['127.0.0.1']),
  /** Names etcd is reached by (DNS SANs). */
  dns: list(z.string()).default(['localhost']),
  clients: list(z.string()).default(['ksr', 'agent', 'admin']),
  days: num().default(365),
  caDays: num().default(3650),
  renew: bool().default(false),
  requestTimeoutMs: num().pipe(z.number().int().min(100)).default(30_000),
});

export type CertsSecretsConfig = z.infer<typeof certsSecretsConfigSchema>;

/** One Secret and the PKI files it carries (`file name in the Secret` → path in the directory). */
interface Holder {
  name: string;
  files: Record<string, string>;
  /** The files this Secret is the source of when read back (ca.crt belongs to the CA's). */
  owns: readonly string[];
}

export function holders(prefix: string, dir: string, clients: readonly string[]): Holder[] {
  const f = pkiFiles(dir, clients);
  return [
    { name: `${prefix}-ca`, files: { 'ca.crt': f.ca, 'ca.key': f.caKey }, owns: ['ca.crt', 'ca.key'] },
    {
      name: `${prefix}-server`,
      files: { 'ca.crt': f.ca, 'server.crt': f.server.cert, 'server.key': f.server.key },
      owns: ['server.crt', 'server.key'],
    },
    ...clients.map((c) => ({
      name: `${prefix}-${c}`,
      files: { 'ca.crt': f.ca, [`${c}.crt`]: f.clients[c]!.cert, [`${c}.key`]: f.clients[c]!.key },
      owns: [`${c}.crt`, `${c}.key`],
    })),
  ];
}

interface SecretState {
  resourceVersion: string;
  data: Record<string, string>;
}

type Outcome = 'created' | 'updated' | 'unchanged';

class SecretsApi {
  private readonly kc: KubeConfig;
  private readonly namespace: string;
  private readonly timeoutMs: number;

  constructor(kc: KubeConfig, namespace: string, timeoutMs: number) {
    this.kc = kc;
    this.namespace = namespace;
    this.timeoutMs = timeoutMs;
  }

  private path(name?: string): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  async read(name: string): Promise<SecretState | undefined> {
    const res = await kubeFetch(this.kc, HttpMethod.GET, this.path(name), { timeoutMs: this.timeoutMs });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200) throw new KubeApiError(res.status, `GET secret ${name}: ${await res.text()}`);
    const s = (await res.json()) as {
      metadata?: { resourceVersion?: string };
      data?: Record<string, string>;
    };
    return { resourceVersion: s.metadata?.resourceVersion ?? '', data: s.data ?? {} };
  }

  /** Creates the Secret, or replaces it if it is still at `prev`'s version (409 otherwise). */
  async write(name: string, data: Record<string, string>, prev: SecretState | undefined): Promise<void> {
    const body = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/part-of': 'netloom', 'app.kubernetes.io/managed-by': 'netloom-certs' },
        ...(prev ? { resourceVersion: prev.resourceVersion } : {}),
      },
      data,
    });
    const [method, path] = prev ? [HttpMethod.PUT, this.path(name)] : [HttpMethod.POST, this.path()];
    const res = await kubeFetch(this.kc, method, path, {
      body,
      contentType: 'application/json',
      timeoutMs: this.timeoutMs,
    });
    if (res.status !== 200 && res.status !== 201)
      throw new KubeApiError(res.status, `${method} secret ${name}: ${await res.text()}`);
    await res.body?.cancel();
  }
}

const sameData = (a: Record<string, string>, b: Record<string, string>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/** Brings the Secrets to a consistent, current set; returns what happened to each. */
export async function syncSecrets(kc: KubeConfig, c: CertsSecretsConfig): Promise<Record<string, Outcome>> {
  const api = new SecretsApi(kc, c.namespace, c.requestTimeoutMs);
  const dir = mkdtempSync(join(tmpdir(), 'netloom-certs-'));
  try {
    const list = holders(c.prefix, dir, c.clients);
    const before = new Map<string, SecretState | undefined>();
    for (const h of list) {
      const s = await api.read(h.name);
      before.set(h.name, s);
      for (const file of h.owns) {
        const b64 = s?.data[file];
        if (b64 !== undefined)
          writeFileSync(h.files[file]!, Buffer.from(b64, 'base64'), {
            mode: file.endsWith('.key') ? 0o600 : 0o644,
          });
      }
    }
    await ensurePki({
      dir,
      ips: c.ip,
      dnsNames: c.dns,
      clients: c.clients,
      days: c.days,
      caDays: c.caDays,
      renew: c.renew,
    });
    const out: Record<string, Outcome> = {};
    for (const h of list) {
      const data = Object.fromEntries(
        Object.entries(h.files).map(([k, path]) => [k, readFileSync(path).toString('base64')]),
      );
      const prev = before.get(h.name);
      if (prev && sameData(prev.data, data)) {
        out[h.name] = 'unchanged';
        continue;
      }
      await api.write(h.name, data, prev);
      out[h.name] = prev ? 'updated' : 'created';
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  const { config } = loadConfig(certsSecretsConfigSchema, { argv });
  const outcome = await syncSecrets(loadKubeConfig(config.kubeconfig), config);
  const lines = Object.entries(outcome).map(([name, o]) => `  ${config.namespace}/${name}: ${o}`);
  process.stdout.write(
    `netloom certs-secrets (etcd at ${[...config.ip, ...config.dns].join(', ')}):\n${lines.join('\n')}\n`,
  );
  return 0;
}
