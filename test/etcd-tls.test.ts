// netloom's etcd as the harness (and the lab) run it — TLS only, client certificates required,
// signed by the run's CA — refuses whoever lacks such a certificate, through netloom's own client
// (etcd3) and through etcdctl; a netloom process given half a key pair stops with exit 2 and one
// line; `netloom certs` writes what etcd and openssl accept, and etcd picks up a renewed server
// certificate on the next connection. The oracles are etcd itself, etcdctl and openssl.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdClient, type EtcdTlsFiles } from '../lib/etcd/client.ts';
import { ensurePki, type PkiFiles } from '../lib/etcd/pki.ts';
import { allOf, etcdctlAvailable, fromFound, skipUnless } from './harness/availability.ts';
import { findEtcd } from './harness/binaries.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';

const skip = skipUnless(
  'etcd TLS and client-certificate auth',
  allOf(fromFound(findEtcd(), 'etcd'), etcdctlAvailable()),
);
const ROOT = join(import.meta.dirname, '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const netloom = (args: string[]): Promise<Run> =>
  run(process.execPath, [join(ROOT, 'cli', 'netloom.ts'), ...args]);

/** A put then a get through etcd3, with short deadlines: the value read, or the error's text. */
async function roundTrip(endpoint: string, tls: EtcdTlsFiles, key: string): Promise<string> {
  const client = createEtcdClient({ endpoints: [endpoint], tls, dialTimeoutMs: 2_000, callTimeoutMs: 3_000 });
  try {
    await client.put(key).value('v');
    return `ok:${(await client.get(key).string()) ?? ''}`;
  } catch (err) {
    return `refused:${String(err)}`;
  } finally {
    client.close();
  }
}

function etcdctl(
  endpoint: string,
  tls: { cacert: string; cert?: string; key?: string },
  args: string[],
): Promise<Run> {
  return run('etcdctl', [
    `--endpoints=${endpoint}`,
    `--cacert=${tls.cacert}`,
    ...(tls.cert ? [`--cert=${tls.cert}`] : []),
    ...(tls.key ? [`--key=${tls.key}`] : []),
    '--dial-timeout=2s',
    '--command-timeout=3s',
    ...args,
  ]);
}

describe.skipIf(skip)("netloom's etcd with TLS and client-certificate auth", () => {
  let etcd: EtcdHandle;
  let pki: PkiFiles;
  let tmp: string;
  /** A second, unrelated CA and its certificates: valid in form, trusted by nobody here. */
  let foreign: PkiFiles;

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'tls' });
    pki = etcd.pki!;
    tmp = mkdtempSync(join(tmpdir(), 'netloom-tls-test-'));
    foreign = (await ensurePki({ dir: join(tmp, 'foreign'), ips: ['127.0.0.1'], dnsNames: ['localhost'] }))
      .files;
  });
  afterAll(async () => {
    await etcd?.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('with a certificate signed by its CA, etcd3 and etcdctl work', async () => {
    const admin = pki.clients['admin']!;
    expect(await roundTrip(etcd.endpoint, { ca: pki.ca, ...admin }, '/tls/right')).toBe('ok:v');
    const got = await etcdctl(etcd.endpoint, { cacert: pki.ca, ...admin }, [
      'get',
      '/tls/right',
      '--print-value-only',
    ]);
    expect(got.stderr).toBe('');
    expect(got.stdout.trim()).toBe('v');
    // Each component's own certificate is accepted too.
    for (const name of ['ksr', 'agent'])
      expect(await roundTrip(etcd.endpoint, { ca: pki.ca, ...pki.clients[name]! }, `/tls/${name}`)).toBe(
        'ok:v',
      );
  });

  it('a client without a certificate is refused (etcd3 and etcdctl)', async () => {
    const res = await roundTrip(etcd.endpoint, { ca: pki.ca }, '/tls/anonymous');
    expect(res).toMatch(/^refused:/);
    expect(res).toMatch(/certificate required|handshake|UNAVAILABLE/i);
    const ctl = await etcdctl(etcd.endpoint, { cacert: pki.ca }, ['put', '/tls/anonymous', 'x']);
    expect(ctl.code).not.toBe(0);
    // Nothing was written by either.
    const check = await etcdctl(etcd.endpoint, { cacert: pki.ca, ...pki.clients['admin']! }, [
      'get',
      '/tls/anonymous',
    ]);
    expect(check.code).toBe(0);
    expect(check.stdout).toBe('');
  });

  it('a plaintext client is refused', async () => {
    const client = createEtcdClient({
      endpoints: [etcd.endpoint.replace('https:', 'http:')],
      callTimeoutMs: 3_000,
    });
    await expect(client.get('/tls/x').string()).rejects.toThrow();
    client.close();
  });

  it('a client certificate signed by another CA is refused (etcd3 and etcdctl)', async () => {
    const stranger = foreign.clients['admin']!;
    const res = await roundTrip(etcd.endpoint, { ca: pki.ca, ...stranger }, '/tls/foreign');
    expect(res).toMatch(/^refused:/);
    expect(res).toMatch(/unknown ca|bad certificate|handshake|UNAVAILABLE/i);
    const ctl = await etcdctl(etcd.endpoint, { cacert: pki.ca, ...stranger }, ['put', '/tls/foreign', 'x']);
    expect(ctl.code).not.toBe(0);
  });

  it('a client that does not trust etcd’s CA refuses etcd (the server is authenticated too)', async () => {
    const res = await roundTrip(etcd.endpoint, { ca: foreign.ca, ...pki.clients['admin']! }, '/tls/mitm');
    expect(res).toMatch(/^refused:/);
  });

  it('agent, KSR and netloom ctl given a key without a cert exit 2 with one line naming it', async () => {
    const key = pki.clients['admin']!.key;
    const tls = ['--etcd-endpoints', etcd.endpoint, '--etcd-ca', pki.ca, '--etcd-key', key];
    const cases: [string, string[]][] = [
      ['agent', ['agent', ...tls, '--management-ip', '192.0.2.1', '--state-dir', join(tmp, 'agent')]],
      ['ksr', ['ksr', ...tls]],
      ['ctl', ['ctl', 'explain', ...tls, '--from', 'a/b', '--to', 'c/d', '--port', '80']],
    ];
    for (const [name, args] of cases) {
      const r = await netloom(args);
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toBe(
        `netloom ${name}: configuration error: etcdCert: missing: --etcd-key is set without --etcd-cert (give both, or neither)\n`,
      );
    }
    const certOnly = await netloom([
      'ksr',
      '--etcd-endpoints',
      etcd.endpoint,
      '--etcd-cert',
      pki.clients['ksr']!.cert,
    ]);
    expect(certOnly.code).toBe(2);
    expect(certOnly.stderr).toMatch(/^netloom ksr: configuration error: etcdKey: missing:/);
  });

  it('`netloom certs` writes 0600 keys and certificates openssl verifies, and keeps the CA on --renew', async () => {
    const dir = join(tmp, 'made');
    const args = ['certs', '--dir', dir, '--ip', '127.0.0.1,10.0.0.5', '--dns', 'localhost,etcd.example'];
    const first = await netloom(args);
    expect(first.code, first.stderr).toBe(0);
    const files = ['ca', 'server', 'ksr', 'agent', 'admin'];
    for (const f of files) {
      expect(statSync(join(dir, `${f}.key`)).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, `${f}.crt`)).mode & 0o777).toBe(0o644);
    }
    const leaves = files.filter((f) => f !== 'ca').map((f) => join(dir, `${f}.crt`));
    const verify = await run('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), ...leaves]);
    expect(verify.stdout.trim().split('\n')).toEqual(leaves.map((l) => `${l}: OK`));
    const sans = await run('openssl', [
      'x509',
      '-in',
      join(dir, 'server.crt'),
      '-noout',
      '-ext',
      'subjectAltName',
    ]);
    expect(sans.stdout).toMatch(
      /DNS:localhost, DNS:etcd\.example, IP Address:127\.0\.0\.1, IP Address:10\.0\.0\.5/,
    );
    const again = await netloom(args);
    expect(again.stdout).toMatch(/nothing written/);
    const ca = readFileSync(join(dir, 'ca.crt'));
    const server = readFileSync(join(dir, 'server.crt'));
    const renewed = await netloom([...args, '--renew']);
    expect(renewed.code).toBe(0);
    expect(readFileSync(join(dir, 'ca.crt')).equals(ca)).toBe(true);
    expect(readFileSync(join(dir, 'server.crt')).equals(server)).toBe(false);
  });

  it('`netloom certs` issues again a pair whose key does not match, and never replaces a CA whose key is gone', async () => {
    const dir = join(tmp, 'repair');
    const args = ['certs', '--dir', dir, '--ip', '127.0.0.1'];
    expect((await netloom(args)).code).toBe(0);
    const ca = readFileSync(join(dir, 'ca.crt'));
    // A half-finished copy by hand: the agent's key overwritten by the ksr's.
    writeFileSync(join(dir, 'agent.key'), readFileSync(join(dir, 'ksr.key')));
    const repaired = await netloom(args);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain(
      `wrote 2 files in ${dir}:\n  ${join(dir, 'agent.key')}\n  ${join(dir, 'agent.crt')}\n`,
    );
    // The public key in the certificate and the one derived from the key file, by openssl.
    const publicKey = async (file: string): Promise<string> =>
      file.endsWith('.crt')
        ? (await run('openssl', ['x509', '-in', join(dir, file), '-noout', '-pubkey'])).stdout
        : (await run('openssl', ['pkey', '-in', join(dir, file), '-pubout'])).stdout;
    expect(await publicKey('agent.key')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(await publicKey('agent.key')).toBe(await publicKey('agent.crt'));
    expect(readFileSync(join(dir, 'ca.crt')).equals(ca)).toBe(true);
    // The CA key lost: an error naming it, and nothing written (no new CA behind everyone's back).
    rmSync(join(dir, 'ca.key'));
    rmSync(join(dir, 'admin.crt'));
    const refused = await netloom(args);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^netloom certs: .*ca\.key is missing or does not match .*ca\.crt/);
    expect(readFileSync(join(dir, 'ca.crt')).equals(ca)).toBe(true);
    expect(existsSync(join(dir, 'ca.key'))).toBe(false);
    expect(existsSync(join(dir, 'admin.crt'))).toBe(false);
  });

  it('etcd presents a renewed server certificate on the next connection, without a restart', async () => {
    const serial = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const u = new URL(etcd.endpoint);
        const admin = pki.clients['admin']!;
        const socket = connect(
          {
            host: u.hostname,
            port: Number(u.port),
            ca: readFileSync(pki.ca),
            cert: readFileSync(admin.cert),
            key: readFileSync(admin.key),
            ALPNProtocols: ['h2'],
          },
          () => {
            const s = socket.getPeerCertificate().serialNumber;
            socket.end();
            resolve(s);
          },
        );
        socket.on('error', reject);
      });
    const before = await serial();
    // The server pair of this run's CA, issued again in place (as `netloom certs --renew` does).
    await ensurePki({ dir: pki.dir, ips: ['127.0.0.1', '::1'], dnsNames: ['localhost'], renew: true });
    const after = await serial();
    expect(after).not.toBe(before);
    expect(await roundTrip(etcd.endpoint, { ca: pki.ca, ...pki.clients['admin']! }, '/tls/after-renew')).toBe(
      'ok:v',
    );
  });
});
