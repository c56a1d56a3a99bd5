// Builds the etcd3 client the way netloom needs it: no circuit breaker (it keeps failing calls
// for seconds after etcd comes back; netloom retries itself), grpc keepalives so half-open
// connections are noticed (etcd3 #153), and TLS decided in one place from the endpoints' scheme
// and the CA/cert/key files (ADR 0008).
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Etcd3, type IOptions } from 'etcd3';
import { noop } from 'cockatiel';
import { ConfigError, errorMessage } from '../errors.ts';

/** PEM files of a TLS client: the CA that signs etcd's certificate, this client's cert and key. */
export interface EtcdTlsFiles {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

export interface EtcdClientOptions {
  /** `https://host:port`, `unixs:///path` (TLS) or `http://host:port`, `unix:///path` (plaintext). */
  endpoints: string[];
  /** PEM files; all optional. A CA alone gives server-authenticated TLS without a client identity. */
  tls?: EtcdTlsFiles;
  dialTimeoutMs?: number;
  /** Deadline of unary calls; streams have none. */
  callTimeoutMs?: number;
}

/** The etcd settings every process's configuration carries (`--etcd-endpoints`, `--etcd-ca`…). */
export interface EtcdConfig {
  etcdEndpoints: string[];
  etcdCa?: string | undefined;
  etcdCert?: string | undefined;
  etcdKey?: string | undefined;
}

/** What the settings resolve to: whether to speak TLS, and the files to read when we do. */
export interface EtcdTransport {
  tls: boolean;
  files: EtcdTlsFiles;
}

const TLS_SCHEMES = new Set(['https:', 'unixs:']);
const PLAIN_SCHEMES = new Set(['http:', 'unix:']);

function schemeOf(endpoint: string): string {
  try {
    return new URL(endpoint).protocol;
  } catch {
    throw new ConfigError('etcdEndpoints', `${endpoint} is not a URL`);
  }
}

/**
 * The one check of the etcd settings' combinations, for every process (ADR 0008):
 * - a key without a cert, or a cert without a key, is an error naming the missing one;
 * - the endpoints' scheme says whether TLS is spoken (https/unixs: yes, http/unix: no) and must
 *   be the same for all of them (etcd3 has one set of credentials per client);
 * - CA/cert/key files with plaintext endpoints are an error: the files would be ignored, and a
 *   configuration that looks secured but is not is worse than one that fails;
 * - TLS endpoints without a CA trust Node's root certificates (plus NODE_EXTRA_CA_CERTS), as
 *   etcdctl does with the system's: right for an etcd whose certificate a public or company CA
 *   signed, a clear handshake error for one signed by a private CA that was not named.
 */
export function etcdTransportOf(config: EtcdConfig): EtcdTransport {
  const { etcdEndpoints: endpoints, etcdCa: ca, etcdCert: cert, etcdKey: key } = config;
  if (key && !cert) {
    throw new ConfigError(
      'etcdCert',
      'missing: --etcd-key is set without --etcd-cert (give both, or neither)',
    );
  }
  if (cert && !key) {
    throw new ConfigError(
      'etcdKey',
      'missing: --etcd-cert is set without --etcd-key (give both, or neither)',
    );
  }
  if (endpoints.length === 0) throw new ConfigError('etcdEndpoints', 'no endpoint given');
  const schemes = endpoints.map(schemeOf);
  const unknown = endpoints.find((_, i) => !TLS_SCHEMES.has(schemes[i]!) && !PLAIN_SCHEMES.has(schemes[i]!));
  if (unknown !== undefined) {
    throw new ConfigError('etcdEndpoints', `${unknown}: the scheme must be https, unixs, http or unix`);
  }
  const secure = schemes.filter((s) => TLS_SCHEMES.has(s)).length;
  if (secure > 0 && secure < endpoints.length) {
    throw new ConfigError('etcdEndpoints', `mixes TLS (https, unixs) and plaintext (http, unix) endpoints`);
  }
  if (secure === 0 && (ca || cert)) {
    const flag = ca ? '--etcd-ca' : '--etcd-cert';
    throw new ConfigError(
      'etcdEndpoints',
      `${endpoints[0]} is plaintext but ${flag} is set: use https:// (or unixs://) endpoints`,
    );
  }
  const files: EtcdTlsFiles = { ...(ca ? { ca } : {}), ...(cert ? { cert, key } : {}) };
  return { tls: secure > 0, files };
}

/** A client from a process's configuration: the one place that maps the etcd flags. */
export function etcdClientOf(config: EtcdConfig): Etcd3 {
  const transport = etcdTransportOf(config);
  return createEtcdClient({ endpoints: config.etcdEndpoints, tls: transport.files });
}

function readPem(field: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(field, `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

/** etcd3 strips only http(s)://; gRPC itself knows `unix:`, which carries TLS when credentials do. */
function grpcTarget(endpoint: string): string {
  return endpoint.startsWith('unixs://') ? `unix://${endpoint.slice('unixs://'.length)}` : endpoint;
}

let ipServerNameQuiet = false;

/**
 * gRPC sets the TLS server name (SNI) to the endpoint's host even when that is an IP address
 * (grpc-node #1919), and Node prints DEP0123 for it on stderr, once per process. Nothing is
 * wrong: the certificate is still checked against the address (its IP SANs), and etcd ignores
 * SNI. netloom's etcd is reached by host address (no DNS before the cluster runs), so every
 * process would print it and `netloom ctl` output would carry it: this one warning, and no
 * other, is dropped.
 */
function quietIpServerNameWarning(): void {
  if (ipServerNameQuiet) return;
  ipServerNameQuiet = true;
  const emit = process.emitWarning.bind(process) as (warning: string | Error, ...rest: unknown[]) => void;
  const filtered = (warning: string | Error, ...rest: unknown[]): void => {
    // emitWarning(warning, type, code) or emitWarning(warning, { type, code }).
    const [typeOrOptions, code] = rest;
    const c =
      typeof typeOrOptions === 'object' && typeOrOptions !== null
        ? (typeOrOptions as { code?: unknown }).code
        : code;
    if (c !== 'DEP0123') emit(warning, ...rest);
  };
  process.emitWarning = filtered;
}

export function createEtcdClient(opts: EtcdClientOptions): Etcd3 {
  const transport = etcdTransportOf({
    etcdEndpoints: opts.endpoints,
    etcdCa: opts.tls?.ca,
    etcdCert: opts.tls?.cert,
    etcdKey: opts.tls?.key,
  });
  const callTimeout = opts.callTimeoutMs ?? 10_000;
  const options: IOptions = {
    hosts: opts.endpoints.map(grpcTarget),
    dialTimeout: opts.dialTimeoutMs ?? 3_000,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeout }),
    faultHandling: { host: () => noop, global: noop },
    grpcOptions: {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    },
  };
  if (transport.tls) {
    if (opts.endpoints.some((e) => isIP(new URL(e).hostname.replace(/^\[|\]$/g, '')) !== 0))
      quietIpServerNameWarning();
    const { ca, cert, key } = transport.files;
    // Read now, so a missing or unreadable file is a configuration error at start, naming it.
    // Without a CA, gRPC's createSsl is handed null and trusts Node's roots; etcd3's type says
    // Buffer only, but passes the value straight through (an empty Buffer would trust nothing).
    options.credentials = {
      rootCertificate: ca ? readPem('etcdCa', ca) : (null as unknown as Buffer),
      ...(cert && key ? { certChain: readPem('etcdCert', cert), privateKey: readPem('etcdKey', key) } : {}),
    };
  }
  return new Etcd3(options);
}
