// `netloom ctl <command>`: the operator's read-only view of netloom (netloomctl, also the kubectl
// plugin `kubectl netloom`). Commands are loaded lazily, like netloom's own. Every command reads
// etcd (--etcd-endpoints, --etcd-ca/cert/key, --cluster) and prints a table, or the full
// records with -o json|yaml; `dump` also asks the node's agent.
type Main = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { about: string; load: () => Promise<{ main: Main }> }> = {
  nodes: {
    about: 'nodes: ID, pod subnet, agent and health ([node], --probe asks each agent)',
    load: () => import('./nodes.ts'),
  },
  pods: { about: 'pods [node]: IP, interface, node', load: () => import('./pods.ts') },
  ipam: {
    about: 'ipam [node]: allocated pod addresses, and the leaked ones',
    load: () => import('./ipam.ts'),
  },
  services: {
    about: 'services [node]: each frontend and its backends, as the agents program them',
    load: () => import('./services.ts'),
  },
  policies: {
    about: 'policies [node]: NetworkPolicies and isolation as the policy engine reads them',
    load: () => import('./policies.ts'),
  },
  networks: {
    about: 'custom networks and NetworkAttachmentDefinitions',
    load: () => import('./networks.ts'),
  },
  dump: {
    about: "dump <node>: the agent's applied items and last transactions (--agent-addr)",
    load: () => import('./dump.ts'),
  },
  raw: { about: 'raw [prefix]: the keys and values under the cluster root', load: () => import('./raw.ts') },
  explain: {
    about: 'may a connection go (--from ns/pod|ip --to ns/pod|ip --port N [--protocol TCP]), and why',
    load: () => import('./explain.ts'),
  },
};

const FLAGS = `flags (or NETLOOM_<FLAG> in the environment, or --config FILE):
  --etcd-endpoints URL[,URL]   netloom's etcd (default http://127.0.0.1:2379)
  --etcd-ca/--etcd-cert/--etcd-key FILE   TLS and client-certificate authentication
  --cluster NAME               the keyspace /netloom/v1/<NAME>/ (default "default")
  -o table|json|yaml           a table for people (default), the full records for scripts
  --timeout-ms N               give up on etcd or an agent after N ms (default 5000)
  --agent-addr ADDR            dump, nodes --probe: host:port or unix:/path, {node} and {ip}
                               filled in (default {ip}:9102)
  --pod-cidr CIDR              services: the agents' pod CIDR (default 10.1.0.0/16)`;

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(9)} ${c.about}`);
  return `usage: netloom ctl <command> [args] [flags]   (kubectl netloom <command> …)\n\ncommands:\n${lines.join('\n')}\n\n${FLAGS}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const help = name === undefined || name === 'help' || name === '--help' || name === '-h';
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    if (help) process.stdout.write(usage());
    else process.stderr.write(`netloom ctl: unknown command ${name}\n${usage()}`);
    return help ? 0 : 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`netloom ctl ${name}: ${command.about}\n\n${FLAGS}\n`);
    return 0;
  }
  return (await command.load()).main(rest);
}
