// `netloom ctl explain --from x/a --to y/b --port 80 [--protocol TCP] [--via-service]`: may this
// connection go, and which policy, rule or isolation annotation decided it. Reads netloom's etcd
// (the same keys an agent renders from) and runs the agent's own policy engine on it, so the
// answer is what every node enforces; `--json` prints the whole verdict.
import { z } from 'zod';
import { bool, list, loadConfig } from '../../lib/config.ts';
import { etcdClientOf } from '../../lib/etcd/client.ts';
import { Store } from '../../lib/etcd/store.ts';
import { ConfigError } from '../../lib/errors.ts';
import { Keyspace } from '../../lib/keyspace.ts';
import { FlowError, parseFlow } from '../../agent/http/flow.ts';
import { explain, type DirectionVerdict, type Explanation } from '../../agent/renderers/policy.ts';
import { ClusterView } from '../../agent/view/view.ts';

export const explainConfigSchema = z.object({
  etcdEndpoints: list(z.string().url()).default(['http://127.0.0.1:2379']),
  etcdCa: z.string().optional(),
  etcdCert: z.string().optional(),
  etcdKey: z.string().optional(),
  cluster: z.string().default('default'),
  from: z.string().optional(),
  to: z.string().optional(),
  port: z.string().optional(),
  protocol: z.string().optional(),
  viaService: bool().default(false),
  json: bool().default(false),
});

/** The cluster as an agent sees it: every key of the agent's view range, read at one revision. */
export async function readView(store: Store, keyspace: Keyspace): Promise<ClusterView> {
  const view = new ClusterView();
  const { kvs, revision } = await store.list(keyspace.agentView);
  for (const kv of kvs) {
    const ref = keyspace.tryParse(kv.key);
    if (!ref) continue;
    try {
      view.apply(ref, kv.value);
    } catch {
      // An unreadable value: the agents skip it too.
    }
  }
  view.revision = revision;
  return view;
}

function direction(name: string, d: DirectionVerdict): string {
  const by = d.allowedBy ? ` — allowed by ${d.allowedBy.policy} ${d.allowedBy.rule}` : '';
  const sel = d.selectedBy.length > 0 ? ` (isolated by ${d.selectedBy.join(', ')})` : '';
  return `  ${name.padEnd(8)}${d.allowed ? 'allow' : 'DENY '} ${d.pod || '-'}${sel}${by}\n           ${d.reason}${d.notes.map((n) => `\n           note: ${n}`).join('')}`;
}

export function describe(e: Explanation): string {
  return `${e.allowed ? 'ALLOWED' : 'DENIED'}: ${e.reason}\n${direction('egress', e.egress)}\n${direction('ingress', e.ingress)}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const { config } = loadConfig(explainConfigSchema, { argv });
  let flow;
  try {
    flow = parseFlow((n) =>
      n === 'viaService'
        ? String(config.viaService)
        : ((config as Record<string, unknown>)[n] as string | undefined),
    );
  } catch (err) {
    if (err instanceof FlowError) throw new ConfigError('flow', err.message);
    throw err;
  }
  const store = new Store(etcdClientOf(config));
  try {
    const view = await readView(store, new Keyspace(config.cluster));
    const e = explain(
      {
        namespaces: view.namespaces.items,
        pods: view.pods.items,
        policies: view.policies.items,
        nodes: view.nodes.items,
      },
      flow,
    );
    process.stdout.write(config.json ? JSON.stringify(e, null, 2) + '\n' : describe(e));
    return e.allowed ? 0 : 1;
  } finally {
    store.close();
  }
}
