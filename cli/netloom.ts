// `netloom <command>`: one entry point for every process. Each command module exports
// `main(argv): Promise<number>` (the exit code) and is imported lazily, so `netloom stn` does
// not load the Kubernetes client and `netloom version` starts in milliseconds.
import { ConfigError, errorMessage } from '../lib/errors.ts';

type Main = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { about: string; load: () => Promise<{ main: Main }> }> = {
  version: { about: 'print the version', load: () => import('./version.ts') },
  'install-cni': {
    about: 'put the CNI plugin and conflist on the node (init container)',
    load: () => import('./install-cni.ts'),
  },
  stn: { about: 'STN daemon: lend the NIC to the data plane', load: () => import('../stn/main.ts') },
  ksr: { about: 'reflect Kubernetes into etcd', load: () => import('../ksr/main.ts') },
  lab: {
    about: 'the whole system on one machine: lab up|status|check|restart|down',
    load: () => import('./lab/main.ts'),
  },
  agent: { about: 'per-node agent', load: () => import('../agent/main.ts') },
  ctl: {
    about: 'netloomctl, read-only: nodes, pods, ipam, services, policies, networks, dump, raw, explain',
    load: () => import('./ctl/main.ts'),
  },
  certs: {
    about: "certificates for netloom's etcd: a CA, etcd's server cert, client certs",
    load: () => import('./certs.ts'),
  },
  'certs-secrets': {
    about: "the same, kept in Kubernetes Secrets (deploy/'s bootstrap Job)",
    load: () => import('./certs-secrets.ts'),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.about}`);
  return `usage: netloom <command> [--config FILE] [--flag value …]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    process.stderr.write(
      name === undefined || name === 'help' || name === '--help'
        ? usage()
        : `netloom: unknown command ${name}\n${usage()}`,
    );
    return name === undefined || name === 'help' || name === '--help' ? 0 : 2;
  }
  try {
    const mod = await command.load();
    return await mod.main(rest);
  } catch (err) {
    // Configuration errors are the operator's to fix: one line naming the field, exit 2.
    if (err instanceof ConfigError) {
      process.stderr.write(`netloom ${name}: configuration error: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`netloom ${name}: ${errorMessage(err)}\n`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await run(process.argv.slice(2));
}
