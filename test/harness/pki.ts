// The test run's etcd certificates: made once per run by the global setup (lib/etcd/pki.ts, into
// a temp dir it removes at the end) and found by every test file through NETLOOM_TEST_PKI, which
// the workers inherit. A process that runs without the global setup (a benchmark, one file run by
// hand with node) makes its own set on first use and removes it when it exits.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CLIENTS, ensurePki, pkiFiles, type PkiFiles } from '../../lib/etcd/pki.ts';

export const TEST_PKI_ENV = 'NETLOOM_TEST_PKI';

/** Every name and address a test reaches etcd by: loopback only. */
const SERVER_NAMES = { ips: ['127.0.0.1', '::1'], dnsNames: ['localhost'] };

let made: Promise<PkiFiles> | undefined;

/** Makes a fresh set in a new temp dir; the caller removes `dir`. */
export async function makeTestPki(): Promise<PkiFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'netloom-test-pki-'));
  return (await ensurePki({ dir, ...SERVER_NAMES, clients: DEFAULT_CLIENTS })).files;
}

function complete(files: PkiFiles): boolean {
  const pairs = [files.server, ...Object.values(files.clients)];
  return existsSync(files.ca) && pairs.every((p) => existsSync(p.cert) && existsSync(p.key));
}

/** The run's certificates (CA, etcd's server pair, ksr/agent/admin client pairs). */
export function testPki(): Promise<PkiFiles> {
  made ??= (async () => {
    const shared = process.env[TEST_PKI_ENV];
    if (shared) {
      const files = pkiFiles(shared);
      if (complete(files)) return files;
    }
    const files = await makeTestPki();
    process.once('exit', () => rmSync(files.dir, { recursive: true, force: true }));
    return files;
  })();
  return made;
}
