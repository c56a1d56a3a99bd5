// Builds the etcd3 client the way netloom needs it: no circuit breaker (it keeps failing calls
// for seconds after etcd comes back; netloom retries itself), grpc keepalives so half-open
// connections are noticed (etcd3 #153), optional TLS.
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { noop } from 'cockatiel';
import { ConfigError, errorMessage } from '../errors.ts';

export interface EtcdClientOptions {
  endpoints: string[];
  /** PEM files; all optional. A CA alone gives server-authenticated TLS. */
  tls?: { ca?: string; cert?: string; key?: string };
  dialTimeoutMs?: number;
  /** Deadline of unary calls; streams have none. */
  callTimeoutMs?: number;
}

function readPem(field: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(field, `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

/** The etcd settings every process's configuration carries (`--etcd-endpoints`, `--etcd-ca`…). */
export interface EtcdConfig {
  etcdEndpoints: string[];
  etcdCa?: string | undefined;
  etcdCert?: string | undefined;
  etcdKey?: string | undefined;
}

/** A client from a process's configuration: the one place that maps the etcd flags. */
export function etcdClientOf(config: EtcdConfig): Etcd3 {
  return createEtcdClient({
    endpoints: config.etcdEndpoints,
    tls: {
      ...(config.etcdCa ? { ca: config.etcdCa } : {}),
      ...(config.etcdCert ? { cert: config.etcdCert } : {}),
      ...(config.etcdKey ? { key: config.etcdKey } : {}),
    },
  });
}

export function createEtcdClient(opts: EtcdClientOptions): Etcd3 {
  const callTimeout = opts.callTimeoutMs ?? 10_000;
  const options: IOptions = {
    hosts: opts.endpoints,
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
  if (opts.tls?.ca || opts.tls?.cert) {
    options.credentials = {
      rootCertificate: opts.tls.ca ? readPem('etcdCa', opts.tls.ca) : Buffer.alloc(0),
      ...(opts.tls.cert ? { certChain: readPem('etcdCert', opts.tls.cert) } : {}),
      ...(opts.tls.key ? { privateKey: readPem('etcdKey', opts.tls.key) } : {}),
    };
  }
  return new Etcd3(options);
}
