// `netloom ctl raw [prefix]`: the keys themselves, for what no other command shows — everything
// under the cluster's root, or under `prefix` (relative to it, like `ipam/node1/`, or the full
// `/netloom/v1/<cluster>/…`). Values that are JSON are printed as data with -o json|yaml.
import { ConfigError } from '../../lib/errors.ts';
import type { KeyValue } from '../../lib/etcd/store.ts';
import { emit, keyspaceOf, parseArgs, withStore } from './common.ts';
import { clip, type Table } from './table.ts';

export interface RawRecord extends Omit<KeyValue, 'value'> {
  /** The value parsed when it is JSON (every netloom value is), else the text. */
  value: unknown;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function rawRecords(kvs: readonly KeyValue[]): RawRecord[] {
  return kvs.map((kv) => ({ ...kv, value: parsed(kv.value) }));
}

export function rawTable(records: readonly RawRecord[]): Table {
  return {
    columns: ['key', 'revision', 'value'],
    rows: records.map((r) => [
      r.key,
      String(r.modRevision),
      clip(typeof r.value === 'string' ? r.value : JSON.stringify(r.value), 80),
    ]),
    empty: 'no keys',
  };
}

/** The etcd prefix a `raw` argument names, inside the cluster's root. */
export function rawPrefix(root: string, arg: string | undefined): string {
  if (arg === undefined || arg === '') return root;
  if (arg.startsWith('/')) {
    if (!arg.startsWith(root) && `${arg}/` !== root)
      throw new ConfigError('prefix', `${arg} is outside this cluster's keys (${root}); see --cluster`);
    return arg;
  }
  return root + arg;
}

export async function main(argv: string[]): Promise<number> {
  const { config, positionals } = parseArgs(argv, 1, 'netloom ctl raw [prefix]');
  const ks = keyspaceOf(config);
  const prefix = rawPrefix(ks.root, positionals[0]);
  const { kvs } = await withStore(config, (store) => store.list(prefix));
  emit(config, rawRecords(kvs), rawTable);
  return 0;
}
