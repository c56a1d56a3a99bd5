// `netloom ctl explain --from x/a --to y/b --port 80 [--protocol TCP] [--via-service]`: may this
// connection go, and which policy, rule or isolation annotation decided it. Reads netloom's etcd
// (the same keys an agent renders from) and runs the agent's own policy engine on it, so the
// answer is what every node enforces; `--json` prints the whole verdict.
import { z } from 'zod';
import { bool, list, loadConfig } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';
import { FlowError, parseFlow } from '../../agent/http/flow.ts';
import { explain, type DirectionVerdict, type Explanation } from '../../agent/renderers/policy.ts';
import { keyspaceOf, timeoutMs, withStore } from './common.ts';
import { readView } from './snapshot.ts';

// test/lab/policy-lab.ts reads the view through here.
export { readView };

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
  timeoutMs: timeoutMs(),
});

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
  const keyspace = keyspaceOf(config);
  const view = await withStore(config, (store) => readView(store, keyspace));
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
}
