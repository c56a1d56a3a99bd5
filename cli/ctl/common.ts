// What every read-only `netloom ctl` command shares: its flags (the etcd ones mapped by
// lib/etcd/client.ts, `-o table|json|yaml`), reading etcd with a bounded wait so an unreachable
// store is one line and exit 1 within seconds, and printing records as a table or as data.
import { z } from 'zod';
import { stringify as toYaml } from 'yaml';
import { bool, list, loadConfig, num } from '../../lib/config.ts';
import { etcdClientOf, type EtcdConfig } from '../../lib/etcd/client.ts';
import { Store } from '../../lib/etcd/store.ts';
import { ConfigError, StoreError, errorMessage } from '../../lib/errors.ts';
import { Keyspace } from '../../lib/keyspace.ts';
import { formatTable, type Table } from './table.ts';

const int = (min: number, max: number) => num().pipe(z.number().int().min(min).max(max));

/** How long to wait for etcd (and an agent) before saying it cannot be reached. */
export const timeoutMs = (): z.ZodType<number> => int(100, 600_000).default(5_000);

export const ctlConfigSchema = z.object({
  etcdEndpoints: list(z.string().url()).default(['http://127.0.0.1:2379']),
  etcdCa: z.string().optional(),
  etcdCert: z.string().optional(),
  etcdKey: z.string().optional(),
  cluster: z.string().default('default'),
  /** table (people), json or yaml (scripts: the full records). */
  output: z.enum(['table', 'json', 'yaml']).default('table'),
  timeoutMs: timeoutMs(),
  /**
   * Where a node's agent serves its API (`dump`, `nodes --probe`): host:port or unix:/path, with
   * {node} and {ip} (the node's management IP from nodes/info) filled in. The DaemonSet's
   * default is {ip}:9102; the lab's agents listen on unix:<state dir>/nodes/{node}/agent-api.sock.
   */
  agentAddr: z.string().min(1).default('{ip}:9102'),
  /** The cluster pod CIDR the agents run with (services: what is masqueraded). */
  podCidr: z.string().default('10.1.0.0/16'),
  /** nodes: also ask every agent's /readyz. */
  probe: bool().default(false),
  /** dump: how many of the agent's last transactions. */
  limit: int(1, 10_000).default(20),
});

export type CtlConfig = z.infer<typeof ctlConfigSchema>;

/** Flags that take no value: `--probe node1` must not read node1 as the flag's value. */
const BARE = new Set(['--probe']);

/**
 * The usual short forms, rewritten to what lib/config.ts reads: `-o json`, `-ojson`, `-o=json`
 * → `--output json`; a bare boolean flag → `--flag=true`.
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '-o') {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError('-o', 'needs a value: table, json or yaml');
      out.push('--output', next);
      i++;
    } else if (a.startsWith('-o') && !a.startsWith('--')) {
      out.push('--output', a.slice(a[2] === '=' ? 3 : 2));
    } else if (BARE.has(a)) {
      out.push(`${a}=true`);
    } else if (a.startsWith('-') && !a.startsWith('--') && a !== '-') {
      throw new ConfigError(a, 'unknown flag (long flags are --name value; -o is the one short flag)');
    } else {
      out.push(a);
    }
  }
  return out;
}

export interface CtlArgs {
  config: CtlConfig;
  positionals: string[];
}

/** Parses a command's flags; `maxPositionals` arguments at most, `usage` names them. */
export function parseArgs(argv: readonly string[], maxPositionals: number, usage: string): CtlArgs {
  const { config, positionals } = loadConfig(ctlConfigSchema, { argv: normalizeArgv(argv) });
  if (positionals.length > maxPositionals)
    throw new ConfigError('', `unexpected argument ${JSON.stringify(positionals[maxPositionals])}: ${usage}`);
  return { config, positionals };
}

/** Keyspace of the configured cluster; a bad name is the operator's to fix (exit 2). */
export function keyspaceOf(config: { cluster: string }): Keyspace {
  try {
    return new Keyspace(config.cluster);
  } catch (err) {
    throw new ConfigError('cluster', errorMessage(err), { cause: err });
  }
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  ENOENT: 'no such socket',
};

/** TLS handshake failures, as OpenSSL and Node word them, and what the operator should fix. */
const TLS_ERRORS: readonly [RegExp, string][] = [
  [/certificate required|alert number 116/i, 'etcd wants a client certificate (--etcd-cert, --etcd-key)'],
  [
    /unable to verify the first certificate|self[- ]signed certificate|unable to get local issuer/i,
    "etcd's certificate is not signed by a CA given (--etcd-ca)",
  ],
  [
    /bad certificate|unknown ca|alert number 4[28]/i,
    'etcd refused the client certificate (--etcd-cert, --etcd-key)',
  ],
  [/wrong version number|packet length too long/i, 'TLS spoken to a plaintext endpoint (use http://)'],
];

/** One short line from a gRPC or socket error: "connection refused (127.0.0.1:1)", not a dump. */
export function reasonOf(err: unknown): string {
  const text = errorMessage(err).split('\n')[0] ?? '';
  const tls = TLS_ERRORS.find(([pattern]) => pattern.test(text));
  if (tls) return tls[1];
  const socket = /\b(E[A-Z]+) (\S+?)\.?(\s|$)/.exec(text);
  if (socket?.[1] && SOCKET_ERRORS[socket[1]]) return `${SOCKET_ERRORS[socket[1]]} (${socket[2]})`;
  return text
    .replace(/^(list|get|read revision)[^:]*: /, '')
    .replace(/^\d+ [A-Z_]+: /, '')
    .replace(/\s*Resolution note:.*$/, '');
}

/**
 * Runs `read` against the configured etcd and closes the client. Anything the store does not
 * answer within `timeoutMs` (refused, no route, TLS rejected, a black hole) becomes one
 * StoreError naming the endpoints and the flags that choose them.
 */
export async function withStore<T>(
  config: EtcdConfig & { timeoutMs: number },
  read: (store: Store) => Promise<T>,
): Promise<T> {
  const store = new Store(etcdClientOf(config));
  const where = config.etcdEndpoints.join(',');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StoreError(`no answer within ${config.timeoutMs} ms`)),
      config.timeoutMs,
    );
  });
  try {
    return await Promise.race([read(store), timeout]);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const reason = reasonOf(err);
    // A reason that names the flag to fix needs no general advice after it.
    const check = reason.includes('--etcd')
      ? ''
      : ' (check --etcd-endpoints and --etcd-ca/--etcd-cert/--etcd-key)';
    throw new StoreError(`cannot read etcd at ${where}: ${reason}${check}`, { cause: err });
  } finally {
    clearTimeout(timer);
    store.close();
  }
}

/** Prints the records as JSON or YAML (everything), or the table made from them (people). */
export function emit<T>(config: CtlConfig, records: T, table: (records: T) => Table | string): void {
  if (config.output === 'json') process.stdout.write(JSON.stringify(records, null, 2) + '\n');
  else if (config.output === 'yaml') process.stdout.write(toYaml(records));
  else {
    const t = table(records);
    process.stdout.write(typeof t === 'string' ? t : formatTable(t));
  }
}
