// netloomctl against an etcd that speaks TLS only and wants a client certificate (as netloom's
// etcd runs in production): with the CA, certificate and key — as flags or as NETLOOM_ETCD_*
// in the environment, as the kubectl plugin is usually given them — it reads; without a client
// certificate, or without the CA, it says it cannot reach etcd in one line (exit 1); settings
// that cannot be right are refused before anything is dialled (exit 2).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../lib/keyspace.ts';
import { etcdAvailable, skipUnless } from './harness/availability.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';

const skip = skipUnless('netloom ctl over TLS', etcdAvailable());
const NETLOOM = join(import.meta.dirname, '..', 'cli', 'netloom.ts');

interface Ran {
  code: number;
  out: string;
  err: string;
  ms: number;
}

function ctl(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [NETLOOM, 'ctl', ...args], { timeout: 30_000, env }, (err, out, stderr) =>
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
        out,
        err: stderr,
        ms: performance.now() - t0,
      }),
    );
  });
}

describe.skipIf(skip)('netloom ctl over TLS with client certificates', () => {
  let etcd: EtcdHandle;
  const ks = new Keyspace('tls');
  const key = ks.key({ kind: 'ksrStatus' });
  const value = { leader: 'ksr-0', lastFullSync: '2026-01-01T00:00:00Z' };

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'ctl-tls' });
    await etcd.store().put(key, JSON.stringify(value));
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('reads with the CA, certificate and key, given as flags or in the environment', async (ctx) => {
    if (!etcd.endpoint.startsWith('https:')) ctx.skip(); // the container fallback has no TLS
    const byFlags = await ctl(['raw', 'ksr/', '-o', 'json', '--cluster', 'tls', ...etcd.flags()]);
    expect(byFlags.err).toBe('');
    expect(byFlags.code).toBe(0);
    expect(
      (JSON.parse(byFlags.out) as { key: string; value: unknown }[]).map((r) => [r.key, r.value]),
    ).toEqual([[key, value]]);
    const c = etcd.config;
    const byEnv = await ctl(['raw', 'ksr/', '-o', 'json'], {
      ...process.env,
      NETLOOM_CLUSTER: 'tls',
      NETLOOM_ETCD_ENDPOINTS: c.etcdEndpoints.join(','),
      NETLOOM_ETCD_CA: c.etcdCa,
      NETLOOM_ETCD_CERT: c.etcdCert,
      NETLOOM_ETCD_KEY: c.etcdKey,
    });
    expect(byEnv.code).toBe(0);
    expect(byEnv.out).toBe(byFlags.out);
  });

  it('without a client certificate, or without the CA, one line and exit 1 within the timeout', async (ctx) => {
    if (!etcd.endpoint.startsWith('https:')) ctx.skip();
    const c = etcd.config;
    const noCert = await ctl(['nodes', '--etcd-endpoints', etcd.endpoint, '--etcd-ca', c.etcdCa!]);
    const noCa = await ctl(['nodes', '--etcd-endpoints', etcd.endpoint]);
    expect(noCert.err).toContain('etcd wants a client certificate (--etcd-cert, --etcd-key)');
    expect(noCa.err).toContain("etcd's certificate is not signed by a CA given (--etcd-ca)");
    for (const r of [noCert, noCa]) {
      expect(r.code).toBe(1);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
      expect(r.err).toContain(`netloom ctl: cannot read etcd at ${etcd.endpoint}: `);
      expect(r.ms).toBeLessThan(9_000);
    }
    console.log(
      `TLS refused: no client cert ${noCert.ms.toFixed(0)} ms: ${noCert.err.trim()}\n` +
        `no CA ${noCa.ms.toFixed(0)} ms: ${noCa.err.trim()}`,
    );
  });

  it('settings that cannot be right exit 2 before dialling: TLS files for a plaintext endpoint, a key without its cert', async (ctx) => {
    if (!etcd.endpoint.startsWith('https:')) ctx.skip();
    const c = etcd.config;
    const plain = await ctl([
      'nodes',
      '--etcd-endpoints',
      etcd.endpoint.replace('https:', 'http:'),
      '--etcd-ca',
      c.etcdCa!,
    ]);
    expect(plain.code).toBe(2);
    expect(plain.err.trimEnd().split('\n')).toHaveLength(1);
    expect(plain.err).toMatch(/configuration error: etcd/i);
    const keyOnly = await ctl(['nodes', '--etcd-endpoints', etcd.endpoint, '--etcd-key', c.etcdKey!]);
    expect(keyOnly.code).toBe(2);
    expect(keyOnly.err).toMatch(/etcdCert: missing: --etcd-key is set without --etcd-cert/);
  });
});
