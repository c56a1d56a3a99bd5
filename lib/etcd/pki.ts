// The certificates of netloom's etcd (ADR 0008): a CA, etcd's server certificate and one client
// certificate per component, made with `openssl` through lib/iproute.ts's runner (Node's crypto
// makes keys but cannot issue X.509 certificates) and checked back with Node's X509Certificate.
//
// `ensurePki` makes a directory hold a consistent set for a request, touching only what is
// missing or wrong: a leaf is issued again when its file is missing, its key does not match, the
// CA did not sign it, its names differ from the request, it expires within RENEW_BEFORE_DAYS,
// or `renew` is asked. The CA is made only when there is none; a CA that is there but unusable
// (key missing or not matching, expired) is an error, never silently replaced: everyone that
// trusts it would stop trusting etcd. Every file is written atomically (key before certificate:
// a crash between the two leaves a pair that does not match, which the next run issues again);
// keys are 0600, certificates 0644.
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../atomic-file.ts';
import { bigIntToIp, ipToBigInt } from '../cidr.ts';
import { ConfigError, NetloomError } from '../errors.ts';
import { runTool, type ProcessRunner } from '../iproute.ts';

/** A directory's certificates cannot be used or made; says which file and what to do. */
export class PkiError extends NetloomError {}

/** The client identities a netloom deployment needs: the reflector, the agents, operators' tools. */
export const DEFAULT_CLIENTS: readonly string[] = ['ksr', 'agent', 'admin'];

/** A leaf is issued again once it has fewer days than this left (a third of its life if shorter). */
export const RENEW_BEFORE_DAYS = 30;

/** File names of the CA and etcd's pair: no client may take them. */
const RESERVED = new Set(['ca', 'server']);

export interface KeyPair {
  cert: string;
  key: string;
}

export interface PkiFiles {
  dir: string;
  /** The CA certificate: etcd's --trusted-ca-file and every client's --etcd-ca. */
  ca: string;
  caKey: string;
  /** etcd's --cert-file / --key-file. */
  server: KeyPair;
  clients: Record<string, KeyPair>;
}

export interface PkiRequest {
  dir: string;
  /** Addresses etcd is reached at (the server certificate's IP SANs). */
  ips: readonly string[];
  /** Names etcd is reached by (DNS SANs); `localhost` is what gRPC checks over a unix socket. */
  dnsNames: readonly string[];
  /** Client certificate names (CN `netloom-<name>`), letters, digits and dashes. */
  clients?: readonly string[];
  /** Validity of the server and client certificates. */
  days?: number;
  /** Validity of a new CA. */
  caDays?: number;
  /** Issue every leaf again, whatever its state (renewal before expiry, a compromised key). */
  renew?: boolean;
  runner?: ProcessRunner;
}

export interface PkiResult {
  files: PkiFiles;
  /** Files written by this run (paths); empty when everything was already as asked. */
  written: string[];
}

const CLIENT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const DNS_NAME =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Where each file of a PKI directory is: a pure derivation, for whoever passes the paths on. */
export function pkiFiles(dir: string, clients: readonly string[] = DEFAULT_CLIENTS): PkiFiles {
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    server: { cert: join(dir, 'server.crt'), key: join(dir, 'server.key') },
    clients: Object.fromEntries(
      clients.map((c) => [c, { cert: join(dir, `${c}.crt`), key: join(dir, `${c}.key`) }]),
    ),
  };
}

/** The request's names, checked: each bad one is a ConfigError naming the setting. */
export function checkPkiRequest(req: PkiRequest): void {
  if (req.ips.length === 0 && req.dnsNames.length === 0) {
    throw new ConfigError('ip', 'the server certificate needs at least one address (--ip) or name (--dns)');
  }
  for (const ip of req.ips) if (isIP(ip) === 0) throw new ConfigError('ip', `${ip} is not an IP address`);
  for (const d of req.dnsNames) if (!DNS_NAME.test(d)) throw new ConfigError('dns', `${d} is not a DNS name`);
  for (const c of req.clients ?? DEFAULT_CLIENTS) {
    if (!CLIENT_NAME.test(c)) throw new ConfigError('clients', `${c}: lowercase letters, digits and dashes`);
    if (RESERVED.has(c)) throw new ConfigError('clients', `${c}: the name of the CA's or etcd's own files`);
  }
  for (const [field, v] of [
    ['days', req.days],
    ['caDays', req.caDays],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      throw new ConfigError(field, 'a whole number of days ≥ 1');
  }
}

interface Leaf {
  pair: KeyPair;
  cn: string;
  /** `serverAuth,clientAuth` for etcd (its gRPC gateway dials etcd itself with it), `clientAuth` for clients. */
  usage: string;
  /** subjectAltName entries (`DNS:name`, `IP:address`), in the order asked for. */
  sans: string[];
}

/** One SAN entry in a form that compares equal however it is spelt (`::1`, `0:0:…:1`, case). */
function canonicalSan(entry: string): string {
  const ip = /^IP(?: Address)?:(.*)$/.exec(entry);
  if (!ip) return entry.toLowerCase();
  const text = ip[1]!;
  return `IP:${bigIntToIp(ipToBigInt(text), isIP(text) === 6 ? 6 : 4)}`;
}

const sameSans = (cert: X509Certificate, wanted: readonly string[]): boolean => {
  const have = (cert.subjectAltName ?? '').split(', ').filter((s) => s !== '');
  const a = have.map(canonicalSan).sort();
  const b = wanted.map(canonicalSan).sort();
  return a.length === b.length && a.every((x, i) => x === b[i]);
};

function readCert(path: string): X509Certificate | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return new X509Certificate(readFileSync(path));
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate, keyPath: string): boolean {
  if (!existsSync(keyPath)) return false;
  try {
    return cert.checkPrivateKey(createPrivateKey(readFileSync(keyPath)));
  } catch {
    return false;
  }
}

const daysLeft = (cert: X509Certificate): number => (Date.parse(cert.validTo) - Date.now()) / 86_400_000;

/** Why a leaf must be issued again, or undefined when it is fine as it is. */
function leafProblem(leaf: Leaf, ca: X509Certificate, days: number): string | undefined {
  const cert = readCert(leaf.pair.cert);
  if (!cert) return 'missing';
  if (!keyMatches(cert, leaf.pair.key)) return 'key missing or not matching';
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not signed by this CA';
  if (!cert.subject.split('\n').includes(`CN=${leaf.cn}`)) return 'other name';
  if (!sameSans(cert, leaf.sans)) return 'other addresses';
  if (daysLeft(cert) < Math.min(RENEW_BEFORE_DAYS, days / 3)) return 'expiring';
  return undefined;
}

/** openssl's config for one certificate: its subject and the extensions it carries. */
function opensslConfig(cn: string, ext: string[]): string {
  return ['[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', `CN = ${cn}`, '[ext]', ...ext, ''].join(
    '\n',
  );
}

class Issuer {
  private readonly tmp: string;
  private readonly runner: ProcessRunner | undefined;

  constructor(tmp: string, runner: ProcessRunner | undefined) {
    this.tmp = tmp;
    this.runner = runner;
  }

  private openssl(args: string[]): Promise<string> {
    return runTool('openssl', args, { timeoutMs: 30_000, ...(this.runner ? { runner: this.runner } : {}) });
  }

  /** A fresh P-256 key (small, fast, accepted by etcd's Go TLS and by gRPC's Node TLS). */
  private async key(name: string): Promise<string> {
    const path = join(this.tmp, `${name}.key`);
    await this.openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
    return path;
  }

  private config(name: string, cn: string, ext: string[]): string {
    const path = join(this.tmp, `${name}.cnf`);
    // A config of our own: the system's openssl.cnf must not add or change extensions.
    writeFileSync(path, opensslConfig(cn, ext));
    return path;
  }

  async ca(days: number): Promise<{ cert: string; key: string }> {
    const key = await this.key('ca');
    const cnf = this.config('ca', 'netloom etcd CA', [
      'basicConstraints = critical, CA:TRUE, pathlen:0',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
    ]);
    const cert = join(this.tmp, 'ca.crt');
    await this.openssl(
      ['req', '-new', '-x509', '-config', cnf, '-extensions', 'ext', '-key', key].concat([
        '-days',
        String(days),
        '-sha256',
        '-out',
        cert,
      ]),
    );
    return { cert, key };
  }

  async leaf(name: string, leaf: Leaf, ca: { cert: string; key: string }, days: number): Promise<KeyPair> {
    const key = await this.key(name);
    const cnf = this.config(name, leaf.cn, [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      `extendedKeyUsage = ${leaf.usage}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      ...(leaf.sans.length > 0 ? [`subjectAltName = ${leaf.sans.join(', ')}`] : []),
    ]);
    const csr = join(this.tmp, `${name}.csr`);
    const cert = join(this.tmp, `${name}.crt`);
    await this.openssl(['req', '-new', '-config', cnf, '-key', key, '-out', csr]);
    await this.openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      // A random 128-bit serial: RFC 5280 wants them unique per CA, and runs do not count.
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      String(days),
      '-sha256',
      '-extfile',
      cnf,
      '-extensions',
      'ext',
      '-out',
      cert,
    ]);
    return { cert, key };
  }
}

/** Copies a made key pair into place: key first (0600), then the certificate (0644). */
function install(from: KeyPair, to: KeyPair, written: string[]): void {
  writeFileAtomicSync(to.key, readFileSync(from.key), { mode: 0o600 });
  writeFileAtomicSync(to.cert, readFileSync(from.cert), { mode: 0o644 });
  written.push(to.key, to.cert);
}

/** Makes `req.dir` hold a CA, etcd's server certificate and the clients' (see the top comment). */
export async function ensurePki(req: PkiRequest): Promise<PkiResult> {
  checkPkiRequest(req);
  const clients = req.clients ?? DEFAULT_CLIENTS;
  const files = pkiFiles(req.dir, clients);
  const days = req.days ?? 365;
  mkdirSync(req.dir, { recursive: true, mode: 0o755 });
  const written: string[] = [];
  // Made inside the target directory (0700, same file system), removed whatever happens.
  const tmp = mkdtempSync(join(req.dir, '.pki-'));
  try {
    const issuer = new Issuer(tmp, req.runner);
    let caCert = readCert(files.ca);
    if (!caCert) {
      if (existsSync(files.ca))
        throw new PkiError(`${files.ca} is not a PEM certificate; move it away or restore it`);
      const made = await issuer.ca(req.caDays ?? 3650);
      install(made, { cert: files.ca, key: files.caKey }, written);
      caCert = readCert(files.ca)!;
    } else if (!keyMatches(caCert, files.caKey)) {
      throw new PkiError(
        `${files.caKey} is missing or does not match ${files.ca}: restore it, or move both away to make a new CA (every client then needs the new ca.crt)`,
      );
    } else if (daysLeft(caCert) <= 0) {
      throw new PkiError(`the CA ${files.ca} has expired: rotate it (docs/adr/0008-etcd-tls.md)`);
    }
    const ca = { cert: files.ca, key: files.caKey };
    const leaves: [string, Leaf][] = [
      [
        'server',
        {
          pair: files.server,
          cn: 'netloom-etcd',
          usage: 'serverAuth, clientAuth',
          sans: [...req.dnsNames.map((d) => `DNS:${d}`), ...req.ips.map((i) => `IP:${i}`)],
        },
      ],
      ...clients.map((c): [string, Leaf] => [
        c,
        { pair: files.clients[c]!, cn: `netloom-${c}`, usage: 'clientAuth', sans: [] },
      ]),
    ];
    for (const [name, leaf] of leaves) {
      if (!req.renew && leafProblem(leaf, caCert, days) === undefined) continue;
      install(await issuer.leaf(name, leaf, ca, days), leaf.pair, written);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { files, written };
}
